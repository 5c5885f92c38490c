package graphsim

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Values of notification tokens, as Graph signs them.
const (
	// NotificationIssuer is the "iss" of notification tokens and the issuer
	// of the OpenID configuration.
	NotificationIssuer = "https://graph.microsoft.com"
	// GraphAppID is Graph's own app id, the "appid" of notification tokens.
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	// notificationTokenLife is how long a notification token is valid.
	notificationTokenLife = time.Hour
)

// signingKeys holds the simulator's RSA key: it signs notification tokens and
// access tokens, and is published as a JWKS.
type signingKeys struct {
	public *rsa.PublicKey
	signer jose.Signer
	jwks   []byte
}

func newSigningKeys(key *rsa.PrivateKey) (*signingKeys, error) {
	pub := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("graphsim: key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("graphsim: signer: %w", err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, fmt.Errorf("graphsim: marshal key set: %w", err)
	}
	return &signingKeys{public: &key.PublicKey, signer: signer, jwks: jwks}, nil
}

// sign returns a compact RS256 JWT of claims.
func (k *signingKeys) sign(claims any) (string, error) {
	tok, err := jwt.Signed(k.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// verify checks token's RS256 signature and decodes its claims into dest.
func (k *signingKeys) verify(token string, dest ...any) error {
	t, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fmt.Errorf("parse token: %w", err)
	}
	if err := t.Claims(k.public, dest...); err != nil {
		return fmt.Errorf("token signature: %w", err)
	}
	return nil
}

// notificationClaims are the claims of the Bearer token on notifications.
type notificationClaims struct {
	jwt.Claims
	TenantID string `json:"tid"`
	AppID    string `json:"appid"`
}

// notificationTokenReuse is how long one signed notification token is
// reused before a fresh one is signed: RSA signing would otherwise bound
// how many notifications a second the simulator can send.
const notificationTokenReuse = 5 * time.Minute

// tokenCache holds the notification token in use.
type tokenCache struct {
	mu     sync.Mutex
	token  string
	signed time.Time
}

// notificationToken returns the token for a notification POST at now,
// signing a fresh one when the cached one is older than notificationTokenReuse.
func (s *Sim) notificationToken(now time.Time) (string, error) {
	c := &s.notifyToken
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && now.Sub(c.signed) < notificationTokenReuse && !now.Before(c.signed) {
		return c.token, nil
	}
	tok, err := s.signNotificationToken(now)
	if err != nil {
		return "", err
	}
	c.token, c.signed = tok, now
	return tok, nil
}

// signNotificationToken signs a token valid for an hour from now.
func (s *Sim) signNotificationToken(now time.Time) (string, error) {
	return s.keys.sign(notificationClaims{
		Claims: jwt.Claims{
			Issuer:    NotificationIssuer,
			Audience:  jwt.Audience{s.cfg.AppID},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			Expiry:    jwt.NewNumericDate(now.Add(notificationTokenLife)),
		},
		TenantID: s.cfg.TenantID,
		AppID:    GraphAppID,
	})
}

// openIDConfig is the discovery document of notification tokens.
type openIDConfig struct {
	Issuer  string   `json:"issuer"`
	JWKSURI string   `json:"jwks_uri"`
	Algs    []string `json:"id_token_signing_alg_values_supported"`
}

func (s *Sim) serveOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	base := s.publicBase()
	if base == "" {
		base = "http://" + r.Host
	}
	writeJSON(w, http.StatusOK, openIDConfig{
		Issuer:  NotificationIssuer,
		JWKSURI: base + JWKSPath,
		Algs:    []string{string(jose.RS256)},
	})
}

func (s *Sim) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.keys.jwks)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// NotificationToken returns a bearer token exactly like the one on the
// simulator's own notifications, so a test or a load tool can post
// hand-made notification bodies that pass the webhook's verification.
func (s *Sim) NotificationToken() (string, error) {
	return s.notificationToken(time.Now())
}
