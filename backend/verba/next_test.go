package verba

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/audit"
	"switchboard/backend/natstest"
)

// TestNextCall arms deletions of an extension's next call and starts calls
// before, inside and after the window.
func TestNextCall(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	other := f.replica(t)
	arm := func(ext, status string) {
		t.Helper()
		r := f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", f.keys["open"], "extension", ext, "status", status), "", "")
		checkReply(t, r, 200, "DeleteCall", "", "armed: the next call of extension \""+ext+"\"")
	}
	newCall := func(id string, started time.Time, state calls.State, ps ...calls.Party) calls.Call {
		return calls.Call{ID: id, State: state, Source: ps[0], Targets: ps[1:], StartedAt: started, UpdatedAt: started}
	}
	armedAt := f.clock.now()
	cases := []struct {
		name           string
		arm            string // extension to arm first, "" for none
		call           calls.Call
		erased, marked []string
	}{
		{name: "a call older than the request is not it", arm: "9999",
			call: newCall("old", armedAt.Add(-time.Second), calls.Established, party("9999", ""))},
		{name: "the next call as source is marked", // the arm is still there from the case above
			call: newCall("n1", armedAt.Add(10*time.Second), calls.Incoming, party("9999", "")), marked: []string{"n1"}},
		{name: "the arm is used up",
			call: newCall("n2", armedAt.Add(20*time.Second), calls.Incoming, party("9999", ""))},
		{name: "the next call as target by user id", arm: "u-zoe",
			call: newCall("n3", armedAt.Add(30*time.Second), calls.Establishing, party("+1555", ""), party("", "u-zoe")), marked: []string{"n3"}},
		{name: "a call already ended is deleted", arm: "9999",
			call: newCall("n4", armedAt.Add(40*time.Second), calls.Terminated, party("9999", "")), erased: []string{"n4"}},
		{name: "another extension's call is not it", arm: "9999",
			call: newCall("n5", armedAt.Add(50*time.Second), calls.Incoming, party("8888", ""))},
		{name: "a call after the minute is not it", arm: "9999",
			call: newCall("n6", armedAt.Add(NextWindow+time.Second), calls.Incoming, party("9999", ""))},
		{name: "and the late call cleared the arm",
			call: newCall("n7", armedAt.Add(NextWindow/2), calls.Incoming, party("9999", ""))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.store.reset(nil)
			if tc.arm != "" {
				arm(tc.arm, "next")
			}
			// Both replicas hear of the call; only one may use the arm.
			f.svc.CallStarted(t.Context(), tc.call)
			other.svc.CallStarted(t.Context(), tc.call)
			erased, marked := f.store.effects()
			if !slices.Equal(erased, tc.erased) || !slices.Equal(marked, tc.marked) {
				t.Errorf("erased %v marked %v, want %v and %v", erased, marked, tc.erased, tc.marked)
			}
		})
	}

	t.Run("audit", func(t *testing.T) {
		var armed, marked int
		for _, e := range f.audit.all() {
			switch {
			case e.Action == ActionArmNext && e.Actor == "apikey:open" && strings.Contains(e.Detail, "status next"):
				armed++
			case e.Action == audit.ActionMark && e.Target == "n1" && e.Actor == "apikey:open":
				marked++
			}
		}
		if armed != 5 || marked != 1 {
			t.Errorf("%d arm entries and %d marking entries for n1, want 5 and 1", armed, marked)
		}
	})
}

// TestNextRearm: arming again restarts the minute.
func TestNextRearm(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	p := vals("action", "DeleteCall", "apiKey", f.keys["open"], "extension", "9999", "status", "next")
	checkReply(t, f.call(t, http.MethodPost, p, "", ""), 200, "DeleteCall", "", "armed")
	f.clock.add(50 * time.Second)
	checkReply(t, f.call(t, http.MethodPost, p, "", ""), 200, "DeleteCall", "", "armed")
	started := f.clock.now().Add(50 * time.Second) // 100 s after the first request
	f.svc.CallStarted(t.Context(), calls.Call{ID: "late", State: calls.Incoming, Source: party("9999", ""), StartedAt: started})
	if _, marked := f.store.effects(); !slices.Equal(marked, []string{"late"}) {
		t.Errorf("marked %v, want [late]", marked)
	}
}
