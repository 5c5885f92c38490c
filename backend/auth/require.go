package auth

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"switchboard/backend/apierror"
	"switchboard/backend/audit"
)

// User is who made a request, as Require and RequirePage put it in the
// request's context.
type User struct {
	// Subject is the provider's stable id of the user ("sub").
	Subject string
	// Name is preferred_username, or name, email or sub when missing; the
	// audit trail's actor.
	Name  string
	Email string
	Role  Role
	// SessionID identifies the session, as WatchEnded reports its end.
	SessionID string
}

type userKey struct{}

// UserFrom returns the user Require or RequirePage put in ctx.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// WithUser returns a copy of ctx carrying u, for handlers tested without a
// login.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// session returns r's live session and records its use.
func (a *Auth) session(r *http.Request) (Session, error) {
	sess, err := a.sessions.Get(r.Context(), cookieValue(r, a.cookies.session))
	if err != nil {
		return Session{}, err
	}
	touched, err := a.sessions.Touch(r.Context(), sess)
	if err != nil {
		a.log.Warn("session use not recorded", "session", sess.ID, "err", err)
	}
	return touched, nil
}

// Require lets through to next only requests of a live session whose role
// allows need, with the User in the context. Others get a JSON error: 401
// unauthenticated without a live session, 403 forbidden when the role falls
// short (saying why), 503 when sessions cannot be read. Use it for the JSON
// API and the websocket feed.
func (a *Auth) Require(need Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := a.session(r)
		switch {
		case errors.Is(err, ErrNoSession):
			apierror.Write(w, http.StatusUnauthorized, "unauthenticated", "sign in first: no session, or it has ended")
			return
		case err != nil:
			a.log.Error("session check failed", "err", err)
			apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "sessions cannot be checked now")
			return
		case !sess.Role.Allows(need):
			apierror.Write(w, http.StatusForbidden, "forbidden", sess.Role.refusal(need))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), sess.User())))
	})
}

// RequirePage protects the console's pages: a browser without a live
// session is sent to /auth/login and brought back afterwards. Every role
// may see the console; users without a role never get a session (the
// callback shows them why).
func (a *Auth) RequirePage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := a.session(r)
		switch {
		case errors.Is(err, ErrNoSession) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, "/auth/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		case errors.Is(err, ErrNoSession):
			apierror.Write(w, http.StatusUnauthorized, "unauthenticated", "sign in first: no session, or it has ended")
			return
		case err != nil:
			a.log.Error("session check failed", "err", err)
			renderPage(w, http.StatusServiceUnavailable, page{Title: "Unavailable", Message: "Switchboard cannot check your session right now. Try again in a moment."})
			return
		case !sess.Role.Allows(Viewer):
			renderPage(w, http.StatusForbidden, a.noRolePage(sess.Name, nil))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), sess.User())))
	})
}

// Me is the JSON answer of GET /api/me.
type Me struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Role  Role   `json:"role"`
	// Permissions are what the role allows (see Role.Permissions).
	Permissions []string `json:"permissions"`
	// LogoutURL is where the console POSTs to log out.
	LogoutURL string `json:"logoutUrl"`
}

func (a *Auth) serveMe(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(Me{Name: u.Name, Email: u.Email, Role: u.Role, Permissions: u.Role.Permissions(), LogoutURL: "/auth/logout"})
}

// LogoutResponse is the JSON answer of POST /auth/logout to a request that
// accepts JSON: the console then sends the browser to Redirect.
type LogoutResponse struct {
	Redirect string `json:"redirect"`
}

// serveLogout ends the session on every replica (its websockets close
// through WatchEnded), clears the cookie, and sends the browser to the
// provider's end-session endpoint when it has one, else to
// /auth/logged-out. A form POST gets a 303 redirect; a request that accepts
// application/json (fetch from the console) gets a LogoutResponse, as fetch
// cannot follow a redirect to another origin.
func (a *Auth) serveLogout(w http.ResponseWriter, r *http.Request) {
	redirect := "/auth/logged-out"
	sess, err := a.sessions.Get(r.Context(), cookieValue(r, a.cookies.session))
	switch {
	case errors.Is(err, ErrNoSession):
		// Already over: nothing to end, nobody to record.
	case err != nil:
		a.log.Error("logout: session not read", "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "sessions cannot be ended now: try again")
		return
	default:
		if err := a.sessions.End(r.Context(), sess.ID); err != nil {
			a.record(r.Context(), r, audit.Entry{Actor: sess.Name, Action: audit.ActionLogout, Outcome: err.Error()})
			apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the session could not be ended: try again")
			return
		}
		a.log.Info("logout", "user", sess.Name, "session", sess.ID)
		a.record(r.Context(), r, audit.Entry{Actor: sess.Name, Action: audit.ActionLogout, Outcome: audit.OutcomeOK})
		if a.endSession != "" {
			redirect = a.endSessionURL(sess.IDToken)
		}
	}
	a.clearCookie(w, a.cookies.session)
	if acceptsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(LogoutResponse{Redirect: redirect})
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// acceptsJSON reports whether r's Accept header names application/json.
func acceptsJSON(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}
