// Package notifyauth verifies the Bearer tokens on Graph's change
// notifications, so only Graph (or the simulator, which signs the same way)
// can tell Switchboard about calls.
//
// Microsoft's calling samples verify the token against an OpenID
// configuration published for the purpose (by default
// https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration): an RS256
// signature by one of its keys, an issuer of https://graph.microsoft.com or
// https://api.botframework.com, the bot's app id as audience, and a tenant id
// claim. This package does the same with go-oidc, and also requires the
// tenant to be one the bot serves.
//
// The configuration document's own issuer does not match the tokens' issuers,
// so it is fetched directly rather than through go-oidc's discovery. Its keys
// are cached; a token naming an unknown key fetches the key set again at most
// once a minute, so forged tokens arriving at the public webhook cannot make
// Switchboard hammer the key endpoint.
package notifyauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Defaults of Config.
const (
	// DefaultOpenIDConfigURL is where Microsoft publishes the keys that sign
	// notification tokens.
	DefaultOpenIDConfigURL = "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration"
	// IssuerGraph and IssuerBotFramework are the issuers of notification tokens.
	IssuerGraph        = "https://graph.microsoft.com"
	IssuerBotFramework = "https://api.botframework.com"
)

// Config says which tokens to accept.
type Config struct {
	// OpenIDConfigURL is the OpenID configuration document naming the key
	// set (default DefaultOpenIDConfigURL).
	OpenIDConfigURL string
	// JWKSURL, when set, is the key set itself and the configuration
	// document is not read.
	JWKSURL string
	// Issuers are the accepted "iss" values (default IssuerGraph and
	// IssuerBotFramework).
	Issuers []string
	// AppID is the bot's application (client) id, the tokens' audience.
	// Required.
	AppID string
	// TenantIDs are the tenants whose notifications are accepted: the "tid"
	// claim must be one of them. Required.
	TenantIDs []string
	// HTTPClient fetches the configuration and keys (default: a client with
	// a 10 s timeout).
	HTTPClient *http.Client
	// Logger receives refused tokens (default slog.Default()).
	Logger *slog.Logger
}

// Claims are what a verified token says.
type Claims struct {
	Issuer   string
	Audience []string
	Subject  string
	// TenantID is the "tid" claim: the tenant the notification is about.
	TenantID string
	// AppID is the "appid" claim: the application that sent it (Graph's own
	// id for Graph).
	AppID    string
	IssuedAt time.Time
	Expiry   time.Time
}

// The reasons a token is refused. Verify's errors wrap one of them, with
// details.
var (
	ErrMissingBearer    = errors.New("no Bearer token")
	ErrMalformed        = errors.New("malformed token")
	ErrAlgorithm        = errors.New("token not signed with RS256")
	ErrBadSignature     = errors.New("bad signature")
	ErrWrongIssuer      = errors.New("wrong issuer")
	ErrWrongAudience    = errors.New("wrong audience")
	ErrExpired          = errors.New("token expired")
	ErrNotYetValid      = errors.New("token not yet valid")
	ErrMissingTenant    = errors.New("no tenant id claim")
	ErrTenantNotAllowed = errors.New("tenant not allowed")
	ErrInvalid          = errors.New("invalid token")
	errReasons          = []error{ErrMissingBearer, ErrMalformed, ErrAlgorithm, ErrBadSignature, ErrWrongIssuer, ErrWrongAudience, ErrExpired, ErrNotYetValid, ErrMissingTenant, ErrTenantNotAllowed, ErrInvalid}
)

// Reason returns the sentinel error err wraps, for a short answer to the
// sender; the full error is for the logs. It returns ErrInvalid for errors
// of unknown origin.
func Reason(err error) error {
	for _, r := range errReasons {
		if errors.Is(err, r) {
			return r
		}
	}
	return ErrInvalid
}

// Verifier checks notification tokens. It is safe for concurrent use.
type Verifier struct {
	cfg       Config
	keys      *keySet
	verifiers map[string]*oidc.IDTokenVerifier
	insecure  bool
	log       *slog.Logger
	// lastWarn is when the insecure verifier last warned (unix nanoseconds):
	// once a minute is loud enough and keeps a load test's log readable.
	lastWarn atomic.Int64
}

// New reads the OpenID configuration (unless cfg.JWKSURL is set) and returns
// a Verifier. Keys are fetched at the first verification. An error reaching
// the configuration is worth retrying.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Nothing is fetched here: the keys (and, without JWKSURL, the OpenID
	// configuration naming them) are fetched when the first notification
	// needs them, and again at most once a minute while that fails, so
	// Switchboard starts even while Microsoft's endpoint does not answer.
	keys := newKeySet(cfg.HTTPClient, cfg.OpenIDConfigURL, cfg.JWKSURL, cfg.Logger)
	v := &Verifier{cfg: cfg, keys: keys, verifiers: map[string]*oidc.IDTokenVerifier{}, log: cfg.Logger}
	for _, iss := range cfg.Issuers {
		v.verifiers[iss] = oidc.NewVerifier(iss, keys, &oidc.Config{
			ClientID:             cfg.AppID,
			SupportedSigningAlgs: []string{oidc.RS256},
		})
	}
	return v, nil
}

// Insecure returns a Verifier that accepts every request, token or not, for
// local experiments with a webhook no one else can reach. It logs a loud
// warning now and at every request it lets through.
func Insecure(log *slog.Logger) *Verifier {
	if log == nil {
		log = slog.Default()
	}
	log.Error("NOTIFICATION AUTHENTICATION IS OFF: anyone who reaches the webhook can invent call events; use this only for local experiments")
	return &Verifier{insecure: true, log: log}
}

func (c Config) withDefaults() (Config, error) {
	if strings.TrimSpace(c.AppID) == "" {
		return c, errors.New("notifyauth: the bot's app id is required (the tokens' audience)")
	}
	if len(c.TenantIDs) == 0 {
		return c, errors.New("notifyauth: at least one tenant id is required")
	}
	if c.OpenIDConfigURL == "" {
		c.OpenIDConfigURL = DefaultOpenIDConfigURL
	}
	if len(c.Issuers) == 0 {
		c.Issuers = []string{IssuerGraph, IssuerBotFramework}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// discoverKeys reads the jwks_uri of the OpenID configuration at configURL.
func discoverKeys(ctx context.Context, client *http.Client, configURL string) (string, error) {
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, client, configURL, &doc); err != nil {
		return "", fmt.Errorf("notifyauth: OpenID configuration: %w", err)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("notifyauth: OpenID configuration %s has no jwks_uri", configURL)
	}
	return doc.JWKSURI, nil
}

// getJSON GETs url and decodes its JSON body (at most 1 MiB) into v.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s", url, res.Status)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", url, err)
	}
	return nil
}

// Verify checks the Bearer token of a notification request r and returns
// its claims. The error wraps one of the Err* reasons.
func (v *Verifier) Verify(ctx context.Context, r *http.Request) (Claims, error) {
	if v.insecure {
		now := time.Now().UnixNano()
		if last := v.lastWarn.Load(); now-last > int64(time.Minute) && v.lastWarn.CompareAndSwap(last, now) {
			v.log.Warn("notifications accepted without authentication (warned once a minute)", "remote", r.RemoteAddr)
		}
		return Claims{}, nil
	}
	raw, err := bearer(r)
	if err != nil {
		return Claims{}, err
	}
	return v.VerifyToken(ctx, raw)
}

// VerifyToken checks a raw token, as Verify does.
func (v *Verifier) VerifyToken(ctx context.Context, raw string) (Claims, error) {
	if v.insecure {
		return Claims{}, nil
	}
	if err := checkAlgorithm(raw); err != nil {
		return Claims{}, err
	}
	payload, err := v.keys.VerifySignature(ctx, raw)
	if err != nil {
		return Claims{}, err
	}
	var c rawClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	verifier, ok := v.verifiers[c.Issuer]
	if !ok {
		return Claims{}, fmt.Errorf("%w: %q is not one of %q", ErrWrongIssuer, c.Issuer, v.cfg.Issuers)
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Claims{}, v.classify(err, c)
	}
	return v.checkTenant(Claims{
		Issuer: tok.Issuer, Audience: tok.Audience, Subject: tok.Subject,
		TenantID: c.TenantID, AppID: c.AppID, IssuedAt: tok.IssuedAt, Expiry: tok.Expiry,
	})
}

// rawClaims are the claims read before go-oidc's checks, to choose the
// issuer's verifier and to explain a refusal.
type rawClaims struct {
	Issuer    string      `json:"iss"`
	Audience  audience    `json:"aud"`
	NotBefore json.Number `json:"nbf"`
	TenantID  string      `json:"tid"`
	AppID     string      `json:"appid"`
}

// audience is "aud", which JWTs carry as a string or an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud is neither a string nor a list of strings: %w", err)
	}
	*a = many
	return nil
}

// classify turns go-oidc's error for a token with a good signature and a
// known issuer into a reason.
func (v *Verifier) classify(err error, c rawClaims) error {
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return fmt.Errorf("%w at %s", ErrExpired, expired.Expiry.UTC().Format(time.RFC3339))
	case !slices.Contains(c.Audience, v.cfg.AppID):
		return fmt.Errorf("%w: %q, want %q", ErrWrongAudience, []string(c.Audience), v.cfg.AppID)
	case c.NotBefore != "":
		return fmt.Errorf("%w: %v", ErrNotYetValid, err)
	default:
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
}

func (v *Verifier) checkTenant(c Claims) (Claims, error) {
	if c.TenantID == "" {
		return Claims{}, ErrMissingTenant
	}
	for _, t := range v.cfg.TenantIDs {
		if strings.EqualFold(t, c.TenantID) {
			return c, nil
		}
	}
	return Claims{}, fmt.Errorf("%w: %s", ErrTenantNotAllowed, c.TenantID)
}

// bearer returns the token of r's Authorization: Bearer header.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", fmt.Errorf("%w: no Authorization header", ErrMissingBearer)
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", fmt.Errorf("%w: Authorization is not a Bearer token", ErrMissingBearer)
	}
	return tok, nil
}

// checkAlgorithm reads the token's header and refuses any algorithm but
// RS256, saying which one it was.
func checkAlgorithm(raw string) error {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return fmt.Errorf("%w: not a compact JWT", ErrMalformed)
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != oidc.RS256 {
		return fmt.Errorf("%w: alg is %q", ErrAlgorithm, h.Alg)
	}
	return nil
}
