// Package devidp is the development OpenID provider of the demo and the
// tests: a complete OpenID Connect provider from zitadel's op library, with
// its users, one client and all state in memory, and a plain HTML login form.
// Switchboard logs in to it exactly as it logs in to Entra ID, Keycloak or
// any other provider: authorization code with PKCE, signed ID tokens,
// discovery, end session.
//
// It exists for `--demo` and for tests on loopback. It keeps passwords in
// clear, forgets everything on restart and has no rate limits: never put it
// in front of real users.
//
// Mount the Handler at the issuer's path, as the browser sees it; the
// handler strips that path itself:
//
//	p, err := devidp.New(ctx, devidp.Config{Issuer: "http://localhost:8080/idp", …})
//	mux.Handle("/idp/", p.Handler())
//
// Its pages live under the issuer: /idp/login (the form, with inputs named
// username and password), /idp/logged-out, and the provider's endpoints
// (/idp/.well-known/openid-configuration, /idp/authorize, /idp/oauth/token,
// /idp/keys, /idp/userinfo, /idp/end_session, …).
package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is an account of the provider.
type User struct {
	// Username and Password are what the login form asks for.
	Username, Password string
	// Subject is the stable "sub" claim (default "user-" + Username).
	Subject string
	// Name and Email are the "name" and "email" claims.
	Name, Email string
	// Roles are the values of the role claim, such as
	// "Switchboard.Supervisor".
	Roles []string
	// Hint says what the user may do, for the sign-in page's list of demo
	// users (Config.ShowUsers).
	Hint string
}

// Config describes the provider, its one client and its users.
type Config struct {
	// Issuer is the provider's URL as browsers and Switchboard reach it,
	// for example http://localhost:8080/idp. Required.
	Issuer string
	// ClientID and ClientSecret identify Switchboard. Required.
	ClientID, ClientSecret string
	// RedirectURIs are the client's allowed login redirects, such as
	// http://localhost:8080/auth/callback. At least one is required.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the end-session endpoint may send
	// the browser after logout.
	PostLogoutRedirectURIs []string
	// Users are the accounts. At least one is required.
	Users []User
	// RoleClaim names the claim that carries User.Roles (default "roles",
	// as Entra ID's app roles).
	RoleClaim string
	// Logger receives sign-in events (default slog.Default()).
	Logger *slog.Logger
	// ShowUsers lists the users and their passwords on the sign-in page:
	// for a demo, where they are no secret; never otherwise.
	ShowUsers bool
	// Stylesheet and Icon are the URLs of the pages' style sheet and icon
	// (Switchboard's, on the same origin); empty leaves the pages plain.
	Stylesheet, Icon string
}

// Provider is a running development OpenID provider.
type Provider struct {
	cfg     Config
	path    string // the issuer's path, without a trailing slash
	store   *storage
	op      *op.Provider
	handler http.Handler
}

// New checks cfg and builds the provider. It generates a fresh signing key:
// tokens from an earlier run do not verify.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	cfg, issuer, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if host := issuer.Hostname(); !isLoopback(host) {
		cfg.Logger.Warn("the development identity provider is reachable beyond this machine; it is for demos only", "issuer", cfg.Issuer)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: signing key: %w", err)
	}
	p := &Provider{cfg: cfg, path: strings.TrimSuffix(issuer.Path, "/")}
	p.store, err = newStorage(cfg, key, p.path+"/login")
	if err != nil {
		return nil, err
	}
	p.op, err = newOP(cfg, p.store, p.path)
	if err != nil {
		return nil, err
	}
	p.handler = p.routes()
	return p, nil
}

func (c Config) withDefaults() (Config, *url.URL, error) {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return c, nil, fmt.Errorf("devidp: issuer %q must be an absolute http(s) URL without query", c.Issuer)
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	switch {
	case c.ClientID == "" || c.ClientSecret == "":
		return c, nil, errors.New("devidp: a client id and secret are required")
	case len(c.RedirectURIs) == 0:
		return c, nil, errors.New("devidp: at least one redirect URI is required")
	case len(c.Users) == 0:
		return c, nil, errors.New("devidp: at least one user is required")
	}
	if c.RoleClaim == "" {
		c.RoleClaim = "roles"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newOP builds zitadel's OpenID provider on store.
func newOP(cfg Config, store *storage, path string) (*op.Provider, error) {
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("devidp: token encryption key: %w", err)
	}
	opts := []op.Option{}
	if strings.HasPrefix(cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              "devidp",
		DefaultLogoutRedirectURI: path + "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.English},
	}, store, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: provider: %w", err)
	}
	return provider, nil
}

// routes joins the login pages and the provider's endpoints, under the
// issuer's path.
func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.serveLoginForm)
	mux.Handle("POST /login", op.NewIssuerInterceptor(p.op.IssuerFromRequest).HandlerFunc(p.serveLogin))
	mux.HandleFunc("GET /logged-out", p.serveLoggedOut)
	mux.Handle("/end_session", op.NewIssuerInterceptor(p.op.IssuerFromRequest).Handler(p.forgiveStaleHint(p.op)))
	mux.Handle("/", p.op)
	if p.path == "" {
		return mux
	}
	return http.StripPrefix(p.path, mux)
}

// forgiveStaleHint drops an id_token_hint that no longer verifies (signed
// with the key of an earlier run: the provider makes a new one at each
// start) from an end-session request, which then ends the session by its
// client_id and returns to its post_logout_redirect_uri as usual, instead
// of stopping on the provider's error page.
func (p *Provider) forgiveStaleHint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if hint := q.Get("id_token_hint"); hint != "" {
			_, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](r.Context(), hint, p.op.IDTokenHintVerifier(r.Context()))
			if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
				p.cfg.Logger.Info("devidp: ignoring an id_token_hint this run did not sign", "err", err)
				q.Del("id_token_hint")
				r = r.Clone(r.Context())
				r.URL.RawQuery = q.Encode()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Handler serves the provider. Mount it at the issuer's path (see the
// package documentation); it expects request paths as the browser sent
// them, issuer path included.
func (p *Provider) Handler() http.Handler { return p.handler }

// Issuer is the provider's issuer URL, without a trailing slash.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// MountPattern is the ServeMux pattern to mount Handler at: the issuer's
// path with a trailing slash, "/" for an issuer without path.
func (p *Provider) MountPattern() string { return p.path + "/" }

// Users returns the provider's accounts.
func (p *Provider) Users() []User { return append([]User(nil), p.cfg.Users...) }

// Role claim values of DemoUsers, matching Switchboard's default role map.
const (
	DemoRoleViewer     = "Switchboard.Viewer"
	DemoRoleSupervisor = "Switchboard.Supervisor"
	DemoRoleAdmin      = "Switchboard.Admin"
)

// DemoUsers are the demo's accounts; each password is the user name:
// alice (supervisor), victor (viewer) and ada (admin).
func DemoUsers() []User {
	return []User{
		{Username: "alice", Password: "alice", Name: "Alice Supervisor", Email: "alice@example.com", Roles: []string{DemoRoleSupervisor},
			Hint: "supervisor: answers, rejects, redirects, transfers, hangs up"},
		{Username: "victor", Password: "victor", Name: "Victor Viewer", Email: "victor@example.com", Roles: []string{DemoRoleViewer},
			Hint: "viewer: sees calls"},
		{Username: "ada", Password: "ada", Name: "Ada Admin", Email: "ada@example.com", Roles: []string{DemoRoleAdmin},
			Hint: "admin: also deletes conversations, reads the audit trail"},
	}
}
