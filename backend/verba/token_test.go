package verba

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/backend/audit"
	"switchboard/backend/natstest"
)

var guidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRequestToken covers the credentials RequestToken accepts and refuses.
func TestRequestToken(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	cases := []struct {
		name            string
		key             string
		login, password string
		status          int
		errHas          string
		challenge       bool
	}{
		{"success", "tok", testLogin, testPassword, 200, "", false},
		{"a key without token requirement may ask too", "open", testLogin, testPassword, 200, "", false},
		{"wrong password", "tok", testLogin, "guess", 401, "wrong login or password", false},
		{"unknown user", "tok", "mallory", testPassword, 401, "wrong login or password", false},
		{"no credentials", "tok", "", "", 401, "missing credentials", true},
		{"unknown key", "?", testLogin, testPassword, 401, "unknown API key", false},
		{"key from the wrong network", "remote", testLogin, testPassword, 403, "not accepted from", false},
	}
	for _, tc := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				key := f.keys[tc.key]
				if tc.key == "?" {
					key = "74c8eea0-50c6-40b2-9f3e-252ed501c3c8"
				}
				r := f.call(t, method, vals("action", "RequestToken", "apiKey", key), tc.login, tc.password)
				checkReply(t, r, tc.status, "RequestToken", tc.errHas, "")
				if tc.status == http.StatusOK && !guidRe.MatchString(r.Token) {
					t.Errorf("token %q is not a GUID", r.Token)
				}
				if tc.status != http.StatusOK && r.Token != "" {
					t.Errorf("an error carries token %q", r.Token)
				}
				if got := r.header.Get("WWW-Authenticate") != ""; got != tc.challenge {
					t.Errorf("WWW-Authenticate present %v, want %v", got, tc.challenge)
				}
			})
		}
	}
	t.Run("audit", func(t *testing.T) {
		var notes []string
		for _, e := range f.audit.all() {
			if strings.Contains(e.Detail+e.Outcome+e.Target, testPassword) {
				t.Errorf("audit entry holds the password: %+v", e)
			}
			if e.Action == audit.ActionLoginFailed && strings.Contains(e.Detail, "RequestToken as API user") {
				notes = append(notes, e.Detail)
			}
		}
		want := []string{
			"RequestToken as API user crm-bot (wrong password)", "RequestToken as API user crm-bot (wrong password)",
			"RequestToken as API user mallory (unknown user)", "RequestToken as API user mallory (unknown user)",
		}
		if !slices.Equal(notes, want) {
			t.Errorf("failed logins recorded as %q, want %q", notes, want)
		}
	})
}

// TestTokenLifecycle uses a token, lets it expire, revokes one, and tries
// one with another key.
func TestTokenLifecycle(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	token := func(key string) string {
		t.Helper()
		r := f.call(t, http.MethodPost, vals("action", "RequestToken", "apiKey", f.keys[key]), testLogin, testPassword)
		checkReply(t, r, 200, "RequestToken", "", "")
		return r.Token
	}
	deleteWith := func(key, tok string) reply {
		t.Helper()
		f.store.reset(fixtureCalls())
		return f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", f.keys[key], "token", tok, "callID", "c-ended1"), "", "")
	}
	revoke := func(key, tok string) reply {
		t.Helper()
		return f.call(t, http.MethodGet, vals("action", "RevokeToken", "apiKey", f.keys[key], "token", tok), "", "")
	}

	tok := token("tok")
	checkReply(t, deleteWith("tok", tok), 200, "DeleteCall", "", "")
	checkReply(t, deleteWith("tok", strings.ToUpper(tok)), 200, "DeleteCall", "", "")
	if erased, _ := f.store.effects(); !slices.Equal(erased, []string{"c-ended1"}) {
		t.Fatalf("with a valid token, erased %v", erased)
	}
	e := f.audit.all()
	if d := e[len(e)-1].Detail; d != "DeleteCall by callID, token of API user crm-bot" {
		t.Errorf("deletion with a token recorded as %q", d)
	}
	checkReply(t, deleteWith("open", tok), 401, "DeleteCall", "issued for another API key", "")

	f.clock.add(TokenLifetime - time.Second)
	checkReply(t, deleteWith("tok", tok), 200, "DeleteCall", "", "")
	f.clock.add(time.Second)
	checkReply(t, deleteWith("tok", tok), 401, "DeleteCall", "token expired; request a new one", "")

	tok2 := token("tok")
	checkReply(t, revoke("open", tok2), 401, "RevokeToken", "issued for another API key", "")
	checkReply(t, deleteWith("tok", tok2), 200, "DeleteCall", "", "")
	checkReply(t, revoke("tok", tok2), 200, "RevokeToken", "", "token revoked")
	checkReply(t, deleteWith("tok", tok2), 401, "DeleteCall", "token revoked; request a new one", "")
	checkReply(t, revoke("tok", tok2), 200, "RevokeToken", "", "already revoked")
	checkReply(t, revoke("tok", "not-a-token"), 401, "RevokeToken", "unknown token", "")
	checkReply(t, f.call(t, http.MethodGet, vals("action", "RevokeToken", "apiKey", f.keys["tok"]), "", ""),
		400, "RevokeToken", "missing parameter token", "")

	// A token presented with a key that does not need one is checked too.
	checkReply(t, deleteWith("open", tok2), 401, "DeleteCall", "issued for another API key", "")
}

// TestTokensShared: a token issued by one replica is accepted and revoked
// by another sharing the same NATS.
func TestTokensShared(t *testing.T) {
	a := newFixture(t, natstest.JetStream(t))
	b := a.replica(t)
	r := a.call(t, http.MethodPost, vals("action", "RequestToken", "apiKey", a.keys["tok"]), testLogin, testPassword)
	checkReply(t, r, 200, "RequestToken", "", "")
	del := vals("action", "DeleteCall", "apiKey", a.keys["tok"], "token", r.Token, "callID", "c-ended1")
	checkReply(t, b.call(t, http.MethodGet, del, "", ""), 200, "DeleteCall", "", "")
	checkReply(t, b.call(t, http.MethodGet, vals("action", "RevokeToken", "apiKey", a.keys["tok"], "token", r.Token), "", ""),
		200, "RevokeToken", "", "token revoked")
	checkReply(t, a.call(t, http.MethodGet, del, "", ""), 401, "DeleteCall", "token revoked", "")
}
