package notifyauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	appID  = "11111111-2222-3333-4444-555555555555"
	tenant = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

var (
	keysOnce           sync.Once
	graphKey, otherKey *rsa.PrivateKey
)

// testKeys returns two RSA keys: the publisher's and a forger's.
func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if graphKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return graphKey, otherKey
}

// publisher serves an OpenID configuration and its key set, as Microsoft's
// endpoint does, and counts key set fetches.
type publisher struct {
	srv       *httptest.Server
	jwks      atomic.Pointer[jose.JSONWebKeySet]
	keyFetchs atomic.Int32
}

func newPublisher(t *testing.T, key *rsa.PrivateKey, kid string) *publisher {
	t.Helper()
	p := &publisher{}
	p.publish(key, kid)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/OpenIdConfiguration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                IssuerBotFramework,
			"jwks_uri":                              p.srv.URL + "/v1/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		p.keyFetchs.Add(1)
		json.NewEncoder(w).Encode(p.jwks.Load())
	})
	mux.HandleFunc("GET /no-jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"issuer":"x"}`))
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *publisher) publish(key *rsa.PrivateKey, kid string) {
	p.jwks.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}})
}

func (p *publisher) configURL() string { return p.srv.URL + "/v1/.well-known/OpenIdConfiguration" }

func newVerifier(t *testing.T, p *publisher) *Verifier {
	t.Helper()
	v, err := New(context.Background(), Config{
		OpenIDConfigURL: p.configURL(),
		AppID:           appID,
		TenantIDs:       []string{"00000000-0000-0000-0000-000000000001", tenant},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// claims are a notification token's claims, as Graph sets them.
func claims(now time.Time) map[string]any {
	return map[string]any{
		"iss":   IssuerGraph,
		"aud":   appID,
		"iat":   now.Unix(),
		"nbf":   now.Add(-5 * time.Minute).Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"tid":   tenant,
		"appid": "00000003-0000-0000-c000-000000000000",
	}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func with(c map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestVerify(t *testing.T) {
	good, forger := testKeys(t)
	p := newPublisher(t, good, "k1")
	v := newVerifier(t, p)
	now := time.Now()
	c := claims(now)
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://graph.microsoft.com"}`)) + "."

	tests := []struct {
		name   string
		header string
		want   error // nil: accepted
	}{
		{"graph issuer", "Bearer " + sign(t, jose.RS256, good, "k1", c), nil},
		{"bot framework issuer", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "iss", IssuerBotFramework)), nil},
		{"audience in a list", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "aud", []string{"other", appID})), nil},
		{"tenant in other case", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "tid", strings.ToUpper(tenant))), nil},
		{"lower-case scheme", "bearer " + sign(t, jose.RS256, good, "k1", c), nil},
		{"forged with the key id", "Bearer " + sign(t, jose.RS256, forger, "k1", c), ErrBadSignature},
		{"forged with another key id", "Bearer " + sign(t, jose.RS256, forger, "k9", c), ErrBadSignature},
		{"expired", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "exp", now.Add(-time.Minute).Unix())), ErrExpired},
		{"not yet valid", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "nbf", now.Add(time.Hour).Unix())), ErrNotYetValid},
		{"wrong audience", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "aud", "someone-else")), ErrWrongAudience},
		{"wrong issuer", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "iss", "https://sts.windows.net/"+tenant+"/")), ErrWrongIssuer},
		{"wrong tenant", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "tid", "99999999-0000-0000-0000-000000000000")), ErrTenantNotAllowed},
		{"no tenant", "Bearer " + sign(t, jose.RS256, good, "k1", with(c, "tid", nil)), ErrMissingTenant},
		{"HS256", "Bearer " + sign(t, jose.HS256, []byte("a shared secret of thirty-two bytes!"), "k1", c), ErrAlgorithm},
		{"alg none", "Bearer " + unsigned, ErrAlgorithm},
		{"not a JWT", "Bearer not-a-token", ErrMalformed},
		{"no header", "", ErrMissingBearer},
		{"basic", "Basic YWxpY2U6YWxpY2U=", ErrMissingBearer},
		{"empty bearer", "Bearer ", ErrMissingBearer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/api/graph/notifications", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, err := v.Verify(context.Background(), r)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !strings.EqualFold(got.TenantID, tenant) || !strings.HasPrefix(got.Issuer, "https://") {
					t.Errorf("claims %+v", got)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if Reason(err) != tt.want {
				t.Errorf("Reason = %v, want %v", Reason(err), tt.want)
			}
		})
	}
}

// TestKeyFetches checks that keys are cached, that unknown key ids fetch
// the set again at most once per refresh interval, and that a rotated key
// is picked up.
func TestKeyFetches(t *testing.T) {
	good, other := testKeys(t)
	p := newPublisher(t, good, "k1")
	v := newVerifier(t, p)
	v.keys.minRefresh = time.Hour
	ctx := context.Background()
	tok := sign(t, jose.RS256, good, "k1", claims(time.Now()))
	for range 20 {
		if _, err := v.VerifyToken(ctx, tok); err != nil {
			t.Fatalf("VerifyToken: %v", err)
		}
	}
	if n := p.keyFetchs.Load(); n != 1 {
		t.Fatalf("%d key set fetches for 20 good tokens, want 1", n)
	}
	for i := range 20 {
		forged := sign(t, jose.RS256, other, "forged-"+string(rune('a'+i)), claims(time.Now()))
		if _, err := v.VerifyToken(ctx, forged); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("forged token: %v, want %v", err, ErrBadSignature)
		}
	}
	if n := p.keyFetchs.Load(); n != 1 {
		t.Fatalf("%d key set fetches after 20 forged tokens within the refresh interval, want 1", n)
	}

	// Rotation: the publisher replaces k1 by k2; once the refresh interval
	// allows, a token naming k2 fetches the new set.
	p.publish(other, "k2")
	v.keys.minRefresh = 0
	rotated := sign(t, jose.RS256, other, "k2", claims(time.Now()))
	if _, err := v.VerifyToken(ctx, rotated); err != nil {
		t.Fatalf("token signed with the rotated key: %v", err)
	}
	if _, err := v.VerifyToken(ctx, tok); !errors.Is(err, ErrBadSignature) {
		t.Errorf("token signed with the withdrawn key: %v, want %v", err, ErrBadSignature)
	}
}

func TestNew(t *testing.T) {
	good, _ := testKeys(t)
	p := newPublisher(t, good, "k1")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name     string
		cfg      Config
		ok       bool // New succeeds
		verifies bool // and a good token verifies
	}{
		{"discovery", Config{OpenIDConfigURL: p.configURL(), AppID: appID, TenantIDs: []string{tenant}}, true, true},
		{"explicit key set skips discovery", Config{OpenIDConfigURL: p.srv.URL + "/missing", JWKSURL: p.srv.URL + "/v1/keys", AppID: appID, TenantIDs: []string{tenant}}, true, true},
		{"no app id", Config{OpenIDConfigURL: p.configURL(), TenantIDs: []string{tenant}}, false, false},
		{"no tenant", Config{OpenIDConfigURL: p.configURL(), AppID: appID}, false, false},
		// The provider being down does not stop Switchboard from starting;
		// notifications are refused until its keys can be read.
		{"configuration missing", Config{OpenIDConfigURL: p.srv.URL + "/missing", AppID: appID, TenantIDs: []string{tenant}}, true, false},
		{"configuration without jwks_uri", Config{OpenIDConfigURL: p.srv.URL + "/no-jwks", AppID: appID, TenantIDs: []string{tenant}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = quiet
			v, err := New(context.Background(), tt.cfg)
			if !tt.ok {
				if err == nil {
					t.Fatal("New succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_, err = v.VerifyToken(context.Background(), sign(t, jose.RS256, good, "k1", claims(time.Now())))
			if tt.verifies && err != nil {
				t.Errorf("VerifyToken: %v", err)
			}
			if !tt.verifies && !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyToken without keys: %v, want %v", err, ErrBadSignature)
			}
		})
	}
}

// TestMiddleware checks over HTTP that refused notifications get 401 and
// never reach the handler.
func TestMiddleware(t *testing.T) {
	good, forger := testKeys(t)
	p := newPublisher(t, good, "k1")
	v := newVerifier(t, p)
	var reached atomic.Int32
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFrom(r.Context())
		if !ok || c.TenantID != tenant {
			t.Errorf("claims in context: %+v, %v", c, ok)
		}
		reached.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})))
	t.Cleanup(srv.Close)

	post := func(auth string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"value":[]}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, auth := range []string{"", "Bearer " + sign(t, jose.RS256, forger, "k1", claims(time.Now()))} {
		res := post(auth)
		if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("status %d, WWW-Authenticate %q; want 401 with a Bearer challenge", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
	}
	if reached.Load() != 0 {
		t.Fatalf("refused notifications reached the handler %d times", reached.Load())
	}
	if res := post("Bearer " + sign(t, jose.RS256, good, "k1", claims(time.Now()))); res.StatusCode != http.StatusAccepted {
		t.Errorf("good token: status %d, want 202", res.StatusCode)
	}
	if reached.Load() != 1 {
		t.Errorf("good notification reached the handler %d times, want 1", reached.Load())
	}
}

func TestInsecure(t *testing.T) {
	v := Insecure(slog.New(slog.NewTextHandler(io.Discard, nil)))
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	if _, err := v.Verify(context.Background(), r); err != nil {
		t.Errorf("insecure Verify: %v", err)
	}
}
