package graphsim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// notificationVerifier verifies notification tokens the way a bot does:
// the simulator's JWKS, Graph's issuer, the bot's app id as audience.
func notificationVerifier(t *testing.T, sim *Sim, audience string) *oidc.IDTokenVerifier {
	t.Helper()
	keys := oidc.NewRemoteKeySet(context.Background(), sim.JWKSURL())
	return oidc.NewVerifier(NotificationIssuer, keys, &oidc.Config{ClientID: audience})
}

func TestNotificationTokenVerifies(t *testing.T) {
	h := newHarness(t, nil)
	if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err != nil {
		t.Fatal(err)
	}
	p := h.rcv.next(t)
	raw, ok := strings.CutPrefix(p.auth, "Bearer ")
	if !ok {
		t.Fatalf("Authorization = %q, want a Bearer token", p.auth)
	}
	tok, err := notificationVerifier(t, h.sim, testApp).Verify(testCtx(t), raw)
	if err != nil {
		t.Fatalf("verify notification token: %v", err)
	}
	var claims struct {
		TenantID string `json:"tid"`
		AppID    string `json:"appid"`
		IssuedAt int64  `json:"iat"`
		NotBef   int64  `json:"nbf"`
		Expiry   int64  `json:"exp"`
	}
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.TenantID != testTenant || claims.AppID != GraphAppID || claims.IssuedAt == 0 || claims.NotBef == 0 ||
		claims.Expiry-claims.IssuedAt != 3600 {
		t.Fatalf("claims = %+v", claims)
	}
	if _, err := notificationVerifier(t, h.sim, "some-other-bot").Verify(testCtx(t), raw); err == nil {
		t.Fatal("a token for this bot verified for another audience")
	}
	other := newHarness(t, nil) // another simulator: another key
	if _, err := notificationVerifier(t, other.sim, testApp).Verify(testCtx(t), raw); err == nil {
		t.Fatal("a token verified against another simulator's keys")
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	h := newHarness(t, nil)
	if h.sim.OpenIDConfigURL() != h.srv.URL+"/v1/.well-known/OpenIdConfiguration" || h.sim.JWKSURL() != h.srv.URL+"/v1/keys" {
		t.Fatalf("URLs: %s %s", h.sim.OpenIDConfigURL(), h.sim.JWKSURL())
	}
	for _, path := range []string{"/v1/.well-known/OpenIdConfiguration", "/.well-known/openid-configuration"} {
		st, body := doWith(t, http.DefaultClient, "GET", h.srv.URL+path, "", nil)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		containsJSON(t, body, `{"issuer":"https://graph.microsoft.com","jwks_uri":"`+h.sim.JWKSURL()+`",
			"id_token_signing_alg_values_supported":["RS256"]}`)
	}
	st, body := doWith(t, http.DefaultClient, "GET", h.sim.JWKSURL(), "", nil)
	if st != http.StatusOK {
		t.Fatalf("GET keys: %d", st)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("key set: %v %s", err, body)
	}
	k := set.Keys[0]
	if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] == "" || k["n"] == "" || k["d"] != nil {
		t.Fatalf("key = %v", k)
	}
}

func TestOpenIDConfigurationWithoutPublicURL(t *testing.T) {
	rcv := newReceiver(t)
	sim, err := New(Config{CallbackURL: rcv.url(), TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret, AppID: testApp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	srv := newServer(t, sim)
	_, body := doWith(t, http.DefaultClient, "GET", srv+"/v1/.well-known/OpenIdConfiguration", "", nil)
	containsJSON(t, body, `{"jwks_uri":"`+srv+`/v1/keys"}`)
}

func TestDeliveryRetries(t *testing.T) {
	tests := []struct {
		name  string
		fail  func(n int64) int // the webhook's answer to the n-th attempt
		posts int64             // attempts the notification gets
		got   bool              // whether the webhook finally takes it
	}{
		{"accepted", func(int64) int { return 202 }, 1, true},
		{"two 503s then accepted", failFirst(2, 503), 3, true},
		{"429 then accepted", failFirst(1, 429), 2, true},
		{"always 500", func(int64) int { return 500 }, 1 + maxDeliveryRetries, false},
		{"401 is final", func(int64) int { return 401 }, 1, false},
		{"403 is final", func(int64) int { return 403 }, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.rcv.status = tt.fail
			// StartIncoming returns once the delivery is done with.
			if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err != nil {
				t.Fatal(err)
			}
			if n := h.rcv.count.Load(); n != tt.posts {
				t.Fatalf("attempts = %d, want %d", n, tt.posts)
			}
			if tt.got {
				h.rcv.next(t)
			}
			h.rcv.none(t)
		})
	}
}

// failFirst answers status to the first n attempts, then 202.
func failFirst(n int64, status int) func(int64) int {
	return func(attempt int64) int {
		if attempt <= n {
			return status
		}
		return http.StatusAccepted
	}
}

func TestDeliveryToDeadWebhook(t *testing.T) {
	rcv := newReceiver(t)
	dead := rcv.url()
	rcv.srv.Close() // nothing listens there any more
	h := newHarness(t, func(c *Config) { c.CallbackURL = dead })
	if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err != nil {
		t.Fatalf("StartIncoming must give up on the delivery, not fail: %v", err)
	}
}

// TestQuirks drives many calls with quirks on and checks that each quirk
// shows, that the bodies stay decodable, and that a call's notifications
// still arrive in order.
func TestQuirks(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PlainWire = false; c.Seed = 1234 })
	ctx := testCtx(t)
	const calls = 60
	ids := map[string]bool{}
	for range calls {
		id, err := h.sim.StartIncoming(ctx, CallSpec{})
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = true
		if err := h.sim.Establish(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := h.sim.RemoteHangUp(ctx, id, 500, 7117); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	bodies := map[string]int{}
	lastState := map[string]string{}
	for range calls * 10 {
		if len(lastState) == calls && allEnded(lastState) {
			break
		}
		p := h.rcv.next(t)
		if bodies[string(p.body)]++; bodies[string(p.body)] > 1 {
			seen["duplicate"]++
			continue
		}
		n := p.note(t)
		if !ids[n.callID()] {
			t.Fatalf("notification about an unknown call: %s", p.body)
		}
		state := n.state(t)
		if lastState[n.callID()] == "terminated" {
			t.Fatalf("notification after the end of %s: %s", n.callID(), p.body)
		}
		if state == "establishing" && lastState[n.callID()] == "established" {
			seen["reorder"]++
		}
		lastState[n.callID()] = state
		ri, ok := n.call(t)["resultInfo"].(map[string]any)
		if !ok {
			continue
		}
		switch ri["code"].(type) {
		case string:
			seen["string code"]++
		case float64:
			seen["number code"]++
		}
		if _, ok := ri["subCode"]; ok {
			seen["subCode"]++
		}
		if msg, _ := ri["message"].(string); strings.HasSuffix(msg, "DiagCode: 500#7117.@") {
			seen["DiagCode"]++
		}
	}
	if len(lastState) != calls || !allEnded(lastState) {
		t.Fatalf("not every call ended: %v", lastState)
	}
	for _, q := range []string{"duplicate", "reorder", "string code", "number code", "subCode", "DiagCode"} {
		if seen[q] == 0 {
			t.Errorf("quirk %q never showed in %d calls (seen %v)", q, calls, seen)
		}
	}
}

// allEnded reports whether every call's last notification was terminal.
func allEnded(last map[string]string) bool {
	for _, s := range last {
		if s != "terminated" {
			return false
		}
	}
	return true
}
