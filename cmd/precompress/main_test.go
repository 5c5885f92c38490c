package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

func TestPrecompressWritesDecodableCopies(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "app.wasm")
	raw := bytes.Repeat([]byte("\x00asm switchboard console "), 4096)
	if err := os.WriteFile(name, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := precompress(name, 5); err != nil {
		t.Fatal(err)
	}
	decoders := map[string]func(io.Reader) (io.Reader, error){
		".br": func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
		".gz": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	}
	for ext, dec := range decoders {
		data, err := os.ReadFile(name + ext)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) >= len(raw)/10 {
			t.Errorf("%s is %d bytes for %d repetitive bytes: not compressed", ext, len(data), len(raw))
		}
		r, err := dec(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s does not decode to the original (err %v)", ext, err)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestPrecompressMissingFile(t *testing.T) {
	if err := precompress(filepath.Join(t.TempDir(), "nope.wasm"), 5); err == nil {
		t.Error("a missing file was not an error")
	}
}

func TestUnchangedFileIsNotCompressedAgain(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "app.wasm")
	if err := os.WriteFile(name, bytes.Repeat([]byte("wasm "), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if fresh, err := upToDate(name); err != nil || fresh {
		t.Fatalf("a file never compressed is up to date: %v %v", fresh, err)
	}
	if err := precompress(name, 5); err != nil {
		t.Fatal(err)
	}
	// A rebuild writes the same bytes again, later than the copies.
	past, rebuilt := time.Now().Add(-time.Hour), time.Now().Add(-time.Second)
	for _, ext := range []string{".br", ".gz", ".sha256"} {
		if err := os.Chtimes(name+ext, past, past); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(name, rebuilt, rebuilt); err != nil {
		t.Fatal(err)
	}
	fresh, err := upToDate(name)
	if err != nil || !fresh {
		t.Fatalf("the same content is not up to date: %v %v", fresh, err)
	}
	src, _ := os.Stat(name)
	for _, ext := range []string{".br", ".gz"} {
		if info, err := os.Stat(name + ext); err != nil || info.ModTime().Before(src.ModTime()) {
			t.Errorf("%s is left older than the file it copies (%v): a server would ignore it", ext, err)
		}
	}
	// New content must be compressed again, and so must a lost copy.
	if err := os.WriteFile(name, []byte("other wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := upToDate(name); fresh {
		t.Error("changed content is taken as up to date")
	}
	if err := precompress(name, 5); err != nil {
		t.Fatal(err)
	}
	os.Remove(name + ".gz")
	if fresh, _ := upToDate(name); fresh {
		t.Error("a missing copy is taken as up to date")
	}
}
