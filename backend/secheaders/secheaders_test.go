package secheaders

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler) http.Header {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d: the wrapped handler did not answer", res.StatusCode)
	}
	return res.Header
}

var teapot = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })

func TestHeaders(t *testing.T) {
	tests := []struct {
		name  string
		h     http.Handler
		hsts  bool
		extra string
	}{
		{"http", Middleware(false, teapot), false, ""},
		{"https", Middleware(true, teapot), true, ""},
		{"form action", Handler(Options{HTTPS: true, FormAction: []string{"https://login.microsoftonline.com/tenant/oauth2/v2.0/logout"}}, teapot), true, " https://login.microsoftonline.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := get(t, tt.h)
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval';", "style-src 'self';", "frame-ancestors 'none'", "object-src 'none'", "form-action 'self'" + tt.extra} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			for _, never := range []string{"unsafe-inline", "'unsafe-eval'", "*"} {
				if strings.Contains(csp, never) {
					t.Errorf("CSP %q allows %q", csp, never)
				}
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "same-origin",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := h.Get("Strict-Transport-Security"); (got != "") != tt.hsts {
				t.Errorf("Strict-Transport-Security = %q, want present: %v", got, tt.hsts)
			}
		})
	}
}

func TestBadFormActionPanics(t *testing.T) {
	for _, src := range []string{"login.example.com", "https://", "javascript:alert(1)", "https://a.example;script-src *"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handler accepted form-action source %q", src)
				}
			}()
			Handler(Options{FormAction: []string{src}}, teapot)
		}()
	}
}
