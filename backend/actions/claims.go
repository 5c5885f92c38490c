package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"switchboard/app/feedwire"
	"switchboard/app/verbs"
	"switchboard/backend/apierror"
	"switchboard/backend/presence"
)

// Claims takes and gives back the short claims supervisors hold on calls
// while they act on them (package presence implements it).
type Claims interface {
	// Claim takes the claim on callID for verb unless another session
	// holds one; then it returns that claim and an error wrapping
	// presence.ErrClaimed.
	Claim(ctx context.Context, callID string, verb verbs.Verb, holder, session string) (feedwire.Claim, error)
	// Release gives up session's claim on callID.
	Release(ctx context.Context, callID, session string) error
	// Holder returns the claim held on callID now, and its session.
	Holder(callID string) (claim feedwire.Claim, session string, ok bool)
}

// Override is the query parameter (?override=1) with which an action is
// taken on a call someone else has claimed: the supervisor was told who
// holds it and chose to act anyway.
const Override = "override"

// claimWhy says why an action on callID is refused because another
// session holds a claim on it, or "" when it is not. Actions on one
// participant (mute) are not held back by a claim on the call.
func (a *API) claimWhy(r *http.Request, spec verbs.Spec, callID string) string {
	if a.Claims == nil || spec.Scope != verbs.OnCall || r.URL.Query().Get(Override) == "1" {
		return ""
	}
	return a.claimedWhy(spec, callID, a.session(r))
}

// claimedWhy is claimWhy for a given session.
func (a *API) claimedWhy(spec verbs.Spec, callID, session string) string {
	if a.Claims == nil {
		return ""
	}
	held, holder, ok := a.Claims.Holder(callID)
	if !ok || holder == session {
		return ""
	}
	return fmt.Sprintf("cannot %s: %s this call; act anyway only if you mean to", spec.Words, held.Doing())
}

// ClaimAnswer is the body of POST /api/calls/{id}/claim: the claim held
// after the request, and whether it is the caller's. A 409 carries the
// other holder's claim with the error.
type ClaimAnswer struct {
	Claim feedwire.Claim   `json:"claim"`
	Error *apierror.Detail `json:"error,omitempty"`
}

// claimBody is what a claim is for: {"verb": "hangup"}.
type claimBody struct {
	Verb verbs.Verb `json:"verb"`
}

// claimRoutes registers POST and DELETE /api/calls/{id}/claim for
// supervisors, when the API has Claims.
func (a *API) claimRoutes(mux *http.ServeMux, guard func(need string, h http.Handler) http.Handler) {
	if a.Claims == nil {
		return
	}
	mux.Handle("POST /api/calls/{id}/claim", guard(string(verbs.Supervisor), http.HandlerFunc(a.claim)))
	mux.Handle("DELETE /api/calls/{id}/claim", guard(string(verbs.Supervisor), http.HandlerFunc(a.release)))
}

// claim takes the caller's claim on a call for an action: 201 with the
// claim, or 409 with the claim someone else holds ("alice is hanging up").
// An action on a call another session has claimed is refused with 409
// unless it says it overrides the claim (?override=1): the console asks
// the supervisor first. A claim left behind never locks anyone out for
// long: it expires by itself.
func (a *API) claim(w http.ResponseWriter, r *http.Request) {
	c, ok := a.call(w, r)
	if !ok {
		return
	}
	var body claimBody
	if status, msg := readJSON(r, &body); status != 0 {
		apierror.Write(w, status, apierror.CodeFor(status), msg)
		return
	}
	spec, err := verbs.Lookup(body.Verb)
	if err != nil || !spec.Offered() || spec.Scope == verbs.OnRecord {
		apierror.Write(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%q is not an action on a call one can claim", string(body.Verb)))
		return
	}
	if why := c.Why(spec.Verb); why != "" {
		apierror.Write(w, http.StatusConflict, "conflict", why)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	held, err := a.Claims.Claim(ctx, c.ID, spec.Verb, a.actor(r), a.session(r))
	switch {
	case ClaimedBy(err):
		apierror.JSON(w, http.StatusConflict, ClaimAnswer{Claim: held, Error: &apierror.Detail{Code: "claimed",
			Message: held.Doing() + " this call: act only if you mean to act too"}})
	case err != nil:
		a.logger().Warn("claim a call", "call", c.ID, "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the claim could not be taken now; retry")
	default:
		apierror.JSON(w, http.StatusCreated, ClaimAnswer{Claim: held})
	}
}

// release gives the caller's claim on a call back: 204, also when there
// was none; 409 when someone else holds it.
func (a *API) release(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if c, ok := a.lookup(id); ok {
		id = c.ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	err := a.Claims.Release(ctx, id, a.session(r))
	switch {
	case ClaimedBy(err):
		apierror.Write(w, http.StatusConflict, "claimed", "the claim on this call is someone else's")
	case err != nil:
		a.logger().Warn("release a claim", "call", id, "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the claim could not be released now; it expires by itself")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// ClaimedBy reports whether err says someone else holds the claim.
func ClaimedBy(err error) bool { return errors.Is(err, presence.ErrClaimed) }

func (a *API) session(r *http.Request) string {
	if a.Session != nil {
		return a.Session(r)
	}
	return ""
}
