package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"switchboard/backend/apierror"
	"switchboard/backend/auth"
	"switchboard/backend/devidp"
	"switchboard/backend/notifyauth"
	"switchboard/backend/webui"
)

// identity is who may use the console and who may post notifications.
//
// Sign-in needs the identity provider's discovery document. The provider
// may be down when Switchboard starts, or (in the demo) be Switchboard
// itself, not yet listening; so discovery runs in the background with
// retries, and until it succeeds every door that needs a user answers 503
// and /readyz says why.
type identity struct {
	cfg      Config
	sessions *auth.Sessions
	idp      *devidp.Provider
	ready    atomic.Pointer[signIn]
}

// signIn is the identity provider's side, once discovery succeeded.
type signIn struct {
	auth   *auth.Auth
	routes http.Handler // /auth/* and /api/me
}

// demoClientID is the demo's registration at the development provider.
const demoClientID = "switchboard-demo-console"

// openIdentity opens the sessions and, in the demo, the development provider.
func (s *Server) openIdentity(ctx context.Context, mux *http.ServeMux) (*identity, error) {
	id := &identity{cfg: s.cfg}
	var err error
	id.sessions, err = auth.OpenSessions(ctx, s.nats.JS, auth.SessionOptions{IdleTimeout: s.cfg.IdleTimeout,
		AbsoluteTimeout: s.cfg.AbsoluteTimeout, Replicas: s.cfg.Replicas, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("server: sessions: %w", err)
	}
	if s.cfg.DevIdentity {
		if err := id.openDevProvider(ctx, s, mux); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// openDevProvider mounts the development identity provider under /idp and
// points sign-in at it.
func (id *identity) openDevProvider(ctx context.Context, s *Server, mux *http.ServeMux) error {
	secret := rand.Text()
	p, err := devidp.New(ctx, devidp.Config{Issuer: s.cfg.PublicURL + "/idp", ClientID: demoClientID, ClientSecret: secret,
		RedirectURIs:           []string{s.cfg.PublicURL + "/auth/callback"},
		PostLogoutRedirectURIs: []string{s.cfg.PublicURL + "/auth/logged-out"},
		Users:                  devidp.DemoUsers(), Logger: s.log.With("component", "devidp"),
		ShowUsers: s.cfg.Demo, Stylesheet: "/web/auth.css", Icon: "/web/icon.svg"})
	if err != nil {
		return fmt.Errorf("server: development identity provider: %w", err)
	}
	mux.Handle(p.MountPattern(), p.Handler())
	id.idp = p
	id.cfg.OIDCIssuer, id.cfg.OIDCClientID, id.cfg.OIDCClientSecret = p.Issuer(), demoClientID, secret
	for _, u := range p.Users() {
		s.log.Info("demo user", "username", u.Username, "password", u.Password, "roles", strings.Join(u.Roles, ","))
	}
	return nil
}

// discover retries the provider's discovery until it succeeds or ctx ends.
func (id *identity) discover(ctx context.Context, s *Server) {
	wait := 250 * time.Millisecond
	for ctx.Err() == nil {
		a, err := auth.New(ctx, auth.Config{Issuer: id.cfg.OIDCIssuer, ClientID: id.cfg.OIDCClientID,
			ClientSecret: id.cfg.OIDCClientSecret, PublicURL: id.cfg.PublicURL, Scopes: id.cfg.OIDCScopes,
			RoleClaim: id.cfg.RoleClaim, RoleMap: id.cfg.RoleMap, AllowedOrigins: id.cfg.AllowedOrigins,
			Audit: s.audit, Logger: s.log.With("component", "auth"), Floods: s.floods, Limits: id.cfg.Limits.rate(),
			ClientAddr: id.cfg.Limits.clientAddr(), MaxPendingSignIns: id.cfg.Limits.MaxPendingSignIns,
			MaxPendingSignInsPerClient: id.cfg.Limits.MaxPendingSignInsPerClient}, id.sessions)
		if err == nil {
			routes := http.NewServeMux()
			a.Routes(routes)
			id.ready.Store(&signIn{auth: a, routes: routes})
			s.gate.Set(condIdentity, "")
			s.log.Info("sign-in ready", "issuer", id.cfg.OIDCIssuer)
			return
		}
		s.log.Warn("identity provider not reachable yet; retrying", "issuer", id.cfg.OIDCIssuer, "err", err, "in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// notReady answers while discovery has not succeeded.
func notReady(w http.ResponseWriter) {
	apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "sign-in is not available yet: the identity provider has not answered; retry shortly")
}

// routes serves /auth/* and /api/me.
func (id *identity) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if si := id.ready.Load(); si != nil {
			si.routes.ServeHTTP(w, r)
			return
		}
		notReady(w)
	})
}

// require guards h with a role and, for state-changing methods, the
// same-origin check.
func (id *identity) require(need auth.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		si := id.ready.Load()
		if si == nil {
			notReady(w)
			return
		}
		si.auth.SameOrigin(si.auth.Require(need, h)).ServeHTTP(w, r)
	})
}

// pages sends a browser without a session from the console's pages to
// sign-in, from the server, before it loads any of the app; the resources
// every page loads (scripts, styles, icons, app.wasm) stay open.
func (id *identity) pages(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		si := id.ready.Load()
		if si == nil || !webui.IsPage(r) {
			h.ServeHTTP(w, r)
			return
		}
		si.auth.RequirePage(h).ServeHTTP(w, r)
	})
}

// guard adapts require to the role names of package actions.
func (id *identity) guard(need string, h http.Handler) http.Handler {
	role, err := auth.ParseRole(need)
	if err != nil {
		panic(fmt.Sprintf("server: route needs unknown role %q", need)) // a programming error
	}
	return id.require(role, h)
}

// feedAuthorizer lets a viewer open the feed from an allowed Origin, and
// names the session so that logging out closes it.
func (id *identity) feedAuthorizer(r *http.Request) (string, int, error) {
	si := id.ready.Load()
	if si == nil {
		return "", http.StatusServiceUnavailable, errors.New("sign-in is not available yet")
	}
	if err := si.auth.CheckOrigin(r); err != nil {
		return "", http.StatusForbidden, err
	}
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		return "", http.StatusUnauthorized, errors.New("log in first")
	}
	return u.SessionID, 0, nil
}

// actor names the signed-in user of a request.
func actor(r *http.Request) string {
	if u, ok := auth.UserFrom(r.Context()); ok {
		return u.Name
	}
	return ""
}

// sessionOf names the request's session, which holds its claims.
func sessionOf(r *http.Request) string {
	if u, ok := auth.UserFrom(r.Context()); ok {
		return u.SessionID
	}
	return ""
}

// formActions are the external origins logout may redirect to.
func (id *identity) formActions() []string {
	if si := id.ready.Load(); si != nil && si.auth.EndSessionURL() != "" {
		return []string{si.auth.EndSessionURL()}
	}
	return nil
}

// notificationVerifier checks Graph's (or the simulator's) bearer tokens.
func (s *Server) notificationVerifier(ctx context.Context) (*notifyauth.Verifier, error) {
	if s.cfg.InsecureSkipNotificationAuth {
		return notifyauth.Insecure(s.log), nil
	}
	v, err := notifyauth.New(ctx, notifyauth.Config{OpenIDConfigURL: s.cfg.NotifyOpenIDConfigURL, JWKSURL: s.cfg.NotifyJWKSURL,
		AppID: s.cfg.BotAppID, TenantIDs: s.cfg.NotifyTenants, Logger: s.log.With("component", "notifyauth")})
	if err != nil {
		return nil, fmt.Errorf("server: notification tokens: %w", err)
	}
	return v, nil
}

// tokenCheck adapts the token verifier to the webhook.
type tokenCheck struct{ v *notifyauth.Verifier }

func (t tokenCheck) Verify(ctx context.Context, r *http.Request) error {
	_, err := t.v.Verify(ctx, r)
	return err
}
