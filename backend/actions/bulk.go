package actions

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"switchboard/app/calls"
	"switchboard/app/verbs"
	"switchboard/backend/apierror"
	"switchboard/backend/audit"
)

// Pacing of bulk actions.
const (
	// defaultBulkRate is how many actions of a bulk request go to Graph
	// a second when API.BulkRate is not set.
	defaultBulkRate = 5
	// bulkInFlight is how many of them may wait for Graph's answer at once.
	bulkInFlight = 4
	// bulkSlack is what a bulk answer may take beyond its pacing: Graph's
	// slowest answers and retries after throttling.
	bulkSlack = 30 * time.Second
)

// BulkHandler serves the contract's bulk route of v: POST a
// verbs.BulkRequest naming at most verbs.MaxBulk calls; the answer, 200,
// is a verbs.BulkResult with each call's outcome in the order named (done,
// 404 unknown, 409 in a state the action does not apply to and why, 409
// claimed by someone else unless the request overrides claims, or Graph's
// refusal). Every call is checked when its turn comes, and the
// calls go to Graph at BulkRate a second. Each call's history records the
// action as a single action would; the audit trail gets one entry for the
// whole request, listing every call with its outcome. Only actions that
// ask for nothing but a confirmation can be taken in bulk.
func (a *API) BulkHandler(v verbs.Verb) http.Handler {
	spec, err := verbs.Lookup(v)
	if err != nil {
		return unsupported(err.Error())
	}
	do, ok := a.graphCalls()[v]
	if !ok || spec.Bulk == "" || spec.Scope != verbs.OnCall || spec.Input > verbs.AskConfirm {
		return unsupported(fmt.Sprintf("Switchboard cannot %s calls in bulk", spec.Words))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.bulk(w, r, spec, do) })
}

func (a *API) bulk(w http.ResponseWriter, r *http.Request, spec verbs.Spec, do graphCall) {
	var req verbs.BulkRequest
	if status, msg := readJSON(r, &req); status != 0 {
		a.Metrics.Action(string(spec.Verb), apierror.CodeFor(status))
		apierror.Write(w, status, apierror.CodeFor(status), msg)
		return
	}
	ids, err := req.CallIDs()
	if err != nil {
		a.Metrics.Action(string(spec.Verb), apierror.CodeFor(http.StatusBadRequest))
		msg := strings.TrimPrefix(err.Error(), verbs.ErrBulk.Error()+": ")
		apierror.Write(w, http.StatusBadRequest, apierror.CodeFor(http.StatusBadRequest), "cannot "+spec.Words+" in bulk: "+msg)
		return
	}
	// The answer waits for the last call: it may take longer than an
	// ordinary request's write deadline.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(a.bulkTime(len(ids))))
	actor := a.actor(r)
	// Graph's answers are recorded even if the supervisor's browser goes away.
	ctx := context.WithoutCancel(r.Context())
	out := a.runBulk(ctx, spec, do, actor, a.session(r), req.Override, ids)
	a.auditBulk(ctx, r, spec, actor, out)
	apierror.JSON(w, http.StatusOK, verbs.BulkResult{Verb: spec.Verb, Outcomes: out})
}

// bulkTime is the longest a bulk request of n calls may take.
func (a *API) bulkTime(n int) time.Duration {
	return time.Duration(float64(n)/a.bulkRate()*float64(time.Second)) + bulkSlack
}

func (a *API) bulkRate() float64 {
	if a.BulkRate > 0 {
		return a.BulkRate
	}
	return defaultBulkRate
}

// runBulk takes the action on each call in turn, paced, and returns the
// outcomes in the order of ids. A call is looked up and checked when its
// turn comes, so one that ended while the others were sent is refused,
// not sent; so is one another session than session claimed, unless
// override.
func (a *API) runBulk(ctx context.Context, spec verbs.Spec, do graphCall, actor, session string, override bool, ids []string) []verbs.BulkOutcome {
	out := make([]verbs.BulkOutcome, len(ids))
	pace := rate.NewLimiter(rate.Limit(a.bulkRate()), 1)
	slots := make(chan struct{}, bulkInFlight)
	var wg sync.WaitGroup
	for i, id := range ids {
		o, refused := a.bulkCheck(spec, id, session, override)
		if !refused {
			if err := pace.Wait(ctx); err != nil {
				o.Status, o.Code, o.Message = http.StatusServiceUnavailable, "unavailable", "not sent: "+err.Error()
				refused = true
			} else {
				o, refused = a.bulkCheck(spec, id, session, override) // again: it may have changed while it waited its turn
			}
		}
		out[i] = o
		if refused {
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			out[i] = a.bulkOne(ctx, spec, do, actor, out[i])
		}()
	}
	wg.Wait()
	return out
}

// bulkCheck looks the call id up and checks the action applies to it and,
// unless override, that no other session than session claimed it; a
// refusal is its outcome.
func (a *API) bulkCheck(spec verbs.Spec, id, session string, override bool) (o verbs.BulkOutcome, refused bool) {
	c, ok := a.lookup(id)
	if !ok {
		a.Metrics.Action(string(spec.Verb), "not_found")
		return verbs.BulkOutcome{CallID: id, Status: http.StatusNotFound, Code: "not_found", Message: unknownCall(id)}, true
	}
	o = verbs.BulkOutcome{CallID: c.ID, State: string(c.State)}
	if why := c.Why(spec.Verb); why != "" {
		a.Metrics.Action(string(spec.Verb), "conflict")
		o.Status, o.Code, o.Message = http.StatusConflict, "conflict", why
		return o, true
	}
	if why := a.claimedWhy(spec, c.ID, session); why != "" && !override {
		a.Metrics.Action(string(spec.Verb), "claimed")
		o.Status, o.Code, o.Message = http.StatusConflict, "claimed", why
		return o, true
	}
	return o, false
}

// bulkOne asks Graph to take the action on one call and records it in the
// call's history, as the single action does.
func (a *API) bulkOne(ctx context.Context, spec verbs.Spec, do graphCall, actor string, o verbs.BulkOutcome) verbs.BulkOutcome {
	act := calls.Action{Verb: spec.Verb, Actor: actor}
	err := do(ctx, o.CallID, input{})
	act.At = a.now()
	act.Status = spec.OK
	if err != nil {
		act.Status, act.Error = graphStatus(err), err.Error()
	}
	a.recordEvent(ctx, o.CallID, act)
	if err != nil {
		o.Status, o.Code, o.Message = describe(spec, "the call", err)
		return o
	}
	o.Status = spec.OK
	return o
}

// auditBulk records the whole request as one entry: who, what, every call
// named with its outcome, and a count of each outcome in words.
func (a *API) auditBulk(ctx context.Context, r *http.Request, spec verbs.Spec, actor string, out []verbs.BulkOutcome) {
	if a.Audit == nil {
		return
	}
	list := make([]audit.CallOutcome, len(out))
	failed := 0
	for i, o := range out {
		list[i] = audit.CallOutcome{Call: o.CallID, Outcome: audit.OutcomeOK}
		if !o.OK() {
			failed++
			list[i].Outcome = o.Message
		}
	}
	outcome := audit.OutcomeOK
	if failed > 0 {
		outcome = fmt.Sprintf("%d of %d not %s", failed, len(out), spec.Done)
	}
	e := audit.Entry{At: a.now(), Actor: actor, Action: audit.BulkAction(spec.Verb), Target: plural(len(out), "call"),
		Outcome: outcome, Detail: bulkDetail(spec, out), Count: len(out), Calls: &list, Remote: r.RemoteAddr}
	if err := a.Audit.Record(ctx, e); err != nil {
		a.logger().Error("audit bulk action", "verb", spec.Verb, "calls", len(out), "err", err)
	}
}

// bulkDetail counts the outcomes in words: "48 hung up, 1 unknown, 1 in
// the wrong state".
func bulkDetail(spec verbs.Spec, out []verbs.BulkOutcome) string {
	var done, unknown, state, graph int
	for _, o := range out {
		switch {
		case o.OK():
			done++
		case o.Status == http.StatusNotFound:
			unknown++
		case o.Status == http.StatusConflict:
			state++
		default:
			graph++
		}
	}
	parts := []string{fmt.Sprintf("%d %s", done, spec.Done)}
	if unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d unknown", unknown))
	}
	if state > 0 {
		parts = append(parts, fmt.Sprintf("%d refused (ended or in the wrong state)", state))
	}
	if graph > 0 {
		parts = append(parts, fmt.Sprintf("%d failed at Graph", graph))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
