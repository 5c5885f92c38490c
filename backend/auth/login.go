package auth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"switchboard/backend/audit"
	"switchboard/backend/ratelimit"
)

// serveLogin starts a login: it stores a fresh state, nonce and PKCE
// verifier for the callback, binds them to this browser with the login
// cookie, and sends the browser to the provider.
//
// Every start counts against the client's address, and the sign-ins in
// progress are capped per address and in all: beyond, 429 (or 503 for the
// total) with Retry-After, and nothing is stored.
func (a *Auth) serveLogin(w http.ResponseWriter, r *http.Request) {
	from := a.cfg.ClientAddr(r)
	if wait, ok := a.limit.Spend(from); !ok {
		a.refuse(w, r, refusal{kind: kindStarts, from: from, status: http.StatusTooManyRequests, wait: wait,
			reason: "too many sign-ins from this address", message: "Too many sign-ins came from your address."})
		return
	}
	slot, full := a.pending.admit(ratelimit.Key(from))
	if full != nil {
		a.refusePending(w, r, from, full)
		return
	}
	attempt := loginAttempt{
		State:    newToken(),
		Nonce:    newToken(),
		Verifier: oauth2.GenerateVerifier(),
		Next:     safeNext(r.URL.Query().Get("next")),
	}
	token, err := a.sessions.saveLogin(r.Context(), attempt)
	if err != nil {
		a.pending.abandon(slot)
		a.log.Error("login not started", "err", err)
		renderPage(w, http.StatusServiceUnavailable, page{
			Title:   "Sign-in unavailable",
			Message: "Switchboard cannot start a sign-in right now. Try again in a moment.",
			Links:   []link{{"/auth/login", "Try again"}},
		})
		return
	}
	a.pending.started(slot, idOf(token))
	a.setCookie(w, a.cookies.login, token, loginLife)
	http.Redirect(w, r, a.oauth.AuthCodeURL(attempt.State,
		oidc.Nonce(attempt.Nonce), oauth2.S256ChallengeOption(attempt.Verifier)), http.StatusFound)
}

// safeNext keeps next if it is a path on this server, and "/" otherwise, so
// a login link cannot send the user to another site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/auth/") {
		return "/"
	}
	return u.RequestURI()
}

// identity is who the provider says logged in.
type identity struct {
	Subject, Name, Email string
	Role                 Role
	IDToken              string
}

// loginFailure is a failed callback: what to record and what to show.
type loginFailure struct {
	status int
	actor  string // who, once the ID token is verified
	reason string // for the audit trail and the log
	page   page
}

func (f *loginFailure) Error() string { return f.reason }

// failed is a loginFailure whose page offers to sign in again.
func failed(status int, reason, message string) *loginFailure {
	return &loginFailure{status: status, reason: reason, page: page{
		Title: "Sign-in failed", Message: message, Links: []link{{"/auth/login", "Sign in again"}},
	}}
}

// serveCallback completes a login: it checks the state, exchanges the code
// with the PKCE verifier, verifies the ID token and its nonce, reads the
// role, and creates a session with a new id.
//
// A failed callback counts against the client's address; an address over
// its limit is refused unchecked (429 with Retry-After).
func (a *Auth) serveCallback(w http.ResponseWriter, r *http.Request) {
	a.clearCookie(w, a.cookies.login)
	from := a.cfg.ClientAddr(r)
	if wait, blocked := a.limit.Blocked(from); blocked {
		a.refuse(w, r, refusal{kind: kindFailed, from: from, status: http.StatusTooManyRequests, wait: wait,
			reason: "too many failed sign-ins from this address", message: "Too many failed sign-ins came from your address."})
		return
	}
	id, next, err := a.completeLogin(r)
	if err != nil {
		a.refuseLogin(w, r, err)
		return
	}
	if old := cookieValue(r, a.cookies.session); old != "" {
		if err := a.sessions.End(r.Context(), idOf(old)); err != nil {
			a.log.Warn("previous session not ended at login", "err", err)
		}
	}
	token, sess, err := a.sessions.Create(r.Context(), Session{
		Subject: id.Subject, Name: id.Name, Email: id.Email, Role: id.Role, IDToken: id.IDToken,
	})
	if err != nil {
		a.refuseLogin(w, r, &loginFailure{status: http.StatusServiceUnavailable, actor: id.Name, reason: err.Error(), page: page{
			Title: "Sign-in unavailable", Message: "Switchboard cannot keep your session right now. Try again in a moment.",
			Links: []link{{"/auth/login", "Sign in again"}},
		}})
		return
	}
	a.setCookie(w, a.cookies.session, token, a.sessions.opts.AbsoluteTimeout)
	a.log.Info("login", "user", id.Name, "role", id.Role, "session", sess.ID)
	a.record(r.Context(), r, audit.Entry{Actor: id.Name, Action: audit.ActionLogin, Outcome: audit.OutcomeOK, Detail: "role " + string(id.Role)})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (a *Auth) refuseLogin(w http.ResponseWriter, r *http.Request, err error) {
	var f *loginFailure
	if !errors.As(err, &f) {
		f = failed(http.StatusInternalServerError, err.Error(), "Something went wrong during sign-in.")
	}
	actor := f.actor
	if actor == "" {
		actor = "unknown"
	}
	from := a.cfg.ClientAddr(r)
	if f.status != http.StatusServiceUnavailable && f.status != http.StatusInternalServerError {
		a.limit.Spend(from) // the server's own trouble is not the client's failure
	}
	a.log.Warn("login failed", "user", actor, "reason", f.reason, "remote", from)
	a.failed(r.Context(), r, audit.Failure{Kind: kindFailed, From: ratelimit.Key(from),
		Entry: audit.Entry{Actor: actor, Action: audit.ActionLoginFailed, Outcome: f.reason}})
	renderPage(w, f.status, f.page)
}

// completeLogin checks the callback request and returns who logged in and
// where they were going.
func (a *Auth) completeLogin(r *http.Request) (identity, string, error) {
	q := r.URL.Query()
	cookie := cookieValue(r, a.cookies.login)
	if cookie != "" {
		a.pending.done(idOf(cookie)) // used up, whatever follows
	}
	attempt, err := a.sessions.takeLogin(r.Context(), cookie)
	if errors.Is(err, errNoLogin) {
		return identity{}, "", failed(http.StatusBadRequest, "no sign-in in progress in this browser: "+err.Error(),
			"This sign-in was not started in this browser, has expired, or was already used.")
	}
	if err != nil {
		return identity{}, "", failed(http.StatusServiceUnavailable, err.Error(), "Switchboard cannot complete sign-ins right now.")
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(attempt.State)) != 1 {
		return identity{}, "", failed(http.StatusBadRequest, "state mismatch", "This sign-in answer does not belong to the sign-in this browser started.")
	}
	if e := q.Get("error"); e != "" {
		return identity{}, "", failed(http.StatusUnauthorized, fmt.Sprintf("provider refused: %s: %s", e, q.Get("error_description")),
			"The identity provider refused the sign-in: "+e+".")
	}
	id, err := a.redeem(r, q.Get("code"), attempt)
	return id, attempt.Next, err
}

// redeem exchanges code for tokens and reads the verified ID token.
func (a *Auth) redeem(r *http.Request, code string, attempt loginAttempt) (identity, error) {
	if code == "" {
		return identity{}, failed(http.StatusBadRequest, "callback without code", "The identity provider's answer has no authorization code.")
	}
	ctx := oidc.ClientContext(r.Context(), a.cfg.HTTPClient)
	tok, err := a.oauth.Exchange(ctx, code, oauth2.VerifierOption(attempt.Verifier))
	if err != nil {
		return identity{}, failed(http.StatusBadGateway, "code exchange failed: "+err.Error(), "The identity provider did not accept Switchboard's code exchange.")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, failed(http.StatusBadGateway, "token response without id_token", "The identity provider sent no ID token.")
	}
	idt, err := a.verifier.Verify(r.Context(), raw)
	if err != nil {
		return identity{}, failed(http.StatusUnauthorized, "ID token refused: "+err.Error(), "The identity provider's ID token did not verify.")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(attempt.Nonce)) != 1 {
		return identity{}, failed(http.StatusUnauthorized, "nonce mismatch", "The ID token was not issued for this sign-in.")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return identity{}, failed(http.StatusBadGateway, "ID token claims: "+err.Error(), "The ID token could not be read.")
	}
	return a.identify(claims, raw)
}

// identify reads who the claims describe and their role.
func (a *Auth) identify(claims map[string]any, raw string) (identity, error) {
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id := identity{Subject: str("sub"), Email: str("email")}
	for _, k := range []string{"preferred_username", "name", "email", "sub"} {
		if id.Name = str(k); id.Name != "" {
			break
		}
	}
	if a.endSession != "" {
		id.IDToken = raw
	}
	if err := checkOverage(claims, a.cfg.RoleClaim); err != nil {
		return identity{}, &loginFailure{status: http.StatusForbidden, actor: id.Name, reason: err.Error(), page: a.overagePage(id.Name)}
	}
	values := claimValues(claims, a.cfg.RoleClaim)
	if id.Role = roleOf(values, a.cfg.RoleMap); id.Role == "" {
		return identity{}, &loginFailure{status: http.StatusForbidden, actor: id.Name,
			reason: fmt.Sprintf("no role: claim %q holds %q", a.cfg.RoleClaim, values), page: a.noRolePage(id.Name, values)}
	}
	return id, nil
}
