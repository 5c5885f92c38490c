package auth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/backend/audit"
	"switchboard/backend/devidp"
	"switchboard/backend/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// connect opens a connection of its own to ns, as a replica does.

// clock is a settable time source for session timeouts.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func openSessions(t *testing.T, js jetstream.JetStream, opts SessionOptions) *Sessions {
	t.Helper()
	opts.Logger = quiet
	s, err := OpenSessions(context.Background(), js, opts)
	if err != nil {
		t.Fatalf("OpenSessions: %v", err)
	}
	return s
}

// env is a Switchboard replica's auth on loopback: NATS, the development
// provider under /idp, auth's routes, and protected handlers, with the
// audit trail on the same NATS.
type env struct {
	t        *testing.T
	ns       *server.Server
	srv      *httptest.Server
	idp      *devidp.Provider
	sessions *Sessions
	auth     *Auth
	audit    *audit.Log
}

// extraUsers are accounts besides the demo's, to test refusals.
var extraUsers = []devidp.User{
	{Username: "nora", Password: "nora", Name: "Nora Norole", Roles: []string{"Marketing"}},
}

func newEnv(t *testing.T, tls bool) *env {
	t.Helper()
	return newEnvWith(t, tls, func(*Config) {})
}

// newEnvWith is newEnv with auth's configuration adjusted by tweak.
func newEnvWith(t *testing.T, tls bool, tweak func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ns: natstest.Server(t)}
	js := natstest.Connect(t, e.ns)
	mux := http.NewServeMux()
	if tls {
		e.srv = httptest.NewTLSServer(mux)
	} else {
		e.srv = httptest.NewServer(mux)
	}
	t.Cleanup(e.srv.Close)

	var err error
	e.idp, err = devidp.New(ctx, devidp.Config{
		Issuer:                 e.srv.URL + "/idp",
		ClientID:               "switchboard",
		ClientSecret:           "demo-secret",
		RedirectURIs:           []string{e.srv.URL + "/auth/callback"},
		PostLogoutRedirectURIs: []string{e.srv.URL + "/auth/logged-out"},
		Users:                  append(devidp.DemoUsers(), extraUsers...),
		Logger:                 quiet,
	})
	if err != nil {
		t.Fatalf("devidp: %v", err)
	}
	mux.Handle(e.idp.MountPattern(), e.idp.Handler())

	if e.audit, err = audit.Open(ctx, js, audit.Options{}); err != nil {
		t.Fatalf("audit: %v", err)
	}
	e.sessions = openSessions(t, js, SessionOptions{})
	cfg := Config{
		Issuer: e.idp.Issuer(), ClientID: "switchboard", ClientSecret: "demo-secret",
		PublicURL: e.srv.URL, HTTPClient: e.srv.Client(), Audit: e.audit, Logger: quiet,
	}
	tweak(&cfg)
	e.auth, err = New(ctx, cfg, e.sessions)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.auth.Routes(mux)
	accepted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, u.Name)
	})
	mux.Handle("POST /api/calls/{id}/reject", e.auth.SameOrigin(e.auth.Require(Supervisor, accepted)))
	mux.Handle("GET /api/audit", e.auth.Require(Admin, e.audit.Handler()))
	mux.Handle("/", e.auth.RequirePage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		io.WriteString(w, "console of "+u.Name+" at "+r.URL.Path)
	})))
	return e
}

// browser is a cookie-keeping client that stops before Switchboard's
// callback, so tests can look at (or tamper with) the provider's answer.
type browser struct {
	*http.Client
	jar      http.CookieJar
	noFollow *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	base := e.srv.Client()
	follow := &http.Client{Transport: base.Transport, Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" || len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	noFollow := &http.Client{Transport: base.Transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return &browser{Client: follow, jar: jar, noFollow: noFollow}
}

var authRequestID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// signIn starts a login for next, fills the provider's form, and returns
// the callback URL the provider sends the browser to, not yet visited.
func (e *env) signIn(b *browser, next, user, pass string) *url.URL {
	e.t.Helper()
	res, err := b.Get(e.srv.URL + "/auth/login?next=" + url.QueryEscape(next))
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := authRequestID.FindSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		e.t.Fatalf("login form: status %d:\n%s", res.StatusCode, body)
	}
	res, err = b.PostForm(e.srv.URL+"/idp/login", url.Values{"authRequestID": {string(m[1])}, "username": {user}, "password": {pass}})
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Path != "/auth/callback" {
		e.t.Fatalf("after the form: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc
}

// callback visits the callback URL without following the answer.
func (e *env) callback(b *browser, u *url.URL) (*http.Response, string) {
	e.t.Helper()
	res, err := b.noFollow.Get(u.String())
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

// login signs user in and returns the browser holding the session.
func (e *env) login(user string) *browser {
	e.t.Helper()
	b := e.browser()
	res, body := e.callback(b, e.signIn(b, "/", user, user))
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login of %s: status %d:\n%s", user, res.StatusCode, body)
	}
	return b
}

// sessionToken is the session cookie's value in b.
func (e *env) sessionToken(b *browser) string {
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == e.auth.SessionCookieName() {
			return c.Value
		}
	}
	return ""
}

// do sends a request as the console's page does: same-origin fetch.
func (e *env) do(b *browser, method, path string, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	res, err := b.noFollow.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

// trail returns the audit entries of action, newest first.
func (e *env) trail(action string) []audit.Entry {
	e.t.Helper()
	all, err := e.audit.List(context.Background(), audit.Query{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []audit.Entry
	for _, en := range all {
		if en.Action == action {
			out = append(out, en)
		}
	}
	return out
}

func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.NewDecoder(strings.NewReader(body)).Decode(v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

// waitFor receives from ch for up to 10 s.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
		var zero T
		return zero
	}
}
