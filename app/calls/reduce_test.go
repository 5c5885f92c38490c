package calls

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func note(changeType string, st State, sec int) Event {
	return Event{Kind: KindNotification, CallID: "c1", At: t0.Add(time.Duration(sec) * time.Second),
		Change: &Change{ChangeType: changeType, Resource: ResourceCall, State: st}}
}

func fold(evs ...Event) Call {
	var c Call
	for i, ev := range evs {
		c, _ = Apply(c, uint64(i+1), ev)
	}
	return c
}

func TestApplyStateMachine(t *testing.T) {
	ended := func(code, sub int) Event {
		ev := note("deleted", Terminated, 9)
		ev.Change.Result = &Result{Code: code, Subcode: sub, Message: "The conversation has ended."}
		return ev
	}
	tests := []struct {
		name   string
		events []Event
		want   State
		result *Result
	}{
		{"seed hang up", []Event{note("created", Incoming, 0), note("updated", Establishing, 1), note("updated", Established, 2), note("updated", Terminating, 3), ended(200, 5001)}, Terminated, &Result{200, 5001, "The conversation has ended."}},
		{"reject deleted without state", []Event{note("created", Incoming, 0), note("deleted", "", 1)}, Terminated, nil},
		{"established before establishing", []Event{note("created", Incoming, 0), note("updated", Established, 2), note("updated", Establishing, 1)}, Established, nil},
		{"updated after deleted", []Event{note("created", Incoming, 0), ended(200, 5001), note("updated", Established, 10)}, Terminated, &Result{200, 5001, "The conversation has ended."}},
		{"terminated before established", []Event{note("created", Incoming, 0), note("updated", Terminated, 1), note("updated", Established, 2)}, Terminated, nil},
		{"hold and back", []Event{note("created", Incoming, 0), note("updated", Established, 1), note("updated", Hold, 2), note("updated", Established, 3)}, Established, nil},
		{"failed transfer returns", []Event{note("updated", Established, 1), note("updated", Transferring, 2), note("updated", Established, 3)}, Established, nil},
		{"unknown future state kept", []Event{note("updated", Established, 1), note("updated", "parked", 2)}, "parked", nil},
		{"terminating then late established", []Event{note("updated", Established, 1), note("updated", Terminating, 2), note("updated", Established, 3)}, Terminating, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fold(tt.events...)
			if c.State != tt.want {
				t.Fatalf("state = %q, want %q", c.State, tt.want)
			}
			if (c.Result == nil) != (tt.result == nil) || (c.Result != nil && *c.Result != *tt.result) {
				t.Fatalf("result = %+v, want %+v", c.Result, tt.result)
			}
			if c.Ended() != c.EndedAt.After(time.Time{}) {
				t.Fatalf("ended %v but EndedAt %v", c.Ended(), c.EndedAt)
			}
		})
	}
}

func TestApplyIdempotentAndOrderFree(t *testing.T) {
	evs := []Event{note("created", Incoming, 0), note("updated", Establishing, 1), note("updated", Established, 2), note("updated", Terminating, 3), note("deleted", Terminated, 4)}
	want := fold(evs...)
	// The same events again, at later sequences, change nothing.
	c := want
	for i, ev := range evs {
		var changed bool
		if c, changed = Apply(c, uint64(10+i), ev); changed {
			t.Fatalf("redelivery %d changed the call", i)
		}
	}
	// Applying an already applied sequence changes nothing either.
	if _, changed := Apply(want, want.Seq, note("created", Incoming, 0)); changed {
		t.Fatal("an old sequence changed the call")
	}
	// A swap of establishing/established converges on the same state.
	swapped := fold(evs[0], evs[2], evs[1], evs[3], evs[4])
	if swapped.State != want.State || !swapped.AnsweredAt.Equal(want.AnsweredAt) {
		t.Fatalf("swapped = %+v, want %+v", swapped, want)
	}
}

func TestApplyActionsAndParticipants(t *testing.T) {
	c := fold(note("created", Incoming, 0))
	if _, changed := Apply(Call{}, 5, Event{Kind: KindAction, CallID: "x", Action: &Action{Verb: VerbHangUp, Actor: "alice", Status: 204}}); changed {
		t.Fatal("an action created a call")
	}
	c, _ = Apply(c, 2, Event{Kind: KindAction, CallID: "c1", At: t0, Action: &Action{Verb: VerbReject, Reason: "busy", Actor: "alice", Status: 409, Error: "already answered"}})
	if c.EndedBy != "" || c.LastAction == nil || c.LastAction.Error == "" {
		t.Fatalf("failed action: %+v", c)
	}
	c, _ = Apply(c, 3, Event{Kind: KindAction, CallID: "c1", At: t0, Action: &Action{Verb: VerbHangUp, Actor: "alice", Status: 204}})
	if c.EndedBy != "alice" || c.EndAction != VerbHangUp {
		t.Fatalf("hang up not recorded: %+v", c)
	}
	c, _ = Apply(c, 4, Event{Kind: KindNotification, CallID: "c1", At: t0, Change: &Change{ChangeType: "deleted", Resource: ResourceParticipants, Participants: 0}})
	if c.Ended() {
		t.Fatal("a participants deletion ended the call")
	}
	c, _ = Apply(c, 5, Event{Kind: KindNotification, CallID: "c1", At: t0, Change: &Change{ChangeType: "updated", Resource: ResourceParticipants, Participants: 3}})
	if c.Participants != 3 {
		t.Fatalf("participants = %d", c.Participants)
	}
	c, _ = Apply(c, 6, Event{Kind: KindMarked, CallID: "c1", At: t0})
	if !c.MarkedForDeletion || c.Seq != 6 {
		t.Fatalf("mark: %+v", c)
	}
}

func TestReconciledEnd(t *testing.T) {
	c := fold(note("created", Incoming, 0), note("updated", Established, 1))
	c, _ = Apply(c, 9, Event{Kind: KindReconciled, CallID: "c1", At: t0.Add(time.Hour), Change: &Change{ChangeType: "deleted", Resource: ResourceCall, Result: &Result{Code: 404, Subcode: 8522, Message: "reconciled"}}})
	if !c.Ended() || !c.Reconciled || c.Duration(t0.Add(2*time.Hour)) != time.Hour-time.Second {
		t.Fatalf("reconciled: %+v (duration %v)", c, c.Duration(t0.Add(2*time.Hour)))
	}
}
