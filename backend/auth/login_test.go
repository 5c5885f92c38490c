package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/backend/apierror"
	"switchboard/backend/audit"
	"switchboard/backend/natstest"
)

func TestLoginFlow(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	cb := e.signIn(b, "/calls?view=live", "alice", "alice")

	res, body := e.callback(b, cb)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/calls?view=live" {
		t.Fatalf("callback: status %d, Location %q:\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == SessionCookieHTTP && c.Value != "" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Domain != "" || session.Secure {
		t.Fatalf("session cookie on plain http: %+v", session)
	}

	res, body = e.do(b, "GET", "/api/me")
	var me Me
	decodeJSON(t, body, &me)
	if res.StatusCode != 200 || me.Name != "alice" || me.Role != Supervisor || me.Email != "alice@example.com" ||
		strings.Join(me.Permissions, ",") != "view,answer,reject,redirect,transfer,hangup,mute" || me.LogoutURL != "/auth/logout" {
		t.Errorf("/api/me: status %d, %+v", res.StatusCode, me)
	}
	res, body = e.do(b, "GET", "/calls")
	if res.StatusCode != 200 || body != "console of alice at /calls" {
		t.Errorf("console page: status %d, %q", res.StatusCode, body)
	}
	logins := e.trail(audit.ActionLogin)
	if len(logins) != 1 || logins[0].Actor != "alice" || logins[0].Outcome != audit.OutcomeOK || logins[0].Remote == "" {
		t.Errorf("audited logins: %+v", logins)
	}

	// The code and state were used: replaying the callback fails.
	res, _ = e.callback(b, cb)
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: status %d, want 400", res.StatusCode)
	}
	// A new login replaces the session with a new id.
	before := e.sessionToken(b)
	res, _ = e.callback(b, e.signIn(b, "/", "alice", "alice"))
	after := e.sessionToken(b)
	if res.StatusCode != http.StatusSeeOther || after == "" || after == before {
		t.Fatalf("second login: status %d, same token: %v", res.StatusCode, after == before)
	}
	if _, err := e.sessions.Get(context.Background(), before); err == nil {
		t.Error("the session of the first login survived the second")
	}
}

func TestLoginOverHTTPSUsesHostCookie(t *testing.T) {
	e := newEnv(t, true)
	b := e.browser()
	res, body := e.callback(b, e.signIn(b, "/", "ada", "ada"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: status %d:\n%s", res.StatusCode, body)
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Domain != "" {
		t.Fatalf("session cookie over https: %+v (all: %v)", session, res.Header["Set-Cookie"])
	}
	res, body = e.do(b, "GET", "/api/me")
	if res.StatusCode != 200 || !strings.Contains(body, `"role":"admin"`) {
		t.Errorf("/api/me: status %d, %s", res.StatusCode, body)
	}
}

func TestRolesAreEnforced(t *testing.T) {
	e := newEnv(t, false)
	victor, alice, ada := e.login("victor"), e.login("alice"), e.login("ada")
	tests := []struct {
		name   string
		b      *browser
		method string
		path   string
		status int
		msg    string // part of the error message
	}{
		{"viewer may not reject", victor, "POST", "/api/calls/c1/reject", 403, "your role viewer may not act on calls"},
		{"supervisor rejects", alice, "POST", "/api/calls/c1/reject", 202, ""},
		{"admin rejects", ada, "POST", "/api/calls/c1/reject", 202, ""},
		{"viewer may not read the audit trail", victor, "GET", "/api/audit", 403, "may not delete conversations or read the audit trail"},
		{"supervisor may not read the audit trail", alice, "GET", "/api/audit", 403, "your role supervisor"},
		{"admin reads the audit trail", ada, "GET", "/api/audit", 200, ""},
		{"viewer sees the console", victor, "GET", "/", 200, ""},
		{"no cookie: 401", e.browser(), "GET", "/api/me", 401, "sign in"},
		{"no cookie on an action: 401", e.browser(), "POST", "/api/calls/c1/reject", 401, "sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.do(tt.b, tt.method, tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.msg == "" {
				return
			}
			var eb apierror.Body
			decodeJSON(t, body, &eb)
			wantCode := map[int]string{401: "unauthenticated", 403: "forbidden"}[tt.status]
			if eb.Error.Code != wantCode || !strings.Contains(eb.Error.Message, tt.msg) {
				t.Errorf("error %+v, want code %s and a message with %q", eb.Error, wantCode, tt.msg)
			}
		})
	}

	res, _ := e.do(e.browser(), "GET", "/calls?x=1")
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/auth/login?next=%2Fcalls%3Fx%3D1" {
		t.Errorf("console page without session: status %d, Location %q", res.StatusCode, loc)
	}
}

func TestFailedLoginsAreAudited(t *testing.T) {
	e := newEnv(t, false)
	tests := []struct {
		name   string
		tamper func(t *testing.T, b *browser, cb *url.URL)
		user   string
		status int
		reason string
	}{
		{"tampered state", func(t *testing.T, b *browser, cb *url.URL) {
			q := cb.Query()
			q.Set("state", q.Get("state")+"x")
			cb.RawQuery = q.Encode()
		}, "alice", http.StatusBadRequest, "state mismatch"},
		{"tampered nonce", func(t *testing.T, b *browser, cb *url.URL) {
			tamperNonce(t, e)
		}, "alice", http.StatusUnauthorized, "nonce mismatch"},
		{"login cookie missing", func(t *testing.T, b *browser, cb *url.URL) {
			u, _ := url.Parse(e.srv.URL)
			b.jar.SetCookies(u, []*http.Cookie{{Name: loginCookieHTTP, Value: "", Path: "/", MaxAge: -1}})
		}, "alice", http.StatusBadRequest, "no sign-in in progress"},
		{"provider error", func(t *testing.T, b *browser, cb *url.URL) {
			q := cb.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			cb.RawQuery = q.Encode()
		}, "alice", http.StatusUnauthorized, "provider refused: access_denied"},
		{"wrong code", func(t *testing.T, b *browser, cb *url.URL) {
			q := cb.Query()
			q.Set("code", "forged")
			cb.RawQuery = q.Encode()
		}, "alice", http.StatusBadGateway, "code exchange failed"},
		{"no role", func(*testing.T, *browser, *url.URL) {}, "nora", http.StatusForbidden, "no role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			cb := e.signIn(b, "/", tt.user, tt.user)
			before := len(e.trail(audit.ActionLoginFailed))
			tt.tamper(t, b, cb)
			res, body := e.callback(b, cb)
			if res.StatusCode != tt.status || !strings.Contains(body, "<h1>") {
				t.Fatalf("status %d, want %d with a page:\n%s", res.StatusCode, tt.status, body)
			}
			if e.sessionToken(b) != "" {
				t.Error("a failed login left a session cookie")
			}
			failed := e.trail(audit.ActionLoginFailed)
			if len(failed) != before+1 || !strings.Contains(failed[0].Outcome, tt.reason) {
				t.Fatalf("audited failures: %+v, want a new one with %q", failed, tt.reason)
			}
		})
	}
	if logins := e.trail(audit.ActionLogin); len(logins) != 0 {
		t.Errorf("failed logins recorded as logins: %+v", logins)
	}
}

// tamperNonce replaces the nonce of the only sign-in in progress, as if
// the ID token had been issued for another sign-in.
func tamperNonce(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	keys, err := e.sessions.logins.Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("sign-ins in progress: %v, %v", keys, err)
	}
	entry, err := e.sessions.logins.Get(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	var a loginAttempt
	json.Unmarshal(entry.Value(), &a)
	a.Nonce = "another-nonce"
	body, _ := json.Marshal(a)
	if _, err := e.sessions.logins.Put(ctx, keys[0], body); err != nil {
		t.Fatal(err)
	}
}

func TestNoRolePageSaysWhy(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser()
	_, body := e.callback(b, e.signIn(b, "/", "nora", "nora"))
	for _, want := range []string{"No Switchboard role", "nora", `&#34;roles&#34; claim`, "Marketing", "/idp/end_session?"} {
		if !strings.Contains(body, want) {
			t.Errorf("no-role page lacks %q:\n%s", want, body)
		}
	}
}

func TestSessionWithoutRoleIsRefused(t *testing.T) {
	e := newEnv(t, false)
	token, _, err := e.sessions.Create(context.Background(), Session{Subject: "x", Name: "ghost"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	u, _ := url.Parse(e.srv.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: SessionCookieHTTP, Value: token, Path: "/"}})
	if res, body := e.do(b, "GET", "/api/me"); res.StatusCode != 403 || !strings.Contains(body, "no Switchboard role") {
		t.Errorf("/api/me: status %d, %s", res.StatusCode, body)
	}
	if res, body := e.do(b, "GET", "/"); res.StatusCode != 403 || !strings.Contains(body, "No Switchboard role") {
		t.Errorf("console: status %d, %s", res.StatusCode, body)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replica2 := openSessions(t, natstest.Connect(t, e.ns), SessionOptions{})
	ended1, ended2 := make(chan string, 8), make(chan string, 8)
	if err := e.sessions.WatchEnded(ctx, func(id string) { ended1 <- id }); err != nil {
		t.Fatal(err)
	}
	if err := replica2.WatchEnded(ctx, func(id string) { ended2 <- id }); err != nil {
		t.Fatal(err)
	}

	b := e.login("alice")
	token := e.sessionToken(b)
	if _, err := replica2.Get(ctx, token); err != nil {
		t.Fatalf("the other replica does not see the session: %v", err)
	}

	// Logout is a state change: a cross-site form or a request without
	// Origin but with the cookie is refused.
	if res, _ := e.do(b, "POST", "/auth/logout", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); res.StatusCode != 403 {
		t.Fatalf("cross-site logout: status %d, want 403", res.StatusCode)
	}
	if res, _ := e.do(b, "POST", "/auth/logout", "Origin", "", "Sec-Fetch-Site", ""); res.StatusCode != 403 {
		t.Fatalf("logout without Origin: status %d, want 403", res.StatusCode)
	}

	res, _ := e.do(b, "POST", "/auth/logout")
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc.Path != "/idp/end_session" || loc.Query().Get("id_token_hint") == "" ||
		loc.Query().Get("post_logout_redirect_uri") != e.srv.URL+"/auth/logged-out" {
		t.Fatalf("logout: status %d, Location %q", res.StatusCode, loc)
	}
	id := idOf(token)
	if got := waitFor(t, ended1, "end on this replica"); got != id {
		t.Errorf("WatchEnded here: %q, want %q", got, id)
	}
	if got := waitFor(t, ended2, "end on the other replica"); got != id {
		t.Errorf("WatchEnded on the other replica: %q, want %q", got, id)
	}
	if _, err := replica2.Get(ctx, token); err == nil {
		t.Error("the other replica still accepts the session")
	}
	if res, _ := e.do(b, "GET", "/api/me"); res.StatusCode != 401 {
		t.Errorf("/api/me after logout: status %d, want 401", res.StatusCode)
	}

	// The provider ends its session and returns the browser to Switchboard.
	res, err := b.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/auth/logged-out" || res.StatusCode != 200 {
		t.Errorf("after the provider's logout: %s, status %d", res.Request.URL, res.StatusCode)
	}
	if out := e.trail(audit.ActionLogout); len(out) != 1 || out[0].Actor != "alice" || out[0].Outcome != audit.OutcomeOK {
		t.Errorf("audited logouts: %+v", out)
	}
}

func TestLogoutFromScriptGetsJSON(t *testing.T) {
	e := newEnv(t, false)
	b := e.login("victor")
	res, body := e.do(b, "POST", "/auth/logout", "Accept", "application/json")
	var lr LogoutResponse
	decodeJSON(t, body, &lr)
	if res.StatusCode != 200 || !strings.HasPrefix(lr.Redirect, e.idp.Issuer()+"/end_session?") {
		t.Errorf("status %d, %+v", res.StatusCode, lr)
	}
	// Logging out again, with the session gone, just lands on logged-out.
	res, _ = e.do(b, "POST", "/auth/logout")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/logged-out" {
		t.Errorf("second logout: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if out := e.trail(audit.ActionLogout); len(out) != 1 {
		t.Errorf("audited logouts: %d, want 1", len(out))
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, false)
	good := Config{Issuer: e.idp.Issuer(), ClientID: "switchboard", PublicURL: e.srv.URL, Audit: e.audit, Logger: quiet}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no issuer", func(c *Config) { c.Issuer = "" }},
		{"no client", func(c *Config) { c.ClientID = "" }},
		{"no audit", func(c *Config) { c.Audit = nil }},
		{"relative public URL", func(c *Config) { c.PublicURL = "/console" }},
		{"bad allowed origin", func(c *Config) { c.AllowedOrigins = []string{"console.example.com"} }},
		{"unknown role in map", func(c *Config) { c.RoleMap = map[string]Role{"x": "owner"} }},
		{"unreachable issuer", func(c *Config) { c.Issuer = e.srv.URL + "/nowhere" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			if _, err := New(context.Background(), cfg, e.sessions); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
	if _, err := New(context.Background(), good, nil); err == nil {
		t.Error("New without sessions succeeded")
	}
}
