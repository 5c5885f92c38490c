// Package actions is the REST API a console acts through. Its paths mirror
// Graph's own: POST /api/calls/{id}/reject, POST /api/calls/{id}/answer,
// DELETE /api/calls/{id} to hang up; GET /api/calls and GET /api/calls/{id}
// to read the live view; GET /api/calls/{id}/events for a call's history;
// DELETE /api/records/{id} to delete an ended conversation.
//
// Every action is checked against the call's state before Graph is asked
// (rejecting an established call is a 409 that says why), and every action
// Graph was asked to take becomes an event in the log, with who asked and
// what Graph answered, so every console can show "hung up by alice".
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
	HangUp(ctx context.Context, callID string) error
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
	Audit   audit.Recorder
	Now     func() time.Time
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// maxActionBody bounds the JSON body of an action.
const maxActionBody = 64 << 10

// Routes registers the endpoints on mux. wrap guards each endpoint with the
// role it needs (identity's middleware); it may be nil.
func (a *API) Routes(mux *http.ServeMux, guard func(need string, h http.Handler) http.Handler) {
	if guard == nil {
		guard = func(_ string, h http.Handler) http.Handler { return h }
	}
	mux.Handle("GET /api/calls", guard("viewer", http.HandlerFunc(a.list)))
	mux.Handle("GET /api/calls/{id}", guard("viewer", http.HandlerFunc(a.get)))
	mux.Handle("GET /api/calls/{id}/events", guard("viewer", http.HandlerFunc(a.events)))
	mux.Handle("POST /api/calls/{id}/reject", guard("supervisor", http.HandlerFunc(a.reject)))
	mux.Handle("POST /api/calls/{id}/answer", guard("supervisor", http.HandlerFunc(a.answer)))
	mux.Handle("DELETE /api/calls/{id}", guard("supervisor", http.HandlerFunc(a.hangUp)))
	mux.Handle("DELETE /api/records/{id}", guard("admin", http.HandlerFunc(a.erase)))
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"seq": a.View.Seq(), "now": a.now(), "calls": a.View.Calls()})
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	c, ok := a.call(w, r)
	if ok {
		writeJSON(w, http.StatusOK, c)
	}
}

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
	for i, rec := range recs {
		out[i] = item{Seq: rec.Seq, Event: rec.Event}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

// call finds the call of the request's {id}, answering 404 when unknown.
func (a *API) call(w http.ResponseWriter, r *http.Request) (calls.Call, bool) {
	id := r.PathValue("id")
	c, ok := a.View.Get(id)
	if !ok {
		apierror.Write(w, http.StatusNotFound, "not_found", fmt.Sprintf("no call %q: it never reached Switchboard, or has left the history", id))
		return calls.Call{}, false
	}
	return c, true
}

type rejectBody struct {
	Reason string `json:"reason"`
}

func (a *API) reject(w http.ResponseWriter, r *http.Request) {
	var body rejectBody
	if !readJSON(w, r, &body) {
		return
	}
	reason := strings.ToLower(strings.TrimSpace(body.Reason))
	switch reason {
	case "none", "busy", "forbidden":
	case "":
		apierror.Write(w, http.StatusBadRequest, "bad_request", `reason is required: "none", "busy" or "forbidden"`)
		return
	default:
		apierror.Write(w, http.StatusBadRequest, "bad_request", fmt.Sprintf(`reason %q is not "none", "busy" or "forbidden"`, body.Reason))
		return
	}
	a.act(w, r, calls.Action{Verb: calls.VerbReject, Reason: reason}, http.StatusAccepted, incomingOnly("reject"),
		func(ctx context.Context, id string) error { return a.Graph.Reject(ctx, id, reason) })
}

func (a *API) answer(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, calls.Action{Verb: calls.VerbAnswer}, http.StatusAccepted, incomingOnly("answer"),
		func(ctx context.Context, id string) error { return a.Graph.Answer(ctx, id, []string{"audio"}) })
}

func (a *API) hangUp(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, calls.Action{Verb: calls.VerbHangUp}, http.StatusNoContent, notEnded,
		func(ctx context.Context, id string) error { return a.Graph.HangUp(ctx, id) })
}

// incomingOnly allows verb only on a call still ringing in.
func incomingOnly(verb string) func(calls.Call) string {
	return func(c calls.Call) string {
		switch {
		case c.State == calls.Incoming:
			return ""
		case c.Ended():
			return fmt.Sprintf("cannot %s: the call has already ended", verb)
		case c.AnsweredAt.IsZero():
			return fmt.Sprintf("cannot %s: the call is %s, and only an incoming call can be %sed", verb, c.State, strings.TrimSuffix(verb, "e"))
		default:
			return fmt.Sprintf("cannot %s: the call was already answered (it is %s); hang it up instead", verb, c.State)
		}
	}
}

func notEnded(c calls.Call) string {
	if c.Ended() {
		return "cannot hang up: the call has already ended"
	}
	return ""
}

// act runs one action: state check, Graph, the action event, the answer.
func (a *API) act(w http.ResponseWriter, r *http.Request, act calls.Action, okStatus int, check func(calls.Call) string, do func(context.Context, string) error) {
	c, ok := a.call(w, r)
	if !ok {
		return
	}
	if why := check(c); why != "" {
		a.Metrics.Action(act.Verb, "conflict")
		apierror.Write(w, http.StatusConflict, "conflict", why)
		return
	}
	act.Actor = a.actor(r)
	// Graph's answer is recorded even if the supervisor's browser goes away.
	ctx := context.WithoutCancel(r.Context())
	err := do(ctx, c.ID)
	act.At = a.now()
	act.Status = okStatus
	status, code, msg := okStatus, "", ""
	if err != nil {
		act.Status, act.Error = graphStatus(err), err.Error()
		status, code, msg = describe(act.Verb, err)
	}
	a.record(ctx, r, c.ID, act)
	if err != nil {
		apierror.Write(w, status, code, msg)
		return
	}
	w.WriteHeader(okStatus)
}

// record appends the action event and the audit entry.
func (a *API) record(ctx context.Context, r *http.Request, callID string, act calls.Action) {
	outcome := audit.OutcomeOK
	if act.Error != "" {
		outcome = act.Error
	}
	a.Metrics.Action(act.Verb, map[bool]string{true: "ok", false: "failed"}[act.Error == ""])
	ev := calls.Event{Kind: calls.KindAction, CallID: callID, At: act.At, Action: &act}
	if _, err := a.Log.Append(ctx, []eventlog.Entry{{Event: ev}}); err != nil {
		a.logger().Error("record action", "call", callID, "verb", act.Verb, "err", err)
	}
	a.Metrics.Event(string(calls.KindAction))
	if a.Audit != nil {
		e := audit.Entry{At: act.At, Actor: act.Actor, Action: act.Verb, Target: callID, Outcome: outcome, Detail: act.Reason, Remote: r.RemoteAddr}
		if err := a.Audit.Record(ctx, e); err != nil {
			a.logger().Error("audit action", "call", callID, "err", err)
		}
	}
}

func graphStatus(err error) int {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

// describe turns Graph's refusal into the console's answer.
func describe(verb string, err error) (status int, code, msg string) {
	var ge *graph.Error
	switch {
	case graph.IsNotFound(err):
		return http.StatusConflict, "conflict", fmt.Sprintf("cannot %s: Graph no longer knows this call; it has ended", verb)
	case errors.As(err, &ge):
		m := ge.Message
		if m == "" {
			m = http.StatusText(ge.Status)
		}
		return http.StatusBadGateway, "graph_error", fmt.Sprintf("Graph refused to %s the call: %s (HTTP %d, code %s)", verb, m, ge.Status, ge.Code)
	default:
		return http.StatusBadGateway, "graph_error", fmt.Sprintf("could not reach Graph to %s the call: %v", verb, err)
	}
}

func (a *API) erase(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, ok := a.View.Get(id)
	if ok && !c.Ended() {
		apierror.Write(w, http.StatusConflict, "conflict", "the call is still going on; only an ended conversation can be deleted")
		return
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

// readJSON decodes a small JSON body, answering 415, 413 or 400 itself.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		apierror.Write(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		apierror.Write(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than 64 KiB")
		return false
	}
	if err != nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", "could not read the body")
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", "the body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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
