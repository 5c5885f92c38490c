package history

import (
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/verbs"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func graph(ch calls.Change) calls.Event {
	return calls.Event{Kind: calls.KindNotification, CallID: "g1", At: t0, Change: &ch}
}

func entries(evs ...calls.Event) []Entry {
	out := make([]Entry, len(evs))
	for i, ev := range evs {
		out[i] = Entry{Seq: uint64(i + 1), Event: ev}
	}
	return out
}

func TestTell(t *testing.T) {
	ada := calls.Participant{ID: "pa", Party: calls.Party{Kind: "user", ID: "ua", DisplayName: "Ada"}}
	bob := calls.Participant{ID: "pb", Party: calls.Party{Kind: "user", ID: "ub", DisplayName: "Bob"}}
	cy := calls.Participant{ID: "pc", Party: calls.Party{Kind: "user", ID: "uc", DisplayName: "Cy"}, InLobby: true}
	mutedBob, recAda, admitted := bob, ada, cy
	mutedBob.Muted, recAda.Recording, admitted.InLobby = true, "recording", false
	src := calls.Party{Kind: "phone", ID: "+15550100", Phone: "+15550100"}
	roster := func(ps ...calls.Participant) calls.Event {
		return graph(calls.Change{ChangeType: "updated", Resource: calls.ResourceParticipants, RosterMode: calls.RosterFull, Roster: ps, Participants: len(ps)})
	}
	op := func(o calls.Operation) calls.Event {
		return graph(calls.Change{ChangeType: "deleted", Resource: calls.ResourceOperation, Operation: &o})
	}
	evs := []calls.Event{
		graph(calls.Change{ChangeType: "created", Resource: calls.ResourceCall, State: calls.Incoming, Source: &src, Targets: []calls.Party{{Kind: "application", DisplayName: "Bot"}}}),
		graph(calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: calls.Established, MediaState: &calls.MediaState{Audio: "active"}}),
		roster(ada, bob),
		roster(ada, mutedBob, cy),
		roster(recAda, mutedBob, admitted),
		roster(recAda, admitted),
		graph(calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: calls.Established, Tone: &calls.Tone{Tone: "toneStar", Sequence: 3}}),
		op(calls.Operation{Kind: "record", Status: "completed", Deleted: true, Result: &calls.Result{Code: 200, Subcode: 8515, Message: "Action completed, max record duration reached."}}),
		op(calls.Operation{Kind: "record", Status: "failed", Deleted: true, Result: &calls.Result{Code: 400, Subcode: 8508}}),
		op(calls.Operation{Kind: "inviteParticipants", Status: "failed", Participants: []calls.Party{{DisplayName: "Pia"}}, Result: &calls.Result{Code: 500, Message: "could not invite"}}),
		{Kind: calls.KindAction, CallID: "g1", At: t0, Action: &calls.Action{Verb: verbs.Transfer, Target: "+15550199", Actor: "alice", Status: 202}},
		graph(calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: calls.Transferring}),
		graph(calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: calls.Established, Result: &calls.Result{Code: 500, Subcode: 7700}}),
		{Kind: calls.KindAction, CallID: "g1", At: t0, Action: &calls.Action{Verb: verbs.Mute, Participant: "pa", ParticipantName: "Ada", Actor: "bob", Status: 502, Error: "Graph refused"}},
		graph(calls.Change{ChangeType: "deleted", Resource: calls.ResourceCall, State: calls.Terminated, TerminationReason: "AppTransferred"}),
		{Kind: calls.KindAction, CallID: "g1", At: t0, Action: &calls.Action{Verb: "teleport", Actor: "eve", Status: 200}},
	}
	want := []string{
		"incoming call; from +15550100 to Bot",
		"established; audio active",
		"in the call: Ada, Bob (2 participants)",
		"Bob was muted; Cy is waiting in the lobby (3 participants)",
		"Cy was admitted from the lobby; Ada started recording (3 participants)",
		"Bob left (2 participants)",
		"tone * pressed (tone 3 of the call)",
		"recording a response: completed, stopped: the maximum recording length was reached (200/8515)",
		"recording a response: failed, stopped: the operation was cancelled (400/8508)",
		`inviting participants (Pia): failed, Graph said "could not invite" (500/0)`,
		"transfer by alice to +15550199: accepted",
		"transferring",
		"the transfer failed; the call is established again; Graph reports The transfer failed: the transfer target could not be reached. (500/7700)",
		"mute by bob: Ada: failed, Graph refused",
		"ended: The call was transferred by the bot. (AppTransferred)",
		`unknown action "teleport" by eve: accepted`,
	}
	lines := Tell(entries(evs...))
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		if l.Text != want[i] {
			t.Errorf("line %d = %q\n             want %q", i+1, l.Text, want[i])
		}
		if l.Seq != uint64(i+1) || l.Kind == "" {
			t.Errorf("line %d: seq %d kind %q", i+1, l.Seq, l.Kind)
		}
	}
}

func TestTellAskedAndGhosts(t *testing.T) {
	src := calls.Party{Kind: "user", DisplayName: "Ada"}
	lines := Tell(entries(
		graph(calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: calls.Establishing}),
		calls.Event{Kind: calls.KindEnriched, CallID: "g1", At: t0, Change: &calls.Change{Resource: calls.ResourceCall, State: calls.Established, Direction: "outgoing", Source: &src, Subject: "Weekly"}},
		calls.Event{Kind: calls.KindReconciled, CallID: "g1", At: t0, Change: &calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: calls.Established}},
		calls.Event{Kind: calls.KindReconciled, CallID: "g1", At: t0, Change: &calls.Change{ChangeType: "deleted", Resource: calls.ResourceCall, State: calls.Terminated, Result: &calls.Result{Code: 404, Subcode: 8522}}},
		graph(calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: calls.Established}),
	))
	want := []string{
		"establishing",
		`asked about the call, Graph said: established, outgoing, from Ada, subject "Weekly"`,
		"asked about the call, Graph said: established",
		"ended by Switchboard: Graph no longer knows the call",
		"after the end; established",
	}
	for i, l := range lines {
		if !strings.EqualFold(l.Text, want[i]) {
			t.Errorf("line %d = %q, want %q", i+1, l.Text, want[i])
		}
	}
	if lines[1].Kind != "Graph, asked" {
		t.Errorf("kind = %q", lines[1].Kind)
	}
}
