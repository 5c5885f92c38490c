// Package actions is the REST API a console acts through. Its routes, roles
// and state checks come from the action contract (package verbs): POST
// /api/calls/{id}/answer, …/reject, …/redirect, …/transfer,
// …/participants/{participant}/mute, DELETE /api/calls/{id} to hang up,
// DELETE /api/records/{id} to delete an ended conversation; GET /api/calls,
// GET /api/calls/{id} and GET /api/calls/{id}/events read the live view.
//
// Every action is checked against the call's state before Graph is asked
// (transferring a ringing call is a 409 that says why; a target that is no
// phone number or user is a 400), and every action Graph was asked to take
// becomes an event in the log, with who asked and what Graph answered, so
// every console can show "transferred by alice to +14255550100".
package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/privacy"
	"switchboard/app/verbs"
	"switchboard/backend/apierror"
	"switchboard/backend/audit"
	"switchboard/backend/eventlog"
	"switchboard/backend/graph"
	"switchboard/backend/metrics"
)

// Graph is the part of the Graph client the actions use.
type Graph interface {
	Answer(ctx context.Context, callID string, modalities []string) error
	Reject(ctx context.Context, callID, reason string) error
	Redirect(ctx context.Context, callID string, targets ...graph.Target) error
	Transfer(ctx context.Context, callID string, target graph.Target) error
	MuteParticipant(ctx context.Context, callID, participantID string) error
	HangUp(ctx context.Context, callID string) error
	User(ctx context.Context, idOrUPN string) (graph.User, error)
}

// View is the live view the actions read.
type View interface {
	Get(id string) (calls.Call, bool)
	Calls() []calls.Call
	Seq() uint64
}

// Log stores the action events and reads a call's history.
type Log interface {
	Append(ctx context.Context, entries []eventlog.Entry) (int, error)
	History(ctx context.Context, callID string) ([]eventlog.Record, error)
	Erase(ctx context.Context, callID string) error
}

// API serves the REST endpoints.
type API struct {
	Graph Graph
	View  View
	Log   Log
	// Actor names who made a request; nil names everyone "anonymous".
	Actor func(r *http.Request) string
	// Audit, if set, records every action with its outcome.
	Audit audit.Recorder
	// BulkRate is how many actions of a bulk request go to Graph a second
	// (default 5), so a floor's worth of hang-ups never reaches Graph as
	// one burst it throttles.
	BulkRate float64
	// Claims, if set, serves POST and DELETE /api/calls/{id}/claim;
	// Session names the request's session, which holds them.
	Claims  Claims
	Session func(r *http.Request) string
	// Masked, if set, tells whether the reader of r reads external parties
	// masked (package privacy): the reads mask them for such readers.
	Masked  func(r *http.Request) bool
	Now     func() time.Time
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// maxActionBody bounds the JSON body of an action.
const maxActionBody = 64 << 10

// Routes registers the endpoints on mux: the reads, and every action the
// contract offers, each guarded by the role the contract gives it. guard
// is identity's middleware; it may be nil.
func (a *API) Routes(mux *http.ServeMux, guard func(need string, h http.Handler) http.Handler) {
	if guard == nil {
		guard = func(_ string, h http.Handler) http.Handler { return h }
	}
	mux.Handle("GET /api/calls", guard(string(verbs.Viewer), http.HandlerFunc(a.list)))
	mux.Handle("GET /api/calls/{id}", guard(string(verbs.Viewer), http.HandlerFunc(a.get)))
	mux.Handle("GET /api/calls/{id}/events", guard(string(verbs.Viewer), http.HandlerFunc(a.events)))
	for _, spec := range verbs.All() {
		if spec.Offered() {
			mux.Handle(spec.Pattern(), guard(string(spec.Role), a.Handler(spec.Verb)))
		}
		if p := spec.BulkPattern(); p != "" && spec.Offered() {
			mux.Handle(p, guard(string(spec.Role), a.BulkHandler(spec.Verb)))
		}
	}
	a.claimRoutes(mux, guard)
}

// Handler serves the action v. A verb the contract does not list, or one
// no Graph call is known for, answers 501 and asks Graph nothing.
func (a *API) Handler(v verbs.Verb) http.Handler {
	spec, err := verbs.Lookup(v)
	if err != nil {
		return unsupported(err.Error())
	}
	if spec.Scope == verbs.OnRecord {
		return http.HandlerFunc(a.erase)
	}
	do, ok := a.graphCalls()[v]
	if !ok {
		return unsupported(fmt.Sprintf("Switchboard cannot %s calls yet: no Graph call is known for it", spec.Words))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.act(w, r, spec, do) })
}

func unsupported(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		apierror.Write(w, http.StatusNotImplemented, "not_implemented", msg)
	})
}

// input is what a request asked for, read and checked.
type input struct {
	reason      string
	target      graph.Target
	participant calls.Participant
}

// graphCall asks Graph to take an action on the call callID.
type graphCall func(ctx context.Context, callID string, in input) error

// graphCalls are the Graph calls of the contract's actions: adding an
// action is its entry in package verbs and its line here.
func (a *API) graphCalls() map[verbs.Verb]graphCall {
	return map[verbs.Verb]graphCall{
		verbs.Answer: func(ctx context.Context, id string, _ input) error { return a.Graph.Answer(ctx, id, []string{"audio"}) },
		verbs.Reject: func(ctx context.Context, id string, in input) error { return a.Graph.Reject(ctx, id, in.reason) },
		verbs.Redirect: func(ctx context.Context, id string, in input) error {
			return a.Graph.Redirect(ctx, id, in.target)
		},
		verbs.Transfer: func(ctx context.Context, id string, in input) error { return a.Graph.Transfer(ctx, id, in.target) },
		verbs.HangUp:   func(ctx context.Context, id string, _ input) error { return a.Graph.HangUp(ctx, id) },
		verbs.Mute: func(ctx context.Context, id string, in input) error {
			return a.Graph.MuteParticipant(ctx, id, in.participant.ID)
		},
	}
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	list := a.View.Calls()
	if a.masked(r) {
		out := make([]calls.Call, len(list))
		for i, c := range list {
			out[i] = privacy.Call(c)
		}
		list = out
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"seq": a.View.Seq(), "now": a.now(), "calls": list})
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	c, ok := a.call(w, r)
	if ok && a.masked(r) {
		c = privacy.Call(c)
	}
	if ok {
		apierror.JSON(w, http.StatusOK, c)
	}
}

func (a *API) masked(r *http.Request) bool { return a.Masked != nil && a.Masked(r) }

func (a *API) events(w http.ResponseWriter, r *http.Request) {
	c, ok := a.call(w, r)
	if !ok {
		return
	}
	recs, err := a.Log.History(r.Context(), c.ID)
	if err != nil {
		a.logger().Error("read call history", "call", c.ID, "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the call's history could not be read; retry")
		return
	}
	type item struct {
		Seq   uint64      `json:"seq"`
		Event calls.Event `json:"event"`
	}
	out := make([]item, len(recs))
	masked := a.masked(r)
	for i, rec := range recs {
		out[i] = item{Seq: rec.Seq, Event: rec.Event}
		if masked {
			out[i].Event = privacy.Event(rec.Event)
		}
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"events": out})
}

// call finds the call of the request's {id}, answering 404 when unknown.
func (a *API) call(w http.ResponseWriter, r *http.Request) (calls.Call, bool) {
	id := r.PathValue("id")
	c, ok := a.lookup(id)
	if !ok {
		apierror.Write(w, http.StatusNotFound, "not_found", unknownCall(id))
		return calls.Call{}, false
	}
	return c, true
}

// lookup finds the call id in the view. The id may be spelled as Graph's
// pages do (upper case, no dashes).
func (a *API) lookup(id string) (calls.Call, bool) {
	c, ok := a.View.Get(id)
	if !ok {
		c, ok = a.View.Get(calls.CanonicalID(id))
	}
	return c, ok
}

// unknownCall is the 404's words.
func unknownCall(id string) string {
	return fmt.Sprintf("no call %q: it never reached Switchboard, or has left the history", id)
}

// act runs one action: the call, its input, the state check, Graph, the
// action event and the audit entry, the answer.
func (a *API) act(w http.ResponseWriter, r *http.Request, spec verbs.Spec, do graphCall) {
	c, ok := a.call(w, r)
	if !ok {
		return
	}
	act := calls.Action{Verb: spec.Verb}
	in, status, msg := a.readInput(r, spec, c, &act)
	if status == 0 {
		if why := c.Why(spec.Verb); why != "" {
			status, msg = http.StatusConflict, why
		}
	}
	if status == 0 && spec.Scope == verbs.OnParticipant {
		status, msg = participantWhy(spec, c, in.participant)
	}
	if status != 0 {
		a.Metrics.Action(string(spec.Verb), apierror.CodeFor(status))
		apierror.Write(w, status, apierror.CodeFor(status), msg)
		return
	}
	if why := a.claimWhy(r, spec, c.ID); why != "" {
		a.Metrics.Action(string(spec.Verb), "claimed")
		apierror.Write(w, http.StatusConflict, "claimed", why)
		return
	}
	act.Actor = a.actor(r)
	// Graph's answer is recorded even if the supervisor's browser goes away.
	ctx := context.WithoutCancel(r.Context())
	if status, msg = a.resolve(ctx, spec, &in, &act); status != 0 {
		a.Metrics.Action(string(spec.Verb), apierror.CodeFor(status))
		apierror.Write(w, status, apierror.CodeFor(status), msg)
		return
	}
	err := do(ctx, c.ID, in)
	act.At = a.now()
	act.Status = spec.OK
	if err != nil {
		act.Status, act.Error = graphStatus(err), err.Error()
	}
	a.record(ctx, r, c.ID, act)
	if err != nil {
		what := "the call"
		if spec.Scope == verbs.OnParticipant {
			what = in.participant.Label()
		}
		status, code, msg := describe(spec, what, err)
		apierror.Write(w, status, code, msg)
		return
	}
	w.WriteHeader(spec.OK)
}

// targetBody is the body of redirect and transfer: {"target": "+14255550100"}.
// The target may also be an object naming it, {"target": {"id": "…"}} or
// {"target": {"phone": "…"}}, as integrations tend to send.
type targetBody struct {
	Target targetField `json:"target"`
}

type targetField string

// UnmarshalJSON reads a string, or an object with one of id, phone, user,
// upn or userPrincipalName.
func (t *targetField) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = targetField(s)
		return nil
	}
	var o struct {
		ID, Phone, User, UPN, UserPrincipalName string
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New(`target is not a string such as "+14255550100" nor an object with an id`)
	}
	for _, v := range []string{o.ID, o.Phone, o.User, o.UPN, o.UserPrincipalName} {
		if v != "" {
			*t = targetField(v)
			return nil
		}
	}
	return nil
}

// rejectBody is the body of reject.
type rejectBody struct {
	Reason string `json:"reason"`
}

// readInput reads what spec asks for from r into in, and fills the
// action's details. A non-zero status is the answer to give instead.
func (a *API) readInput(r *http.Request, spec verbs.Spec, c calls.Call, act *calls.Action) (in input, status int, msg string) {
	switch spec.Input {
	case verbs.AskReason:
		var body rejectBody
		if status, msg := readJSON(r, &body); status != 0 {
			return in, status, msg
		}
		in.reason = strings.ToLower(strings.TrimSpace(body.Reason))
		switch in.reason {
		case "none", "busy", "forbidden":
		case "":
			return in, http.StatusBadRequest, `reason is required: "none", "busy" or "forbidden"`
		default:
			return in, http.StatusBadRequest, fmt.Sprintf(`reason %q is not "none", "busy" or "forbidden"`, body.Reason)
		}
		act.Reason = in.reason
	case verbs.AskTarget:
		var body targetBody
		if status, msg := readJSON(r, &body); status != 0 {
			return in, status, msg
		}
		t, err := verbs.ParseTarget(string(body.Target))
		if err != nil {
			return in, http.StatusBadRequest, fmt.Sprintf("cannot %s to %q: %v", spec.Words, string(body.Target), err)
		}
		act.Target = t.ID
		in.target = graphTarget(t)
	case verbs.AskParticipant:
		pid := r.PathValue("participant")
		p, ok := c.Participant(pid)
		if !ok {
			return in, http.StatusNotFound, fmt.Sprintf("no participant %q in the call's roster", pid)
		}
		in.participant = p
		act.Participant, act.ParticipantName = p.ID, p.Label()
	}
	return in, 0, ""
}

// participantWhy refuses actions on the bot itself, and muting someone
// already muted.
func participantWhy(spec verbs.Spec, c calls.Call, p calls.Participant) (int, string) {
	switch {
	case c.IsBot(p):
		return http.StatusConflict, fmt.Sprintf("cannot %s the bot itself", spec.Words)
	case spec.Verb == verbs.Mute && p.Muted:
		return http.StatusConflict, fmt.Sprintf("cannot mute %s: already muted", p.Label())
	}
	return 0, ""
}

// resolve looks a target given by sign-in name up in Graph's directory:
// redirect and transfer take an object id.
func (a *API) resolve(ctx context.Context, spec verbs.Spec, in *input, act *calls.Action) (int, string) {
	if spec.Input != verbs.AskTarget || in.target.Kind != graph.TargetUser || !strings.Contains(in.target.ID, "@") {
		return 0, ""
	}
	u, err := a.Graph.User(ctx, in.target.ID)
	switch {
	case graph.IsNotFound(err):
		return http.StatusBadRequest, fmt.Sprintf("cannot %s to %s: Graph's directory has no such user", spec.Words, in.target.ID)
	case err != nil:
		a.logger().Warn("look up a target", "target", in.target.ID, "err", err)
		return http.StatusBadGateway, fmt.Sprintf("could not look %s up in Graph's directory: %v", in.target.ID, err)
	}
	in.target.ID, in.target.DisplayName = u.ID, u.DisplayName
	act.TargetName = firstNonEmpty(u.DisplayName, u.UserPrincipalName)
	return 0, ""
}

// graphTarget turns a parsed target into the Graph client's.
func graphTarget(t verbs.Target) graph.Target {
	if t.Kind == verbs.TargetPhone {
		return graph.Target{Kind: graph.TargetPhone, ID: t.ID}
	}
	return graph.Target{Kind: graph.TargetUser, ID: t.ID}
}

// record appends the action event and the audit entry.
func (a *API) record(ctx context.Context, r *http.Request, callID string, act calls.Action) {
	outcome := audit.OutcomeOK
	if act.Error != "" {
		outcome = act.Error
	}
	a.recordEvent(ctx, callID, act)
	if a.Audit != nil {
		e := audit.Entry{At: act.At, Actor: act.Actor, Action: string(act.Verb), Target: callID, Outcome: outcome,
			Detail: auditDetail(act), Remote: r.RemoteAddr}
		if err := a.Audit.Record(ctx, e); err != nil {
			a.logger().Error("audit action", "call", callID, "err", err)
		}
	}
}

// recordEvent appends the action event to the call's history, so every
// console shows who acted and how Graph answered.
func (a *API) recordEvent(ctx context.Context, callID string, act calls.Action) {
	a.Metrics.Action(string(act.Verb), map[bool]string{true: "ok", false: "failed"}[act.Error == ""])
	ev := calls.Event{Kind: calls.KindAction, CallID: callID, At: act.At, Action: &act}
	if _, err := a.Log.Append(ctx, []eventlog.Entry{{Event: ev}}); err != nil {
		a.logger().Error("record action", "call", callID, "verb", act.Verb, "err", err)
	}
	a.Metrics.Event(string(calls.KindAction))
}

// auditDetail says what the action was asked with: the reject reason, the
// target, or the participant.
func auditDetail(act calls.Action) string {
	switch {
	case act.Reason != "":
		return act.Reason
	case act.Target != "":
		return "to " + act.Target
	case act.Participant != "":
		return "participant " + act.Participant + " (" + act.ParticipantName + ")"
	}
	return ""
}

func graphStatus(err error) int {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

// describe turns Graph's refusal into the console's answer.
func describe(spec verbs.Spec, what string, err error) (status int, code, msg string) {
	var ge *graph.Error
	switch {
	case graph.IsNotFound(err):
		return http.StatusConflict, "conflict", fmt.Sprintf("cannot %s: Graph no longer knows this call; it has ended", spec.Words)
	case errors.As(err, &ge):
		m := ge.Message
		if m == "" {
			m = http.StatusText(ge.Status)
		}
		return http.StatusBadGateway, "graph_error", fmt.Sprintf("Graph refused to %s %s: %s (HTTP %d, code %s)", spec.Words, what, m, ge.Status, ge.Code)
	default:
		return http.StatusBadGateway, "graph_error", fmt.Sprintf("could not reach Graph to %s %s: %v", spec.Words, what, err)
	}
}

func (a *API) erase(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, ok := a.View.Get(id)
	if ok {
		if why := c.Why(verbs.Delete); why != "" {
			apierror.Write(w, http.StatusConflict, "conflict", why)
			return
		}
	}
	err := a.Log.Erase(r.Context(), id)
	outcome := audit.OutcomeOK
	if err != nil {
		outcome = err.Error()
	}
	if a.Audit != nil {
		_ = a.Audit.Record(context.WithoutCancel(r.Context()), audit.Entry{At: a.now(), Actor: a.actor(r), Action: audit.ActionDelete, Target: id, Outcome: outcome, Remote: r.RemoteAddr})
	}
	if err != nil {
		a.logger().Error("erase conversation", "call", id, "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the conversation could not be deleted; retry")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readJSON decodes a small JSON body; a non-zero status (415, 413 or 400)
// is the answer to give instead.
func readJSON(r *http.Request, v any) (int, string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, "Content-Type must be application/json"
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxActionBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, "the body is larger than 64 KiB"
	}
	if err != nil {
		return http.StatusBadRequest, "could not read the body"
	}
	if err := json.Unmarshal(data, v); err != nil {
		return http.StatusBadRequest, "the body is not valid JSON: " + err.Error()
	}
	return 0, ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (a *API) actor(r *http.Request) string {
	if a.Actor != nil {
		if name := a.Actor(r); name != "" {
			return name
		}
	}
	return "anonymous"
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *API) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
