package browsertest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the module's root, seen from this package's directory.
const repoRoot = "../.."

// webDir is the web directory the test servers serve: a copy of web/ with
// an app.wasm built from the current source by TestMain, which sets it
// once before any test runs.
var webDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-web-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		os.Exit(1)
	}
	if err := buildWeb(dir); err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	webDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildWeb copies web/'s static files into dir and builds app.wasm there
// the way make build does. Compressed copies are left out: the server
// gzips app.wasm at start, and the benchmark adds brotli (see
// brotliWebDir), which takes too long for every test run.
func buildWeb(dir string) error {
	src := filepath.Join(repoRoot, "web")
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("read web/: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), "app.wasm") {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "app.wasm"), "./cmd/switchboard")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT=jsonv2") // as the Makefile builds it
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the console's app.wasm (GOOS=js GOARCH=wasm go build ./cmd/switchboard): %w\n%s", err, out)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return out.Close()
}

// brotliWebDir returns a copy of webDir with app.wasm's brotli and gzip
// copies written by cmd/precompress, as make build ships them, for
// measuring what a browser downloads.
func brotliWebDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	entries, err := os.ReadDir(webDir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if err := copyFile(filepath.Join(webDir, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			tb.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", "./cmd/precompress", filepath.Join(dir, "app.wasm"))
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("compress app.wasm (go run ./cmd/precompress): %v\n%s", err, out)
	}
	return dir
}
