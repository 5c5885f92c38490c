package alerting

import (
	"bytes"
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

	"switchboard/app/alerts"
	"switchboard/app/calls"
	"switchboard/backend/apierror"
	"switchboard/backend/audit"
	"switchboard/backend/eventlog"
	"switchboard/backend/metrics"
)

// Roles the routes need, as the server's guard names them.
const (
	roleAdmin      = "admin"
	roleSupervisor = "supervisor"
)

// The audit trail's names of what the routes do.
const (
	ActionRules       = "alert_rules"
	ActionAcknowledge = "acknowledge_alert"
)

// maxRulesBody bounds the body of PUT /api/alert-rules.
const maxRulesBody = 64 << 10

// API serves GET and PUT /api/alert-rules (admins) and POST
// /api/calls/{id}/alerts/{rule}/acknowledge (supervisors).
type API struct {
	Rules *Rules
	View  View
	Log   Log
	// Actor names who made a request.
	Actor func(r *http.Request) string
	// Audit, if set, records every change of the rules and every
	// acknowledgement.
	Audit   audit.Recorder
	Now     func() time.Time
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Routes registers the endpoints on mux, each behind guard with the role
// it needs (guard may be nil in tests that need no sign-in).
func (a *API) Routes(mux *http.ServeMux, guard func(need string, h http.Handler) http.Handler) {
	if guard == nil {
		guard = func(_ string, h http.Handler) http.Handler { return h }
	}
	mux.Handle("GET /api/alert-rules", guard(roleAdmin, http.HandlerFunc(a.get)))
	mux.Handle("PUT /api/alert-rules", guard(roleAdmin, http.HandlerFunc(a.put)))
	mux.Handle("POST /api/calls/{id}/alerts/{rule}/acknowledge", guard(roleSupervisor, http.HandlerFunc(a.acknowledge)))
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	doc, err := a.Rules.Load(r.Context())
	if err != nil {
		a.logger().Error("read the alert rules", "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the alert rules could not be read; retry")
		return
	}
	apierror.JSON(w, http.StatusOK, doc)
}

func (a *API) put(w http.ResponseWriter, r *http.Request) {
	var doc alerts.Document
	if status, msg := readJSON(r, &doc); status != 0 {
		apierror.Write(w, status, apierror.CodeFor(status), msg)
		return
	}
	if doc.Rules == nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", `the body has no "rules": send {"rules": []} to remove every rule`)
		return
	}
	rules := alerts.Normalize(doc.Rules)
	if err := alerts.Validate(rules); err != nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	who, at := a.actor(r), a.now()
	ctx := context.WithoutCancel(r.Context())
	saved, err := a.Rules.Save(ctx, rules, who, at, doc.Revision)
	outcome := audit.OutcomeOK
	if err != nil {
		outcome = err.Error()
	}
	a.audit(ctx, r, audit.Entry{At: at, Actor: who, Action: ActionRules, Outcome: outcome, Detail: rulesDetail(rules)})
	switch {
	case errors.Is(err, ErrConflict):
		apierror.Write(w, http.StatusConflict, "conflict", "the alert rules were changed by someone else since you loaded them; load them again and redo your change")
	case err != nil:
		a.logger().Error("store the alert rules", "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the alert rules could not be stored; retry")
	default:
		apierror.JSON(w, http.StatusOK, saved)
	}
}

// rulesDetail lists the rules of a set for the audit trail.
func rulesDetail(rules []alerts.Rule) string {
	if len(rules) == 0 {
		return "no rules"
	}
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.ID + " (" + r.Words + ")"
	}
	return fmt.Sprintf("%d rules: %s", len(rules), strings.Join(parts, ", "))
}

func (a *API) acknowledge(w http.ResponseWriter, r *http.Request) {
	id, rule := r.PathValue("id"), r.PathValue("rule")
	c, ok := a.View.Get(id)
	if !ok {
		c, ok = a.View.Get(calls.CanonicalID(id))
	}
	if !ok {
		apierror.Write(w, http.StatusNotFound, "not_found", fmt.Sprintf("no call %q: it never reached Switchboard, or has left the history", id))
		return
	}
	al, ok := c.Alert(rule)
	switch {
	case !ok:
		apierror.Write(w, http.StatusConflict, "conflict", fmt.Sprintf("the call has no alert %q to acknowledge: it cleared, or was never raised", rule))
		return
	case al.AckedBy != "":
		apierror.Write(w, http.StatusConflict, "conflict", fmt.Sprintf("%s acknowledged this alert already", al.AckedBy))
		return
	}
	who, at := a.actor(r), a.now()
	note := calls.AlertNote{Op: calls.AlertAcknowledged, Rule: rule, Words: al.Words, Actor: who}
	ctx := context.WithoutCancel(r.Context())
	dup, err := a.Log.Append(ctx, []eventlog.Entry{{ID: ContentID(note),
		Event: calls.Event{Kind: calls.KindAlert, CallID: c.ID, At: at, Alert: &note}}})
	outcome := audit.OutcomeOK
	switch {
	case err != nil:
		outcome = err.Error()
	case dup > 0:
		outcome = "someone acknowledged it at the same moment"
	}
	a.audit(ctx, r, audit.Entry{At: at, Actor: who, Action: ActionAcknowledge, Target: c.ID, Outcome: outcome, Detail: rule + " (" + al.Words + ")"})
	switch {
	case err != nil:
		a.logger().Error("record an acknowledgement", "call", c.ID, "rule", rule, "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the acknowledgement could not be stored; retry")
	case dup > 0:
		apierror.Write(w, http.StatusConflict, "conflict", "someone acknowledged this alert at the same moment")
	default:
		a.Metrics.Alert(rule, string(calls.AlertAcknowledged))
		a.Metrics.Event(string(calls.KindAlert))
		w.WriteHeader(http.StatusNoContent)
	}
}

func (a *API) audit(ctx context.Context, r *http.Request, e audit.Entry) {
	if a.Audit == nil {
		return
	}
	e.Remote = r.RemoteAddr
	if err := a.Audit.Record(ctx, e); err != nil {
		a.logger().Error("audit", "action", e.Action, "err", err)
	}
}

// readJSON decodes a small JSON body strictly (an unknown field is a
// mistake worth saying); a non-zero status (415, 413 or 400) is the
// answer to give instead.
func readJSON(r *http.Request, v any) (int, string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, "Content-Type must be application/json"
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxRulesBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, "the body is larger than 64 KiB"
	}
	if err != nil {
		return http.StatusBadRequest, "could not read the body"
	}
	return decodeStrict(data, v)
}

// decodeStrict decodes one JSON value with no unknown fields and nothing
// after it.
func decodeStrict(data []byte, v any) (int, string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return http.StatusBadRequest, "the body is not the alert rules' JSON: " + err.Error()
	}
	if dec.More() {
		return http.StatusBadRequest, "the body holds more than one JSON value"
	}
	return 0, ""
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
