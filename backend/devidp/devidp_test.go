package devidp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// idp is the provider mounted under /idp of a loopback server, as the
// integrator mounts it.
type idp struct {
	srv *httptest.Server
	p   *Provider
}

func startIDP(t *testing.T) *idp {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p, err := New(context.Background(), Config{
		Issuer:                 srv.URL + "/idp",
		ClientID:               "switchboard",
		ClientSecret:           "s3cret",
		RedirectURIs:           []string{srv.URL + "/auth/callback"},
		PostLogoutRedirectURIs: []string{srv.URL + "/auth/logged-out"},
		Users:                  DemoUsers(),
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux.Handle(p.MountPattern(), p.Handler())
	return &idp{srv: srv, p: p}
}

// browser is an HTTP client with cookies that stops at Switchboard's
// callback, where the test takes over.
func (i *idp) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" || req.URL.Path == "/auth/logged-out" || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func (i *idp) oauth2Config(t *testing.T) (*oauth2.Config, *oidc.IDTokenVerifier) {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), i.p.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &oauth2.Config{
		ClientID: "switchboard", ClientSecret: "s3cret", Endpoint: provider.Endpoint(),
		RedirectURL: i.srv.URL + "/auth/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}, provider.Verifier(&oidc.Config{ClientID: "switchboard"})
}

var hiddenID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// openForm follows authURL to the login form and returns the form's
// sign-in request id.
func openForm(t *testing.T, c *http.Client, authURL string) (string, string) {
	t.Helper()
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login form: status %d: %s", res.StatusCode, body)
	}
	for _, want := range []string{`name="username"`, `name="password"`, `type="submit"`, `method="post"`, `action="/idp/login"`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("login form lacks %s:\n%s", want, body)
		}
	}
	m := hiddenID.FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("no sign-in request id in the form:\n%s", body)
	}
	return m[1], res.Request.URL.String()
}

func submit(t *testing.T, c *http.Client, formURL, id, user, pass string) *http.Response {
	t.Helper()
	u, _ := url.Parse(formURL)
	u.RawQuery = ""
	res, err := c.PostForm(u.String(), url.Values{"authRequestID": {id}, "username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCodeFlowWithPKCE(t *testing.T) {
	i := startIDP(t)
	conf, verifier := i.oauth2Config(t)
	c := i.browser(t)
	pkce := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("the-state", oidc.Nonce("the-nonce"), oauth2.S256ChallengeOption(pkce))
	id, formURL := openForm(t, c, authURL)

	// A wrong password shows the form again with an error.
	res := submit(t, c, formURL, id, "alice", "wrong")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "wrong user name or password") || !hiddenID.Match(body) {
		t.Fatalf("wrong password: status %d, body:\n%s", res.StatusCode, body)
	}

	res = submit(t, c, formURL, id, "alice", "alice")
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc.Path != "/auth/callback" || loc.Query().Get("state") != "the-state" || loc.Query().Get("code") == "" {
		t.Fatalf("after login: status %d, Location %q", res.StatusCode, loc)
	}
	code := loc.Query().Get("code")

	if _, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("code exchanged with the wrong PKCE verifier")
	}
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Sub      string   `json:"sub"`
		Name     string   `json:"name"`
		Username string   `json:"preferred_username"`
		Email    string   `json:"email"`
		Roles    []string `json:"roles"`
		Nonce    string   `json:"nonce"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != "user-alice" || claims.Username != "alice" || claims.Name != "Alice Supervisor" ||
		claims.Email != "alice@example.com" || claims.Nonce != "the-nonce" || len(claims.Roles) != 1 || claims.Roles[0] != DemoRoleSupervisor {
		t.Errorf("ID token claims %+v", claims)
	}
	if _, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(pkce)); err == nil {
		t.Error("a code was exchanged twice")
	}

	// End session with the ID token as hint returns to the registered URI.
	end := i.p.Issuer() + "/end_session?" + url.Values{
		"id_token_hint": {raw}, "post_logout_redirect_uri": {i.srv.URL + "/auth/logged-out"},
	}.Encode()
	res, err = c.Get(end)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Location"); got != i.srv.URL+"/auth/logged-out" {
		t.Errorf("end session: status %d, Location %q", res.StatusCode, got)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	i := startIDP(t)
	conf, _ := i.oauth2Config(t)
	tests := []struct {
		name string
		url  string
	}{
		{"no PKCE", conf.AuthCodeURL("s", oidc.Nonce("n"))},
		{"plain PKCE", conf.AuthCodeURL("s", oidc.Nonce("n"), oauth2.SetAuthURLParam("code_challenge", "abc"), oauth2.SetAuthURLParam("code_challenge_method", "plain"))},
		{"unregistered redirect", strings.Replace(conf.AuthCodeURL("s", oauth2.S256ChallengeOption("v")), url.QueryEscape("/auth/callback"), url.QueryEscape("/elsewhere"), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := i.browser(t).Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if hiddenID.Match(body) {
				t.Fatalf("the login form was shown")
			}
			loc, _ := url.Parse(res.Header.Get("Location"))
			refused := res.StatusCode == http.StatusBadRequest || (res.StatusCode == http.StatusFound && loc.Query().Get("error") != "")
			if !refused {
				t.Errorf("status %d, Location %q: want 400 or a redirect with an error", res.StatusCode, loc)
			}
		})
	}
}

func TestLoginFormErrors(t *testing.T) {
	i := startIDP(t)
	c := i.browser(t)
	res, err := c.Get(i.srv.URL + "/idp/login?authRequestID=unknown")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("form for an unknown request: status %d, want 400", res.StatusCode)
	}
	res = submit(t, c, i.srv.URL+"/idp/login", "unknown", "alice", "alice")
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("login for an unknown request: status %d, want 400", res.StatusCode)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := Config{Issuer: "http://127.0.0.1:1/idp", ClientID: "c", ClientSecret: "s", RedirectURIs: []string{"http://127.0.0.1:1/cb"}, Users: DemoUsers()}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"relative issuer", func(c *Config) { c.Issuer = "/idp" }},
		{"issuer with query", func(c *Config) { c.Issuer = "http://127.0.0.1:1/idp?x=1" }},
		{"no client", func(c *Config) { c.ClientID = "" }},
		{"no secret", func(c *Config) { c.ClientSecret = "" }},
		{"no redirect", func(c *Config) { c.RedirectURIs = nil }},
		{"no users", func(c *Config) { c.Users = nil }},
		{"user without password", func(c *Config) { c.Users = []User{{Username: "x"}} }},
		{"duplicate user", func(c *Config) { c.Users = append(DemoUsers(), DemoUsers()[0]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			if _, err := New(context.Background(), cfg); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}

// TestEndSessionForgivesAStaleHint: after a restart the provider signs with
// a new key, and the hint Switchboard kept from before no longer verifies;
// logging out must still end on Switchboard's signed-out page, not on the
// provider's error.
func TestEndSessionForgivesAStaleHint(t *testing.T) {
	i := startIDP(t)
	old := startIDP(t) // another run: another key
	staleToken := signedByOtherRun(t, old)
	end := i.p.Issuer() + "/end_session?" + url.Values{
		"id_token_hint": {staleToken}, "client_id": {"switchboard"},
		"post_logout_redirect_uri": {i.srv.URL + "/auth/logged-out"},
	}.Encode()
	res, err := i.browser(t).Get(end)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Location"); got != i.srv.URL+"/auth/logged-out" {
		t.Errorf("end session with a stale hint: status %d, Location %q; want Switchboard's signed-out page", res.StatusCode, got)
	}
}

// signedByOtherRun signs alice in at p and returns her ID token.
func signedByOtherRun(t *testing.T, p *idp) string {
	t.Helper()
	conf, _ := p.oauth2Config(t)
	pkce := oauth2.GenerateVerifier()
	c := p.browser(t)
	id, formURL := openForm(t, c, conf.AuthCodeURL("st", oidc.Nonce("n"), oauth2.S256ChallengeOption(pkce)))
	res := submit(t, c, formURL, id, "alice", "alice")
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	code := loc.Query().Get("code")
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return raw
}

func TestSignInPageListsDemoUsersOnlyInDemos(t *testing.T) {
	for _, show := range []bool{false, true} {
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		p, err := New(context.Background(), Config{Issuer: srv.URL + "/idp", ClientID: "switchboard", ClientSecret: "s",
			RedirectURIs: []string{srv.URL + "/auth/callback"}, Users: DemoUsers(), ShowUsers: show, Stylesheet: "/web/auth.css",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle(p.MountPattern(), p.Handler())
		var page strings.Builder
		rec := httptest.NewRecorder()
		p.render(rec, http.StatusOK, loginPage{ID: "x"})
		page.WriteString(rec.Body.String())
		srv.Close()
		html := page.String()
		if strings.Contains(html, "Demo users") != show || strings.Contains(html, "<code>victor</code>") != show {
			t.Errorf("ShowUsers %v: the page lists the demo users: %v", show, strings.Contains(html, "Demo users"))
		}
		if !strings.Contains(html, `<link rel="stylesheet" href="/web/auth.css">`) || strings.Contains(html, "style=") {
			t.Errorf("the sign-in page is not styled from its stylesheet:\n%s", html)
		}
	}
}
