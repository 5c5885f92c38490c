// Package webui serves the console: go-app's handler for the page (which
// prerenders it), the PWA resources and the static files of web/, plus
// app.wasm sent pre-compressed.
//
// The Version that go-app uses as the ETag of every resource, and that
// makes installed consoles update, is a hash of every file in the web
// directory, app.wasm included: the same build gives the same version on
// every replica, and a new build a new one.
//
// app.wasm is served as app.wasm.br to clients that accept brotli, else as
// app.wasm.gz, else raw, with Content-Type application/wasm (which
// WebAssembly.instantiateStreaming requires), Vary: Accept-Encoding and an
// ETag per encoding. cmd/precompress writes the compressed copies; a copy
// older than app.wasm is ignored, and a missing gzip copy is made at start.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/ui"
)

// ErrNoWasm reports a web directory without app.wasm: the console was not
// built (make build).
var ErrNoWasm = errors.New("webui: app.wasm is missing from the web directory; build it first")

// UI serves the console.
type UI struct {
	version string
	app     *app.Handler
	wasm    wasmFiles
	icon    struct {
		data    []byte
		modTime time.Time
	}
}

// wasmFiles holds app.wasm in each encoding, in memory, so that what is
// served always matches the version computed at start.
type wasmFiles struct {
	modTime time.Time
	raw     []byte
	br, gz  []byte // nil when not available
	hash    string
}

// New prepares the console served from webDir (the directory served at
// /web/, holding app.wasm, its compressed copies, app.css and the icons).
func New(webDir string, logger *slog.Logger) (*UI, error) {
	if logger == nil {
		logger = slog.Default()
	}
	info, err := os.Stat(webDir)
	if err != nil {
		return nil, fmt.Errorf("webui: web directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("webui: web directory %s is not a directory", webDir)
	}
	version, err := Version(webDir)
	if err != nil {
		return nil, err
	}
	wasm, err := loadWasm(webDir, logger)
	if err != nil {
		return nil, err
	}
	// The server prerenders the same routes the WebAssembly main registers.
	ui.Routes()
	h := ui.Handler(version)
	h.Resources = staticDir{files: http.FileServer(http.Dir(webDir))}
	logger.Info("webui: console ready", "version", version, "wasm_bytes", len(wasm.raw),
		"wasm_br_bytes", len(wasm.br), "wasm_gz_bytes", len(wasm.gz))
	u := &UI{version: version, app: h, wasm: wasm}
	icon := filepath.Join(webDir, "icon-192.png")
	if info, err := os.Stat(icon); err == nil {
		if data, err := os.ReadFile(icon); err == nil {
			u.icon.data, u.icon.modTime = data, info.ModTime()
		}
	}
	return u, nil
}

// Version hashes every regular file under webDir (names and contents, in
// name order) into the version go-app and the service worker use.
func Version(webDir string) (string, error) {
	var names []string
	err := filepath.WalkDir(webDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			names = append(names, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("webui: hash the web directory: %w", err)
	}
	slices.Sort(names)
	sum := sha256.New()
	for _, name := range names {
		rel, _ := filepath.Rel(webDir, name)
		fmt.Fprintf(sum, "%s\x00", filepath.ToSlash(rel))
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("webui: hash %s: %w", rel, err)
		}
		_, err = io.Copy(sum, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("webui: hash %s: %w", rel, err)
		}
		sum.Write([]byte{0})
	}
	return hex.EncodeToString(sum.Sum(nil))[:20], nil
}

func loadWasm(webDir string, logger *slog.Logger) (wasmFiles, error) {
	name := filepath.Join(webDir, "app.wasm")
	info, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return wasmFiles{}, fmt.Errorf("%w (%s)", ErrNoWasm, name)
	}
	if err != nil {
		return wasmFiles{}, fmt.Errorf("webui: %w", err)
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return wasmFiles{}, fmt.Errorf("webui: %w", err)
	}
	sum := sha256.Sum256(raw)
	w := wasmFiles{modTime: info.ModTime(), raw: raw, hash: hex.EncodeToString(sum[:8])}
	w.br = loadCopy(name+".br", info.ModTime(), logger)
	w.gz = loadCopy(name+".gz", info.ModTime(), logger)
	if w.gz == nil {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			return wasmFiles{}, fmt.Errorf("webui: gzip app.wasm: %w", err)
		}
		w.gz = buf.Bytes()
		logger.Warn("webui: no app.wasm.gz; compressed app.wasm at start (run cmd/precompress for smaller files)")
	}
	return w, nil
}

// loadCopy reads a compressed copy of app.wasm, unless it is missing or
// older than app.wasm (a stale copy of a previous build).
func loadCopy(name string, wasmTime time.Time, logger *slog.Logger) []byte {
	info, err := os.Stat(name)
	if err != nil {
		return nil
	}
	if info.ModTime().Before(wasmTime) {
		logger.Warn("webui: ignoring a compressed copy older than app.wasm", "file", name)
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		logger.Warn("webui: cannot read a compressed copy of app.wasm", "file", name, "err", err)
		return nil
	}
	return data
}

// Version is the version of the console being served.
func (u *UI) Version() string { return u.version }

// ServeHTTP serves app.wasm itself, the favicon, and everything else
// through go-app: the prerendered page on every route, the manifest, the
// service worker, and the files of the web directory under /web/. Text
// goes out gzipped to clients that take it, the page lets people zoom
// (go-app's viewport forbids it), and the loader yields before it starts
// the Go program (see rewrite).
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/web/app.wasm", "/app.wasm", "/goapp.wasm":
		u.serveWasm(w, r)
	case "/favicon.ico":
		u.serveFavicon(w, r)
	default:
		// go-app compares If-None-Match with its own ETag, which a gzipped
		// answer carries with a suffix.
		if tag := r.Header.Get("If-None-Match"); strings.HasSuffix(tag, `-gzip"`) {
			r = r.Clone(r.Context())
			r.Header.Set("If-None-Match", strings.TrimSuffix(tag, `-gzip"`)+`"`)
		}
		pw := newPageWriter()
		u.app.ServeHTTP(pw, r)
		pw.send(w, r, rewrite)
	}
}

// rewrite fixes what go-app writes and Switchboard cannot configure: the
// viewport of every page and the loader's start of the Go program.
func rewrite(path, contentType string, body []byte) []byte {
	switch {
	case strings.HasPrefix(contentType, "text/html"):
		return rewritePage(body)
	case path == "/app.js":
		return rewriteLoader(body)
	}
	return body
}

// The loader's start of the Go program, and what it becomes.
const (
	loaderRun          = "go.run(wasm.instance);"
	loaderYieldThenRun = "await new Promise((resolve) => setTimeout(resolve));\n    go.run(wasm.instance);"
)

// rewriteLoader makes go-app's loader hand the browser its main thread
// back between compiling app.wasm and starting it. go-app starts the Go
// program (the runtime and every package's initialisation) in the same
// task that finishes the compilation, one long task that keeps a click
// or a key waiting; two shorter ones let the browser answer in between.
func rewriteLoader(js []byte) []byte {
	return bytes.Replace(js, []byte(loaderRun), []byte(loaderYieldThenRun), 1)
}

// rewritePage fixes what go-app writes into every page and Switchboard
// cannot set: its viewport forbids zooming (maximum-scale=1,
// user-scalable=0), which people with low vision need.
func rewritePage(page []byte) []byte {
	return bytes.Replace(page, []byte("maximum-scale=1, user-scalable=0, "), nil, 1)
}

// serveFavicon answers browsers that ask for /favicon.ico whatever the
// page says: the console's icon.
func (u *UI) serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, "favicon.png", u.icon.modTime, bytes.NewReader(u.icon.data))
}

// IsPage reports whether r asks for a page of the console (which needs a
// session) rather than one of the resources every page loads (scripts,
// styles, the manifest, the service worker, icons, app.wasm): those are
// the same for everybody and must load before anyone signs in, offline
// too.
func IsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/web/") {
		return false
	}
	switch p {
	case "/app.js", "/goapp.js", "/wasm_exec.js", "/app-worker.js", "/manifest.webmanifest", "/manifest.json",
		"/app.css", "/app.wasm", "/goapp.wasm", "/favicon.ico", "/robots.txt", "/sitemap.xml", "/ads.txt":
		return false
	}
	return true
}

// serveWasm sends app.wasm in the best encoding the client accepts.
func (u *UI) serveWasm(w http.ResponseWriter, r *http.Request) {
	body, encoding := u.wasm.raw, ""
	switch accepts := acceptedEncodings(r.Header.Get("Accept-Encoding")); {
	case u.wasm.br != nil && accepts["br"]:
		body, encoding = u.wasm.br, "br"
	case u.wasm.gz != nil && accepts["gzip"]:
		body, encoding = u.wasm.gz, "gzip"
	}
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	h.Set(ui.WasmLengthHeader, strconv.Itoa(len(u.wasm.raw)))
	tag := u.wasm.hash
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
		tag += "-" + encoding
	}
	h.Set("ETag", `"`+tag+`"`)
	http.ServeContent(w, r, "app.wasm", u.wasm.modTime, bytes.NewReader(body))
}

// acceptedEncodings parses Accept-Encoding: the codings with a non-zero
// quality ("br;q=0" refuses brotli; "*" accepts what is not named).
func acceptedEncodings(header string) map[string]bool {
	out := make(map[string]bool)
	star := false
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		ok := quality(params) > 0
		if coding == "*" {
			star = ok
			continue
		}
		out[coding] = ok
	}
	if star {
		for _, c := range []string{"br", "gzip"} {
			if _, named := out[c]; !named {
				out[c] = true
			}
		}
	}
	return out
}

// quality reads q= from a coding's parameters (1 when absent).
func quality(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return f
			}
			return 0
		}
	}
	return 1
}

// staticDir tells go-app where the static resources are (under /web/ on
// this origin) and serves them from the web directory.
type staticDir struct {
	files http.Handler
}

func (staticDir) Package() string { return "" }
func (staticDir) Static() string  { return "" }
func (staticDir) AppWASM() string { return "/web/app.wasm" }

func (d staticDir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.StripPrefix("/web", d.files).ServeHTTP(w, r)
}
