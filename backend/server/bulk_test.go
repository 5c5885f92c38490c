package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/verbs"
	"switchboard/backend/audit"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

// bulkHangUp posts a bulk hang-up as c and decodes the answer.
func (h *harness) bulkHangUp(c *http.Client, body string) (int, verbs.BulkResult, string) {
	h.t.Helper()
	status, data := h.send(c, "POST", "/api/calls/bulk/hangup", body)
	var res verbs.BulkResult
	var e struct{ Error struct{ Message string } }
	if status == http.StatusOK {
		if err := json.Unmarshal(data, &res); err != nil {
			h.t.Fatalf("bulk answer %s: %v", data, err)
		}
	} else {
		json.Unmarshal(data, &e)
	}
	return status, res, e.Error.Message
}

func TestBulkHangUpOfFiftyCalls(t *testing.T) {
	const rate = 100 // a second: fast enough for a test, slow enough to measure that it paces
	h := start(t, options{simCfg: fastSim, tweakCfg: func(c *server.Config) { c.BulkRate = rate }})
	ctx := context.Background()
	var live []string
	for i := range 50 {
		id, err := h.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: fmt.Sprintf("bulk %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, id)
	}
	// A call that has ended, and one Switchboard heard of but Graph does
	// not know (its end was never told).
	ended, err := h.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: "over"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.RemoteHangUp(ctx, ended, 0, 0); err != nil {
		t.Fatal(err)
	}
	const ghost = "0b5e4a3c-1111-4222-8333-944455556666"
	if code := h.post(notification(ghost, "created", incomingData)); code != http.StatusAccepted {
		t.Fatalf("ghost notification: %d", code)
	}
	waitFor(t, func() bool {
		for _, id := range append([]string{ghost}, live...) {
			if c, ok := h.srv.View().Get(id); !ok || c.Ended() {
				return false
			}
		}
		c, ok := h.srv.View().Get(ended)
		return ok && c.Ended()
	})

	const unknown = "7f6e5d4c-0000-4000-8000-000000000000"
	list := append([]string{unknown, ended, ghost}, live...)
	list = append(list, live[0]) // named twice: hung up once
	body, _ := json.Marshal(verbs.BulkRequest{Calls: list})
	before := len(h.sim.Requests())
	st, res, msg := h.bulkHangUp(h.client, string(body))
	if st != http.StatusOK {
		t.Fatalf("bulk hang-up: %d %s", st, msg)
	}
	if len(res.Outcomes) != 53 || res.Verb != verbs.HangUp {
		t.Fatalf("%d outcomes for %s, want 53 for hangup (the repeated call once)", len(res.Outcomes), res.Verb)
	}
	want := []struct {
		status int
		words  string
	}{
		{http.StatusNotFound, "never reached Switchboard"},
		{http.StatusConflict, "already ended"},
		{http.StatusConflict, "Graph no longer knows this call"},
	}
	for i, w := range want {
		if o := res.Outcomes[i]; o.CallID != list[i] || o.Status != w.status || !strings.Contains(o.Message, w.words) {
			t.Errorf("outcome of %s: %+v, want %d saying %q", list[i], o, w.status, w.words)
		}
	}
	for i, id := range live {
		if o := res.Outcomes[3+i]; o.CallID != id || o.Status != http.StatusNoContent || !o.OK() || o.State != "established" {
			t.Errorf("outcome of live call %d: %+v, want 204 from established", i, o)
		}
	}
	if res.Failed() != 3 {
		t.Errorf("%d failed, want 3", res.Failed())
	}

	// Graph was asked once per call it could act on, paced.
	var first, last time.Time
	deletes := map[string]int{}
	for _, r := range h.sim.Requests()[before:] {
		if r.Method != http.MethodDelete {
			continue
		}
		deletes[r.CallID]++
		if first.IsZero() {
			first = r.At
		}
		last = r.At
	}
	if len(deletes) != 51 || deletes[live[0]] != 1 || deletes[ended] != 0 {
		t.Fatalf("Graph got hang-ups for %d calls (%d for the repeated one, %d for the ended one), want 51, 1, 0",
			len(deletes), deletes[live[0]], deletes[ended])
	}
	if span, least := last.Sub(first), 50*time.Second/rate*9/10; span < least {
		t.Errorf("51 hang-ups reached Graph within %v: not paced at %d a second (at least %v)", span, rate, least)
	}

	// Every live call ends, "hung up by alice".
	waitFor(t, func() bool {
		for _, id := range live {
			if c, _ := h.srv.View().Get(id); !c.Ended() {
				return false
			}
		}
		return true
	})
	for _, id := range live {
		if c, _ := h.srv.View().Get(id); c.EndedBy != "alice" || c.EndAction != verbs.HangUp {
			t.Fatalf("call %s ended by %q (%s), want hung up by alice", id, c.EndedBy, c.EndAction)
		}
	}

	// One audit entry for the whole request, listing every call.
	var bulk []audit.Entry
	for _, e := range h.auditTrail(h.login("ada")) {
		switch {
		case e.Action == audit.BulkAction(verbs.HangUp):
			bulk = append(bulk, e)
		case e.Action == string(verbs.HangUp):
			t.Errorf("a bulk hang-up left a single hang-up's entry: %+v", e)
		}
	}
	if len(bulk) != 1 {
		t.Fatalf("%d bulk entries in the audit trail, want 1", len(bulk))
	}
	e := bulk[0]
	if e.Actor != "alice" || e.Count != 53 || e.Calls == nil || len(*e.Calls) != 53 || e.Outcome != "3 of 53 not hung up" ||
		e.Detail != "50 hung up, 1 unknown, 2 refused (ended or in the wrong state)" {
		t.Fatalf("bulk entry: %+v", e)
	}
	for i, c := range *e.Calls {
		if c.Call != res.Outcomes[i].CallID || (c.Outcome == audit.OutcomeOK) != res.Outcomes[i].OK() {
			t.Fatalf("audit lists call %d as %+v, the answer %+v", i, c, res.Outcomes[i])
		}
	}
}

func TestBulkHangUpRefusesBadRequests(t *testing.T) {
	h := start(t, options{})
	id, err := h.sim.StartIncoming(context.Background(), graphsim.CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, ok := h.srv.View().Get(id); return ok })
	tooMany := make([]string, verbs.MaxBulk+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("call-%d", i)
	}
	many, _ := json.Marshal(verbs.BulkRequest{Calls: tooMany})
	for _, c := range []struct {
		body, words string
	}{
		{`{"calls":[]}`, "calls is empty"},
		{`{}`, "calls is empty"},
		{`{"calls":["` + id + `", " "]}`, "call 2 of the list is blank"},
		{`{"calls":"` + id + `"}`, "not valid JSON"},
		{string(many), "201 calls named, at most 200"},
	} {
		if st, _, msg := h.bulkHangUp(h.client, c.body); st != http.StatusBadRequest || !strings.Contains(msg, c.words) {
			t.Errorf("bulk hang-up of %.60s: %d %q, want 400 saying %q", c.body, st, msg, c.words)
		}
	}
	viewer := h.login("victor")
	if st, _, msg := h.bulkHangUp(viewer, `{"calls":["`+id+`"]}`); st != http.StatusForbidden || msg == "" {
		t.Errorf("a viewer's bulk hang-up: %d %q, want 403", st, msg)
	}
	for _, r := range h.sim.Requests() {
		if r.Method == http.MethodDelete {
			t.Fatalf("Graph was asked to hang up after a refused bulk request: %s", r.Path)
		}
	}
	if c, _ := h.srv.View().Get(id); c.Ended() || c.State != calls.Incoming {
		t.Fatalf("the call changed: %+v", c)
	}
}
