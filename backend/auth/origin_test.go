package auth

import (
	"context"
	"net/http/httptest"
	"testing"
)

func TestCheckOrigin(t *testing.T) {
	e := newEnv(t, false)
	a, err := New(context.Background(), Config{
		Issuer: e.idp.Issuer(), ClientID: "switchboard", PublicURL: "https://switchboard.example.com/",
		AllowedOrigins: []string{"https://Console.Example.com:443", "http://localhost:3000"},
		HTTPClient:     e.srv.Client(), Audit: e.audit, Logger: quiet,
	}, e.sessions)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://switchboard.example.com", true},
		{"https://switchboard.example.com:443", true},
		{"https://console.example.com", true},
		{"http://localhost:3000", true},
		{"http://switchboard.example.com", false},
		{"https://switchboard.example.com:8443", false},
		{"https://evil.example", false},
		{"https://switchboard.example.com.evil.example", false},
		{"null", false},
		{"", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/api/feed", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if err := a.CheckOrigin(r); (err == nil) != tt.ok {
			t.Errorf("CheckOrigin(%q) = %v, want ok: %v", tt.origin, err, tt.ok)
		}
	}
	if got := a.AllowedOrigins(); len(got) != 3 || got[0] != "https://switchboard.example.com" || got[1] != "https://console.example.com" {
		t.Errorf("AllowedOrigins = %q", got)
	}
}

func TestSameOrigin(t *testing.T) {
	e := newEnv(t, false)
	signedIn := e.login("alice")
	anonymous := e.browser()
	tests := []struct {
		name    string
		b       *browser
		method  string
		headers []string
		status  int
	}{
		{"same-origin fetch", signedIn, "POST", nil, 202},
		{"origin only", signedIn, "POST", []string{"Sec-Fetch-Site", ""}, 202},
		{"fetch metadata only", signedIn, "POST", []string{"Origin", ""}, 202},
		{"cross-site", signedIn, "POST", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site sibling", signedIn, "POST", []string{"Origin", "http://other.localhost", "Sec-Fetch-Site", "same-site"}, 403},
		{"foreign origin, no fetch metadata", signedIn, "POST", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", ""}, 403},
		{"cookie without origin or metadata", signedIn, "POST", []string{"Origin", "", "Sec-Fetch-Site", ""}, 403},
		{"tool without cookie reaches the role check", anonymous, "POST", []string{"Origin", "", "Sec-Fetch-Site", ""}, 401},
		{"cross-site read is not a state change", signedIn, "GET", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/api/calls/c1/reject"
			if tt.method == "GET" {
				path = "/api/me"
			}
			res, body := e.do(tt.b, tt.method, path, tt.headers...)
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"":                      "/",
		"/calls":                "/calls",
		"/calls?id=a%20b#frag":  "/calls?id=a%20b",
		"https://evil.example/": "/",
		"//evil.example/":       "/",
		"/\\evil.example":       "/",
		"calls":                 "/",
		"/auth/logout":          "/",
		"/%0d%0aSet-Cookie:x":   "/%0d%0aSet-Cookie:x",
		"javascript:alert(1)":   "/",
	}
	for in, want := range tests {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	// The login route keeps only safe targets.
	e := newEnv(t, false)
	b := e.browser()
	cb := e.signIn(b, "https://evil.example/phish", "alice", "alice")
	res, _ := e.callback(b, cb)
	if loc := res.Header.Get("Location"); loc != "/" {
		t.Errorf("after login with an external next: Location %q, want /", loc)
	}
}
