package webui

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// compressible reports whether a response of this content type is text
// worth compressing: the page, scripts, styles, the manifest, SVG.
func compressible(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(strings.ToLower(ct)) {
	case "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
		"application/manifest+json", "image/svg+xml", "text/plain":
		return true
	}
	return false
}

// minCompress is the smallest body worth the gzip framing.
const minCompress = 256

// pageWriter buffers a response of go-app's handler so that it can be
// rewritten (the page) and compressed before it is sent. go-app writes
// each of its resources in one piece with its Content-Length, so
// buffering costs no streaming.
type pageWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newPageWriter() *pageWriter { return &pageWriter{header: make(http.Header)} }

func (w *pageWriter) Header() http.Header { return w.header }

func (w *pageWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *pageWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// send writes the buffered response to w, gzipped when the client takes
// it and the body is text worth it.
func (pw *pageWriter) send(w http.ResponseWriter, r *http.Request, rewrite func(path, contentType string, body []byte) []byte) {
	h := w.Header()
	for k, v := range pw.header {
		h[k] = v
	}
	status := pw.status
	if status == 0 {
		status = http.StatusOK
	}
	body := pw.body.Bytes()
	if status == http.StatusOK && rewrite != nil {
		body = rewrite(r.URL.Path, h.Get("Content-Type"), body)
	}
	ok := status == http.StatusOK && compressible(h.Get("Content-Type")) && h.Get("Content-Encoding") == "" && len(body) >= minCompress
	if ok {
		h.Add("Vary", "Accept-Encoding")
	}
	if !ok || !acceptedEncodings(r.Header.Get("Accept-Encoding"))["gzip"] {
		if status == http.StatusOK || status >= 300 && status != http.StatusNotModified {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
		return
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(body)
	zw.Close()
	gzipWriters.Put(zw)
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	if tag := h.Get("ETag"); strings.HasSuffix(tag, `"`) {
		h.Set("ETag", strings.TrimSuffix(tag, `"`)+`-gzip"`)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}
