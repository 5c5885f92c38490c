// Package auth logs supervisors in with OpenID Connect and checks, on every
// request, who they are and what their role lets them do.
//
// Login is the authorization code flow with PKCE (S256), state and nonce,
// against any OpenID provider found by discovery: Entra ID, Keycloak, Dex,
// Google, or the demo's devidp. The ID token is verified with go-oidc; the
// user's role comes from a configurable claim ("roles" for Entra ID's app
// roles, "groups", or a nested claim such as Keycloak's
// "realm_access.roles") through a role map.
//
// Sessions live server-side in a NATS key-value bucket shared by every
// replica (see Sessions); the browser holds a random token in a cookie:
// "__Host-switchboard" (Secure, HttpOnly, SameSite=Lax, Path=/) when the
// public URL is https. Browsers refuse __Host- cookies without Secure, and
// Secure cookies over plain http, so a plain-http demo uses "switchboard"
// with the same attributes but Secure.
//
// The routes (see Auth.Routes):
//
//	GET  /auth/login?next=/path  start a login, then return to next
//	GET  /auth/callback          the provider's redirect back
//	POST /auth/logout            end the session (and the provider's)
//	GET  /auth/logged-out        where the provider sends the browser after logout
//	GET  /api/me                 who is logged in, and what they may do
//
// Handlers are protected with Require (JSON APIs, the websocket) and
// RequirePage (the console's pages); state-changing requests also go
// through SameOrigin, and the websocket checks CheckOrigin.
//
// Sign-in starts and failed callbacks count against the client's address
// (Config.Limits): beyond its allowance an address is answered 429 with
// Retry-After. Sign-ins in progress are capped per address and in all, and
// failures reach the audit trail a flood at a time (Config.Floods).
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"switchboard/backend/audit"
	"switchboard/backend/clientaddr"
	"switchboard/backend/ratelimit"
)

// Config says which provider to trust and how to read its tokens.
type Config struct {
	// Issuer is the provider's issuer URL, where discovery starts
	// (--oidc-issuer). Required.
	Issuer string
	// ClientID and ClientSecret are Switchboard's registration at the
	// provider. ClientID is required.
	ClientID, ClientSecret string
	// PublicURL is Switchboard's URL as browsers reach it; the redirect URI
	// is PublicURL + "/auth/callback". Required.
	PublicURL string
	// Scopes are requested besides openid, profile and email.
	Scopes []string
	// RoleClaim names the claim holding role values (default "roles"). A
	// dotted name reaches into an object.
	RoleClaim string
	// RoleMap maps claim values to roles (default DefaultRoleMap). A user
	// with several gets the highest.
	RoleMap map[string]Role
	// AllowedOrigins are origins, besides PublicURL's, whose pages may open
	// the feed and call state-changing APIs, such as
	// "https://console.example.com".
	AllowedOrigins []string
	// HTTPClient talks to the provider (default: a client with a 10 s
	// timeout).
	HTTPClient *http.Client
	// Audit receives every login, failed login and logout. Required.
	Audit audit.Recorder
	// Floods records failed and refused sign-ins, a flood from one address
	// as one entry per window. Nil records each failure through Audit, and
	// refusals not at all.
	Floods *audit.Floods
	// Limits bound, per client address, the sign-ins started and the
	// failed callbacks: beyond them the address is answered 429 with
	// Retry-After until its allowance refills.
	Limits ratelimit.Config
	// MaxPendingSignIns and MaxPendingSignInsPerClient cap the sign-ins
	// this replica started that are still in progress (they last ten
	// minutes unless completed), in all and per client address (defaults
	// DefaultMaxPendingSignIns and DefaultMaxPendingSignInsPerClient).
	MaxPendingSignIns, MaxPendingSignInsPerClient int
	// ClientAddr says which address a request comes from (default the
	// connection's peer; behind a trusted proxy, clientaddr.Resolver).
	ClientAddr func(*http.Request) netip.Addr
	// Logger receives logins and refusals (default slog.Default()).
	Logger *slog.Logger
}

// Auth is the login flow and the checks. It is safe for concurrent use.
type Auth struct {
	cfg        Config
	sessions   *Sessions
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string // the provider's end_session_endpoint, if any
	clientCtx  context.Context
	cookies    cookieNames
	public     string   // PublicURL's origin
	origins    []string // origins CheckOrigin accepts
	csrf       *http.CrossOriginProtection
	limit      *ratelimit.Limiter
	pending    *pending
	log        *slog.Logger
}

// New checks cfg and discovers the provider at cfg.Issuer. Discovery needs
// the provider to answer: an error here is worth retrying (the demo's
// devidp, served by the same server, answers once the server listens).
func New(ctx context.Context, cfg Config, sessions *Sessions) (*Auth, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if sessions == nil {
		return nil, errors.New("auth: sessions are required")
	}
	a := &Auth{cfg: cfg, sessions: sessions, log: cfg.Logger, limit: ratelimit.New(cfg.Limits),
		pending: newPending(cfg.MaxPendingSignIns, cfg.MaxPendingSignInsPerClient, loginLife, sessions.now)}
	if err := a.initOrigins(); err != nil {
		return nil, err
	}
	// go-oidc keeps this context for fetching keys later: it must carry the
	// HTTP client and outlive ctx.
	a.clientCtx = oidc.ClientContext(context.WithoutCancel(ctx), cfg.HTTPClient)
	discoverCtx, cancel := context.WithTimeout(oidc.ClientContext(ctx, cfg.HTTPClient), 30*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(discoverCtx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: discover OpenID provider %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("auth: read provider metadata: %w", err)
	}
	a.endSession = meta.EndSession
	a.verifier = provider.VerifierContext(a.clientCtx, &oidc.Config{ClientID: cfg.ClientID})
	a.oauth = oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  cfg.PublicURL + "/auth/callback",
		Scopes:       append([]string{oidc.ScopeOpenID, "profile", "email"}, cfg.Scopes...),
	}
	a.cookies = newCookieNames(strings.HasPrefix(cfg.PublicURL, "https://"))
	return a, nil
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Issuer == "":
		return c, errors.New("auth: the OpenID issuer is required")
	case c.ClientID == "":
		return c, errors.New("auth: the OpenID client id is required")
	case c.Audit == nil:
		return c, errors.New("auth: an audit recorder is required")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("auth: public URL %q must be an absolute http(s) URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.RoleClaim == "" {
		c.RoleClaim = "roles"
	}
	if len(c.RoleMap) == 0 {
		c.RoleMap = DefaultRoleMap()
	}
	for v, r := range c.RoleMap {
		if !r.Allows(Viewer) {
			return c, fmt.Errorf("auth: role map gives %q the unknown role %q", v, r)
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxPendingSignIns <= 0 {
		c.MaxPendingSignIns = DefaultMaxPendingSignIns
	}
	if c.MaxPendingSignInsPerClient <= 0 {
		c.MaxPendingSignInsPerClient = DefaultMaxPendingSignInsPerClient
	}
	if c.ClientAddr == nil {
		c.ClientAddr = clientaddr.Peer
	}
	return c, nil
}

// EndSessionURL is the provider's end_session_endpoint, or "" if it has
// none. Logout redirects there after a form POST, so the Content-Security-
// Policy's form-action must allow its origin (secheaders.Options.FormAction).
func (a *Auth) EndSessionURL() string { return a.endSession }

// Routes registers the login, logout and /api/me routes on mux.
func (a *Auth) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/login", a.serveLogin)
	mux.HandleFunc("GET /auth/callback", a.serveCallback)
	mux.Handle("POST /auth/logout", a.SameOrigin(http.HandlerFunc(a.serveLogout)))
	mux.HandleFunc("GET /auth/logged-out", a.serveLoggedOut)
	mux.Handle("GET /api/me", a.Require(Viewer, http.HandlerFunc(a.serveMe)))
}

// cookieNames are the cookies' names, which depend on https.
type cookieNames struct {
	session, login string
	secure         bool
}

// Cookie names. The __Host- prefix binds a cookie to this exact origin
// (Secure, Path=/, no Domain), so no sibling subdomain can set or shadow it;
// browsers accept it only over https.
const (
	SessionCookie     = "__Host-switchboard"
	SessionCookieHTTP = "switchboard"
	loginCookieHTTPS  = "__Host-switchboard-login"
	loginCookieHTTP   = "switchboard-login"
)

func newCookieNames(https bool) cookieNames {
	if https {
		return cookieNames{session: SessionCookie, login: loginCookieHTTPS, secure: true}
	}
	return cookieNames{session: SessionCookieHTTP, login: loginCookieHTTP}
}

// SessionCookieName is the name of the session cookie in use.
func (a *Auth) SessionCookieName() string { return a.cookies.session }

func (a *Auth) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		Secure:   a.cookies.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

func (a *Auth) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		Secure: a.cookies.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// record writes an audit entry, logging if the trail cannot be written.
func (a *Auth) record(ctx context.Context, r *http.Request, e audit.Entry) {
	e.Remote = a.cfg.ClientAddr(r).String()
	if err := a.cfg.Audit.Record(ctx, e); err != nil {
		a.log.Error("audit entry not recorded", "action", e.Action, "actor", e.Actor, "outcome", e.Outcome, "err", err)
	}
}

// hasSessionCookie reports whether r carries the session cookie.
func (a *Auth) hasSessionCookie(r *http.Request) bool {
	return slices.ContainsFunc(r.CookiesNamed(a.cookies.session), func(c *http.Cookie) bool { return c.Value != "" })
}
