// Package secheaders sets the security headers of every response: a
// Content-Security-Policy that lets the console's WebAssembly run and little
// else, no framing, no MIME sniffing, a referrer policy, and HSTS when the
// server is reached over https.
//
// The policy fits go-app v9.8.0 as Switchboard uses it. go-app's page loads
// wasm_exec.js, app.js, app.css, the manifest and app-worker.js from its own
// origin and writes no inline script or style of its own, so neither
// 'unsafe-inline' nor hashes are needed. WebAssembly.instantiate needs
// 'wasm-unsafe-eval' (not the far wider 'unsafe-eval'). What the policy rules
// out, the UI must avoid:
//
//   - app.Elem.Style(…) renders a style="…" attribute, which style-src 'self'
//     blocks: style with classes from a stylesheet instead;
//   - go-app's default icons and any Handler.Styles/Scripts/Fonts on another
//     origin are blocked: ship them under web/;
//   - Handler.RawHeaders must not carry inline <script> or <style>.
//
// The websocket feed is same-origin, which connect-src 'self' allows.
package secheaders

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Options adjust the headers. The zero value suits plain http on one origin.
type Options struct {
	// HTTPS adds Strict-Transport-Security. Set it when the public URL is
	// https; browsers ignore HSTS over plain http anyway, and sending it
	// from a local demo would pin localhost to https.
	HTTPS bool
	// FormAction lists URLs whose origins, beyond 'self', forms may submit
	// to or be redirected to after a submission. Browsers apply form-action
	// to the redirect that follows a form POST: when logout (a form POST to
	// the server) redirects to an external identity provider's end-session
	// endpoint, that endpoint belongs here. Each must be an absolute http(s)
	// URL; only its origin is used.
	FormAction []string
}

// CSP is the Content-Security-Policy for Options with no extra origins.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; " +
	"object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// HSTS is the Strict-Transport-Security value sent over https: one year,
// without includeSubDomains, which would reach other services of the
// organisation's domain.
const HSTS = "max-age=31536000"

// Middleware sets the headers on every response of next. https says whether
// the server is reached over https.
func Middleware(https bool, next http.Handler) http.Handler {
	return Handler(Options{HTTPS: https}, next)
}

// Handler is Middleware with Options. It panics if a FormAction entry is not
// an absolute http(s) URL, as a misconfiguration found at startup.
func Handler(opts Options, next http.Handler) http.Handler {
	csp := policy(opts.FormAction)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if opts.HTTPS {
			h.Set("Strict-Transport-Security", HSTS)
		}
		next.ServeHTTP(w, r)
	})
}

// policy is CSP with the origins of formAction added to form-action, the
// policy's last directive.
func policy(formAction []string) string {
	csp := CSP
	for _, raw := range formAction {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, "; ,'\"") {
			panic(fmt.Sprintf("secheaders: form-action source %q is not an absolute http(s) URL", raw))
		}
		csp += " " + u.Scheme + "://" + u.Host
	}
	return csp
}
