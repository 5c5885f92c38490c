package calls

import (
	"slices"
	"strconv"
	"switchboard/app/verbs"
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
	if _, changed := Apply(Call{}, 5, Event{Kind: KindAction, CallID: "x", Action: &Action{Verb: verbs.HangUp, Actor: "alice", Status: 204}}); changed {
		t.Fatal("an action created a call")
	}
	c, _ = Apply(c, 2, Event{Kind: KindAction, CallID: "c1", At: t0, Action: &Action{Verb: verbs.Reject, Reason: "busy", Actor: "alice", Status: 409, Error: "already answered"}})
	if c.EndedBy != "" || c.LastAction == nil || c.LastAction.Error == "" {
		t.Fatalf("failed action: %+v", c)
	}
	c, _ = Apply(c, 3, Event{Kind: KindAction, CallID: "c1", At: t0, Action: &Action{Verb: verbs.HangUp, Actor: "alice", Status: 204}})
	if c.EndedBy != "alice" || c.EndAction != verbs.HangUp {
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

// withResult is note with a resultInfo.
func withResult(ev Event, code, sub int) Event {
	ev.Change.Result = &Result{Code: code, Subcode: sub}
	return ev
}

func TestResultsFollowTheCall(t *testing.T) {
	terminal := func(reason string, sec int) Event {
		ev := note("deleted", Terminated, sec)
		ev.Change.TerminationReason = reason
		return ev
	}
	tests := []struct {
		name        string
		events      []Event
		state       State
		result      *Result
		termination string
	}{
		{"a failed transfer keeps its result", []Event{note("updated", Established, 1), note("updated", Transferring, 2), withResult(note("updated", Established, 3), 500, 7700)},
			Established, &Result{500, 7700, ""}, ""},
		{"a tone after it keeps it too", []Event{note("updated", Established, 1), note("updated", Transferring, 2), withResult(note("updated", Established, 3), 500, 7700), note("updated", Established, 4)},
			Established, &Result{500, 7700, ""}, ""},
		{"a new transfer clears it", []Event{note("updated", Established, 1), withResult(note("updated", Established, 3), 500, 7700), note("updated", Transferring, 4)},
			Transferring, nil, ""},
		{"retried and completed: the end has only its terminationReason", []Event{note("updated", Established, 1), note("updated", Transferring, 2),
			withResult(note("updated", Established, 3), 500, 7700), note("updated", Transferring, 4), note("updated", TransferAccepted, 5), terminal("AppTransferred", 6)},
			Terminated, nil, "AppTransferred"},
		{"a bare deleted after a failure says nothing of it", []Event{note("updated", Established, 1), withResult(note("updated", Established, 3), 500, 7000), note("deleted", "", 4)},
			Terminated, nil, ""},
		{"a late terminationReason fills in", []Event{note("updated", Established, 1), note("updated", Terminated, 2), terminal("AppInitiated", 3)},
			Terminated, nil, "AppInitiated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fold(tt.events...)
			if c.State != tt.state || c.TerminationReason != tt.termination {
				t.Fatalf("state %q reason %q, want %q %q", c.State, c.TerminationReason, tt.state, tt.termination)
			}
			if (c.Result == nil) != (tt.result == nil) || (c.Result != nil && *c.Result != *tt.result) {
				t.Fatalf("result = %+v, want %+v", c.Result, tt.result)
			}
		})
	}
}

func TestTransferEndsOnlyWhenItCompletes(t *testing.T) {
	act := func(seq uint64, v verbs.Verb, status int) Event {
		return Event{Kind: KindAction, CallID: "c1", At: t0, Action: &Action{Verb: v, Target: "+15550100", Actor: "alice", Status: status}}
	}
	c := fold(note("created", Incoming, 0), note("updated", Established, 1))
	c, _ = Apply(c, 3, act(3, verbs.Transfer, 202))
	c, _ = Apply(c, 4, note("updated", Transferring, 4))
	c, _ = Apply(c, 5, withResult(note("updated", Established, 5), 500, 7000))
	if c.EndedBy != "" || c.EndAction != "" {
		t.Fatalf("a failed transfer still says who ended the call: %+v", c)
	}
	c, _ = Apply(c, 6, act(6, verbs.Transfer, 202))
	c, _ = Apply(c, 7, note("updated", Transferring, 7))
	c, _ = Apply(c, 8, note("deleted", Terminated, 8))
	if c.EndedBy != "alice" || c.EndAction != verbs.Transfer || c.EndTarget != "+15550100" {
		t.Fatalf("the completed transfer: %+v", c)
	}
}

func TestReconciledEndGivesWayToGraph(t *testing.T) {
	c := fold(note("created", Incoming, 0), note("updated", Established, 1))
	c, _ = Apply(c, 5, Event{Kind: KindReconciled, CallID: "c1", At: t0, Change: &Change{ChangeType: "deleted", Resource: ResourceCall, Result: &Result{Code: 404, Subcode: 8522}}})
	late := note("deleted", Terminated, 9)
	late.Change.TerminationReason = "AppTransferred"
	c, _ = Apply(c, 6, late)
	if c.Reconciled || c.Result != nil || c.TerminationReason != "AppTransferred" || !c.Ended() {
		t.Fatalf("Graph's late word on the end: %+v", c)
	}
}

func TestEnrichedFillsInAndNeverMoves(t *testing.T) {
	c := fold(note("updated", Establishing, 0), note("updated", Hold, 2))
	src := Party{Kind: "user", ID: "u1", DisplayName: "Ada"}
	ev := Event{Kind: KindEnriched, CallID: "c1", At: t0.Add(3 * time.Second), Change: &Change{ChangeType: "updated", Resource: ResourceCall,
		State: Established, Direction: DirectionOutgoing, Source: &src, Targets: []Party{{Kind: "phone", ID: "+1555", Phone: "+1555"}}, Subject: "Read back"}}
	c, changed := Apply(c, 3, ev)
	if !changed || c.State != Hold || c.Source != src || len(c.Targets) != 1 || c.Direction != DirectionOutgoing || c.Subject != "Read back" {
		t.Fatalf("enriched: %+v", c)
	}
	src2 := Party{Kind: "user", ID: "u2"}
	ev.Change.Source, ev.Change.Subject = &src2, "Older"
	if c2, _ := Apply(c, 4, ev); c2.Source != src || c2.Subject != "Read back" {
		t.Fatalf("a read replaced what was known: %+v", c2)
	}
	// A call known only by a roster learns its state from the read.
	r, _ := Apply(Call{}, 1, Event{Kind: KindNotification, CallID: "r1", At: t0, Change: &Change{ChangeType: "updated", Resource: ResourceParticipants, RosterMode: RosterFull, Roster: []Participant{{ID: "p1"}}}})
	r, _ = Apply(r, 2, Event{Kind: KindEnriched, CallID: "r1", At: t0.Add(time.Second), Change: &Change{Resource: ResourceCall, State: Established}})
	if r.State != Established || r.AnsweredAt.IsZero() {
		t.Fatalf("roster-only call after the read: %+v", r)
	}
}

func TestRoster(t *testing.T) {
	ada := Participant{ID: "p-ada", Party: Party{Kind: "user", ID: "u-ada", DisplayName: "Ada"}}
	bob := Participant{ID: "p-bob", Party: Party{Kind: "user", ID: "u-bob", DisplayName: "Bob"}}
	bot := Participant{ID: "p-bot", Party: Party{Kind: "application", ID: "app", DisplayName: "Bot"}}
	roster := func(seq uint64, mode string, ps ...Participant) Event {
		return Event{Kind: KindNotification, CallID: "g1", At: t0.Add(time.Duration(seq) * time.Second),
			Change: &Change{ChangeType: "updated", Resource: ResourceParticipants, RosterMode: mode, Roster: ps, Participants: len(ps)}}
	}
	c, _ := Apply(Call{}, 1, Event{Kind: KindNotification, CallID: "g1", At: t0, Change: &Change{ChangeType: "created", Resource: ResourceCall, State: Established, MyParticipantID: "p-bot"}})
	c, _ = Apply(c, 2, roster(2, RosterFull, bot, ada))
	if c.Group || c.Participants != 2 {
		t.Fatalf("bot and one person: %+v", c)
	}
	c, _ = Apply(c, 3, roster(3, RosterFull, bob, ada, bot))
	if !c.Group || c.Participants != 3 || c.Roster[0].ID != "p-bot" || c.Roster[2].ID != "p-bob" {
		t.Fatalf("order kept, newcomer last, a group now: %+v", c.Roster)
	}
	mutedBob := bob
	mutedBob.Muted = true
	mutedBob.Party = Party{} // an update may leave the identity out
	c, _ = Apply(c, 4, roster(4, RosterUpsert, mutedBob))
	if p, _ := c.Participant("p-bob"); !p.Muted || p.Party.DisplayName != "Bob" || c.Participants != 3 {
		t.Fatalf("upsert: %+v (%d)", p, c.Participants)
	}
	c, _ = Apply(c, 5, roster(5, RosterRemove, ada))
	if _, ok := c.Participant("p-ada"); ok || c.Participants != 2 {
		t.Fatalf("remove: %+v", c.Roster)
	}
	gone := bob
	gone.Removed = "left"
	c, _ = Apply(c, 6, roster(6, RosterUpsert, gone))
	if _, ok := c.Participant("p-bob"); ok || c.Participants != 1 {
		t.Fatalf("delta removal: %+v", c.Roster)
	}
	d := DiffRoster([]Participant{ada, bob}, []Participant{mutedBob, bot})
	if len(d.Joined) != 1 || len(d.Left) != 1 || len(d.Muted) != 1 || d.Empty() {
		t.Fatalf("diff: %+v", d)
	}
	// A mute is recorded; the roster shows it once Graph's roster says so.
	c, _ = Apply(c, 7, roster(7, RosterFull, bot, ada, bob))
	c, _ = Apply(c, 8, Event{Kind: KindAction, CallID: "g1", At: t0, Action: &Action{Verb: verbs.Mute, Participant: "p-ada", Actor: "alice", Status: 200}})
	if p, _ := c.Participant("p-ada"); p.Muted || c.EndedBy != "" || c.LastAction.Verb != verbs.Mute {
		t.Fatalf("muted by alice, before Graph's roster: %+v", c)
	}
	big := make([]Participant, MaxRoster+10)
	for i := range big {
		big[i] = Participant{ID: "p" + strconv.Itoa(i)}
	}
	c, _ = Apply(c, 9, roster(9, RosterFull, big...))
	if len(c.Roster) != MaxRoster || c.Participants != MaxRoster+10 {
		t.Fatalf("a big meeting: %d kept, %d counted", len(c.Roster), c.Participants)
	}
}

func TestCanonicalID(t *testing.T) {
	for in, want := range map[string]string{
		"57DAB8B1894C409AB240BD8BEAE78896":     "57dab8b1-894c-409a-b240-bd8beae78896",
		"57DAB8B1-894C-409A-B240-BD8BEAE78896": "57dab8b1-894c-409a-b240-bd8beae78896",
		"57dab8b1-894c-409a-b240-bd8beae78896": "57dab8b1-894c-409a-b240-bd8beae78896",
		"not-a-guid":                           "not-a-guid",
		"57dab8b1894c409ab240bd8beae7889Z":     "57dab8b1894c409ab240bd8beae7889Z",
		"57dab8b1-894c409a-b240-bd8beae788967": "57dab8b1-894c409a-b240-bd8beae788967",
	} {
		if got := CanonicalID(in); got != want {
			t.Errorf("CanonicalID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOperationsAndTonesChangeNoState(t *testing.T) {
	c := fold(note("created", Incoming, 0), note("updated", Established, 1))
	op := Operation{ID: "op1", Kind: "record", Status: "completed", Deleted: true, Result: &Result{Code: 200, Subcode: 8515}}
	c2, changed := Apply(c, 3, Event{Kind: KindNotification, CallID: "c1", At: t0, Change: &Change{ChangeType: "deleted", Resource: ResourceOperation, Operation: &op}})
	if !changed || c2.Ended() || c2.State != Established || c2.LastOperation == nil || c2.LastOperation.Result.Subcode != 8515 {
		t.Fatalf("operation: %+v", c2)
	}
	tone := note("updated", Established, 4)
	tone.Change.Tone = &Tone{Tone: "tonePound", Sequence: 2}
	tone.Change.MediaState = &MediaState{Audio: "inactive"}
	c3, changed := Apply(c2, 4, tone)
	if !changed || c3.LastTone.Key() != "#" || c3.MediaState.Audio != "inactive" {
		t.Fatalf("tone: %+v", c3)
	}
}

func TestReachedStatesAndActors(t *testing.T) {
	c := fold(note("created", Incoming, 0), note("updated", Established, 1), note("updated", Establishing, 2),
		note("updated", Hold, 3), note("updated", Established, 4))
	for _, who := range []string{"alice", "bob", "alice"} {
		c, _ = Apply(c, c.Seq+1, Event{Kind: KindAction, CallID: "c1", At: t0, Action: &Action{Verb: verbs.Mute, Actor: who, Status: 409, Error: "no"}})
	}
	c, _ = Apply(c, c.Seq+1, note("deleted", "", 9))
	want := []State{Incoming, Established, Hold, Terminated} // a late establishing was never reached
	if !slices.Equal(c.Reached, want) {
		t.Fatalf("reached %v, want %v", c.Reached, want)
	}
	if !slices.Equal(c.Actors, []string{"alice", "bob"}) {
		t.Fatalf("actors %v, want alice and bob once each", c.Actors)
	}
}
