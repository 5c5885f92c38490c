package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

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
