package webui

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"switchboard/app/ui"
)

func init() { ui.Routes() }

// rawWasm stands in for app.wasm: compressible bytes with the wasm magic.
var rawWasm = append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("switchboard console "), 8192)...)

func brotliOf(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 5)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// webDir writes a web directory; copies lists which compressed copies of
// app.wasm to write (".br", ".gz").
func webDir(t *testing.T, copies ...string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"app.wasm":     rawWasm,
		"app.css":      []byte("body{color:#fff}"),
		"icon.svg":     []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"),
		"icon-192.png": []byte("png192"),
		"icon-512.png": []byte("png512"),
	}
	for _, c := range copies {
		switch c {
		case ".br":
			files["app.wasm.br"] = brotliOf(t, rawWasm)
		case ".gz":
			files["app.wasm.gz"] = gzipOf(t, rawWasm)
		}
	}
	// app.wasm first: a compressed copy older than it counts as stale.
	names := []string{"app.wasm"}
	for name := range files {
		if name != "app.wasm" {
			names = append(names, name)
		}
	}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func serve(t *testing.T, dir string) (*UI, *httptest.Server) {
	t.Helper()
	u, err := New(dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	return u, srv
}

// get fetches path with the given headers, without the client's own
// decompression, and returns the response and its body.
func get(t *testing.T, srv *httptest.Server, method, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func decode(t *testing.T, encoding string, body []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	switch encoding {
	case "br":
		r = brotli.NewReader(r)
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return out
}

func TestWasmIsServedCompressed(t *testing.T) {
	tests := []struct {
		name     string
		copies   []string
		accept   string
		encoding string
	}{
		{"brotli", []string{".br", ".gz"}, "gzip, deflate, br, zstd", "br"},
		{"gzip", []string{".br", ".gz"}, "gzip, deflate", "gzip"},
		{"brotli refused", []string{".br", ".gz"}, "br;q=0, gzip", "gzip"},
		{"anything", []string{".br", ".gz"}, "*", "br"},
		{"nothing", []string{".br", ".gz"}, "", ""},
		{"identity only", []string{".br", ".gz"}, "identity, *;q=0", ""},
		{"no brotli copy", []string{".gz"}, "br, gzip", "gzip"},
		{"no copies: gzip made at start", nil, "br, gzip", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := serve(t, webDir(t, tt.copies...))
			resp, body := get(t, srv, "GET", "/web/app.wasm", map[string]string{"Accept-Encoding": tt.accept})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.encoding)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q", got)
			}
			if got := resp.Header.Get(ui.WasmLengthHeader); got != "163848" {
				t.Errorf("%s = %q, want the raw size", ui.WasmLengthHeader, got)
			}
			if !bytes.Equal(decode(t, tt.encoding, body), rawWasm) {
				t.Errorf("the body does not decode to app.wasm")
			}
			if tt.encoding != "" && len(body) >= len(rawWasm)/4 {
				t.Errorf("%d bytes sent for %d raw: not compressed", len(body), len(rawWasm))
			}
			t.Logf("%s: %d bytes over the wire for %d raw", tt.name, len(body), len(rawWasm))
		})
	}
}

func TestWasmETagPerEncoding(t *testing.T) {
	_, srv := serve(t, webDir(t, ".br", ".gz"))
	br, _ := get(t, srv, "GET", "/web/app.wasm", map[string]string{"Accept-Encoding": "br"})
	gz, _ := get(t, srv, "GET", "/web/app.wasm", map[string]string{"Accept-Encoding": "gzip"})
	raw, _ := get(t, srv, "GET", "/app.wasm", nil)
	tags := map[string]bool{br.Header.Get("ETag"): true, gz.Header.Get("ETag"): true, raw.Header.Get("ETag"): true}
	if len(tags) != 3 || tags[""] {
		t.Fatalf("ETags %q %q %q, want three distinct", br.Header.Get("ETag"), gz.Header.Get("ETag"), raw.Header.Get("ETag"))
	}
	again, body := get(t, srv, "GET", "/web/app.wasm", map[string]string{"Accept-Encoding": "br", "If-None-Match": br.Header.Get("ETag")})
	if again.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("revalidation: %d with %d bytes, want 304 and nothing", again.StatusCode, len(body))
	}
	head, body := get(t, srv, "HEAD", "/web/app.wasm", map[string]string{"Accept-Encoding": "br"})
	if head.StatusCode != http.StatusOK || len(body) != 0 || head.Header.Get("Content-Encoding") != "br" {
		t.Errorf("HEAD: %d, %d bytes, encoding %q", head.StatusCode, len(body), head.Header.Get("Content-Encoding"))
	}
}

func TestStaleCopiesAreIgnored(t *testing.T) {
	dir := webDir(t, ".br", ".gz")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "app.wasm.br"), old, old); err != nil {
		t.Fatal(err)
	}
	_, srv := serve(t, dir)
	resp, body := get(t, srv, "GET", "/web/app.wasm", map[string]string{"Accept-Encoding": "br, gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(decode(t, "gzip", body), rawWasm) {
		t.Errorf("a brotli copy older than app.wasm was served (%q)", resp.Header.Get("Content-Encoding"))
	}
}

func TestVersionFollowsTheFiles(t *testing.T) {
	dir := webDir(t, ".br", ".gz")
	v1, err := Version(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v2, _ := Version(dir); v2 != v1 {
		t.Fatalf("version is not stable: %s then %s", v1, v2)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.css"), []byte("body{color:#000}"), 0o644); err != nil {
		t.Fatal(err)
	}
	v3, _ := Version(dir)
	if v3 == v1 {
		t.Errorf("changing app.css kept the version %s", v1)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), append(rawWasm, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	v4, _ := Version(dir)
	if v4 == v3 {
		t.Errorf("changing app.wasm kept the version %s", v3)
	}
	if err := os.Rename(filepath.Join(dir, "icon.svg"), filepath.Join(dir, "logo.svg")); err != nil {
		t.Fatal(err)
	}
	if v5, _ := Version(dir); v5 == v4 {
		t.Errorf("renaming a file kept the version %s", v4)
	}
}

func TestPageAndResourcesCarryTheVersion(t *testing.T) {
	dir := webDir(t, ".br", ".gz")
	u, srv := serve(t, dir)
	if u.Version() == "" {
		t.Fatal("empty version")
	}
	etag := `"` + u.Version() + `"`
	for _, tt := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `id="switchboard"`},
		{"/manifest.webmanifest", "application/manifest+json", `"/web/icon-512.png"`},
		{"/app-worker.js", "application/javascript", u.Version()},
		{"/web/app.css", "text/css", "color:#fff"},
		{"/web/icon.svg", "image/svg+xml", "<svg"},
	} {
		resp, body := get(t, srv, "GET", tt.path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", tt.path, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("ETag"); got != etag {
			t.Errorf("%s: ETag %q, want %q", tt.path, got, etag)
		}
		if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, tt.contentType) {
			t.Errorf("%s: Content-Type %q, want %s", tt.path, got, tt.contentType)
		}
		if !strings.Contains(string(body), tt.contains) {
			t.Errorf("%s lacks %q", tt.path, tt.contains)
		}
	}
	if resp, _ := get(t, srv, "GET", "/", map[string]string{"If-None-Match": etag}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("page revalidation: %d, want 304", resp.StatusCode)
	}
	// A new build is a new version.
	if err := os.WriteFile(filepath.Join(dir, "app.css"), []byte("body{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	u2, err := New(dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if u2.Version() == u.Version() {
		t.Errorf("a changed web directory kept version %s", u.Version())
	}
}

func TestNewRejectsBadDirectories(t *testing.T) {
	noWasm := t.TempDir()
	if _, err := New(noWasm, quiet()); !errors.Is(err, ErrNoWasm) {
		t.Errorf("New without app.wasm = %v, want ErrNoWasm", err)
	}
	if _, err := New(filepath.Join(noWasm, "missing"), quiet()); err == nil {
		t.Error("New on a missing directory succeeded")
	}
	file := filepath.Join(noWasm, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := New(file, quiet()); err == nil {
		t.Error("New on a file succeeded")
	}
}

func TestTextIsCompressedAndZoomAllowed(t *testing.T) {
	_, srv := serve(t, webDir(t, ".br", ".gz"))
	for _, path := range []string{"/", "/app.js", "/wasm_exec.js", "/app.css", "/web/app.css", "/manifest.webmanifest", "/app-worker.js"} {
		resp, body := get(t, srv, http.MethodGet, path, map[string]string{"Accept-Encoding": "gzip, br"})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
			continue
		}
		if path == "/web/app.css" { // smaller than worth compressing in this fixture
			continue
		}
		if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Content-Encoding %q, Vary %q: text sent uncompressed", path, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
			continue
		}
		plain := decode(t, "gzip", body)
		if path == "/" && (bytes.Contains(plain, []byte("user-scalable=0")) || bytes.Contains(plain, []byte("maximum-scale")) ||
			!bytes.Contains(plain, []byte(`name="viewport"`))) {
			t.Errorf("the page's viewport forbids zooming or is gone")
		}
	}
	// A client that takes no gzip gets the same text plainly, and a
	// revalidation of a gzipped answer still gets its 304.
	resp, body := get(t, srv, http.MethodGet, "/app.js", nil)
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Contains(body, []byte("goappInitServiceWorker")) {
		t.Errorf("plain /app.js: encoding %q", resp.Header.Get("Content-Encoding"))
	}
	resp, _ = get(t, srv, http.MethodGet, "/app.js", map[string]string{"Accept-Encoding": "gzip"})
	resp2, _ := get(t, srv, http.MethodGet, "/app.js", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": resp.Header.Get("ETag")})
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("revalidating %s: %d, want 304", resp.Header.Get("ETag"), resp2.StatusCode)
	}
}

func TestFaviconAndPages(t *testing.T) {
	_, srv := serve(t, webDir(t, ".gz"))
	resp, body := get(t, srv, http.MethodGet, "/favicon.ico", nil)
	if resp.StatusCode != http.StatusOK || string(body) != "png192" || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("/favicon.ico: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for path, page := range map[string]bool{"/": true, "/calls/x": true, "/app.js": false, "/web/app.css": false,
		"/app-worker.js": false, "/manifest.webmanifest": false, "/web/app.wasm": false, "/favicon.ico": false} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if IsPage(r) != page {
			t.Errorf("IsPage(%s) = %v, want %v", path, !page, page)
		}
	}
	if IsPage(httptest.NewRequest(http.MethodPost, "/", nil)) {
		t.Error("a POST is taken for a page")
	}
	_, worker := get(t, srv, http.MethodGet, "/app-worker.js", nil)
	if !bytes.Contains(worker, []byte(`request.mode === "navigate"`)) || !bytes.Contains(worker, []byte("clients.claim")) {
		t.Errorf("the service worker does not load pages from the network first:\n%s", worker)
	}
}

// The loader starts the Go program in a task of its own, after a yield,
// not in the task that finished compiling app.wasm.
func TestLoaderYieldsBeforeStartingTheProgram(t *testing.T) {
	_, srv := serve(t, webDir(t, ".br", ".gz"))
	resp, body := get(t, srv, http.MethodGet, "/app.js", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/app.js: %d", resp.StatusCode)
	}
	if n := bytes.Count(body, []byte("go.run(")); n != 1 {
		t.Fatalf("/app.js starts the program %d times, want once", n)
	}
	if !bytes.Contains(body, []byte(loaderYieldThenRun)) {
		t.Errorf("/app.js starts the program without yielding first:\n%s", body)
	}
}
