// Command precompress writes brotli (.br) and gzip (.gz) copies of files
// next to them, so that the server can send the console's app.wasm
// compressed without compressing it on every request:
//
//	go run ./cmd/precompress web/app.wasm
//
// It prints each file's raw and compressed sizes: what goes over the wire.
//
// A file whose copies were made from the same content is not compressed
// again (brotli takes most of a build's time): precompress records the
// SHA-256 of what it compressed in name.sha256, and when the file still has
// that hash and both copies are there it only marks the copies as newer
// than the file, which a rebuild rewrote with the same bytes. -force
// compresses anyway.
//
// The default brotli quality is 10. Measured on the console's 8.5 MB
// app.wasm on two shared cores: quality 9 gives 1.85 MB in 2 s, 10 gives
// 1.68 MB in 14 s, 11 gives 1.63 MB in 23 s; gzip at best compression
// gives 2.24 MB in under a second.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
)

func main() {
	quality := flag.Int("quality", 10, "brotli quality, 0-11 (11 is smallest and much slower)")
	force := flag.Bool("force", false, "compress even when the copies were made from the same content")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: precompress [-quality N] [-force] FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 || *quality < 0 || *quality > 11 {
		flag.Usage()
		os.Exit(2)
	}
	for _, name := range flag.Args() {
		if !*force {
			fresh, err := upToDate(name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "precompress:", err)
				os.Exit(1)
			}
			if fresh {
				fmt.Printf("%-24s unchanged: its compressed copies are kept\n", filepath.Base(name))
				continue
			}
		}
		if err := precompress(name, *quality); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}

// copies are the extensions of the compressed copies precompress writes.
var copies = []string{".br", ".gz"}

// upToDate reports whether name's copies were made from its present
// content; if so, it marks them as modified now, so that they are not older
// than name (a server ignores copies older than their source).
func upToDate(name string) (bool, error) {
	recorded, err := os.ReadFile(name + ".sha256")
	if err != nil {
		return false, nil // never compressed, or by an older precompress
	}
	sum, err := hashFile(name)
	if err != nil {
		return false, err
	}
	if strings.TrimSpace(string(recorded)) != sum {
		return false, nil
	}
	now := time.Now()
	for _, ext := range copies {
		if _, err := os.Stat(name + ext); err != nil {
			return false, nil
		}
	}
	for _, ext := range append(copies, ".sha256") {
		if err := os.Chtimes(name+ext, now, now); err != nil {
			return false, fmt.Errorf("mark %s%s as fresh: %w", name, ext, err)
		}
	}
	return true, nil
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// precompress writes name.br and name.gz, records the hash of what it
// compressed in name.sha256, and reports the sizes.
func precompress(name string, quality int) (err error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	sum := sha256.Sum256(raw)
	// The old record goes first: copies of new content must never be
	// trusted as copies of the old.
	if err := os.Remove(name + ".sha256"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("precompress: %w", err)
	}
	defer func() {
		// Written last: an interrupted run leaves no hash, so the next one
		// compresses again.
		if err == nil {
			err = writeAtomic(name+".sha256", []byte(hex.EncodeToString(sum[:])+"\n"))
		}
	}()
	fmt.Printf("%-24s %10d bytes\n", filepath.Base(name), len(raw))
	encoders := []struct {
		ext string
		new func(io.Writer) (io.WriteCloser, error)
	}{
		{".br", func(w io.Writer) (io.WriteCloser, error) {
			return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: quality, LGWin: 24}), nil
		}},
		{".gz", func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriterLevel(w, gzip.BestCompression) }},
	}
	for _, enc := range encoders {
		start := time.Now()
		var buf bytes.Buffer
		w, err := enc.new(&buf)
		if err != nil {
			return fmt.Errorf("%s%s: %w", name, enc.ext, err)
		}
		if _, err := w.Write(raw); err != nil {
			return fmt.Errorf("compress %s%s: %w", name, enc.ext, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("compress %s%s: %w", name, enc.ext, err)
		}
		if err := writeAtomic(name+enc.ext, buf.Bytes()); err != nil {
			return err
		}
		fmt.Printf("%-24s %10d bytes  %5.1f%%  %v\n", filepath.Base(name)+enc.ext, buf.Len(),
			100*float64(buf.Len())/float64(max(len(raw), 1)), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// writeAtomic replaces name with data, so that a server reading the web
// directory never sees half a file.
func writeAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
