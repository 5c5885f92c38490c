package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSignedOutPagesGoToSignIn: a browser without a session asking for
// the console is sent to sign-in by the server, before it loads any of
// the app; the resources every page loads stay open, and a signed-in
// browser gets the console.
func TestSignedOutPagesGoToSignIn(t *testing.T) {
	h := start(t, options{})
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(c *http.Client, path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for _, path := range []string{"/", "/calls"} {
		resp, _ := get(anon, path)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login?next=") {
			t.Errorf("signed out, GET %s: %d to %q; want 303 to sign-in", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, path := range []string{"/app.js", "/wasm_exec.js", "/app-worker.js", "/manifest.webmanifest", "/web/app.css", "/favicon.ico"} {
		if resp, _ := get(anon, path); resp.StatusCode != http.StatusOK {
			t.Errorf("signed out, GET %s: %d; resources must load for everybody", path, resp.StatusCode)
		}
	}
	resp, body := get(h.client, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="switchboard"`) {
		t.Errorf("signed in, GET /: %d", resp.StatusCode)
	}
}
