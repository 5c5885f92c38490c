package feedwatch

import (
	"slices"
	"testing"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

func snap(seq uint64, cs ...calls.Call) feedwire.Message {
	return feedwire.Message{Type: feedwire.TypeSnapshot, Seq: seq, Calls: cs}
}

func call(seq uint64, id string, state calls.State) feedwire.Message {
	return feedwire.Message{Type: feedwire.TypeCall, Seq: seq, Call: &calls.Call{ID: id, State: state, Seq: seq}}
}

func TestViewFollowsTheConsolesRules(t *testing.T) {
	type step struct {
		m    feedwire.Message
		want verdict
		kind Kind
	}
	steps := []step{
		{feedwire.Message{Type: "status"}, ignore, Status},                  // before any view: not applied
		{feedwire.Message{Type: feedwire.TypeResume, Seq: 3}, restart, Gap}, // no view to resume
		{snap(10, calls.Call{ID: "a", State: "established", Seq: 8}), apply, Snapshot},
		{call(11, "b", "establishing"), apply, ""},
		{call(12, "a", "terminated"), apply, ""},
		{call(12, "a", "terminated"), ignore, Doubled}, // the same change again
		{call(9, "a", "hold"), ignore, Doubled},        // covered by the snapshot
		{call(14, "b", "established"), apply, ""},
		{call(13, "c", "establishing"), ignore, OutOfOrder}, // after 14: can no longer apply
		{feedwire.Message{Type: feedwire.TypeResume, Seq: 14}, apply, Resumed},
		{feedwire.Message{Type: feedwire.TypeResume, Seq: 15}, restart, Gap},
		{snap(5), restart, StaleSnapshot}, // older than held: the rows stay
		{feedwire.Message{Type: feedwire.TypeRemoved, Seq: 16, CallID: "a"}, apply, ""},
		{feedwire.Message{Type: feedwire.TypeCall, Seq: 17}, restart, Protocol}, // a call message without a call
	}
	v := newView()
	for i, s := range steps {
		got, kind := v.take(s.m)
		if got != s.want || kind != s.kind {
			t.Fatalf("step %d (%s %d): verdict %v %q, want %v %q", i, s.m.Type, s.m.Seq, got, kind, s.want, s.kind)
		}
	}
	want := map[string]CallState{"b": {Seq: 14, State: "established"}}
	if v.held != 16 || len(v.calls) != 1 || v.calls["b"] != want["b"] {
		t.Fatalf("view held %d calls %+v, want 16 %+v", v.held, v.calls, want)
	}
	// A snapshot at or above what is held replaces everything.
	if got, _ := v.take(snap(20, calls.Call{ID: "z", State: "hold", Seq: 19})); got != apply || v.held != 20 || len(v.calls) != 1 {
		t.Fatalf("a newer snapshot: %v held %d calls %+v", got, v.held, v.calls)
	}
	if got, kind := v.take(call(18, "y", "establishing")); got != ignore || kind != Doubled {
		t.Fatalf("a change below the snapshot: %v %q, want ignored as doubled", got, kind)
	}
}

func TestLostAndDiffers(t *testing.T) {
	server := map[string]CallState{
		"a": {Seq: 30, State: "terminated"},
		"b": {Seq: 25, State: "established"}, // its change at 28 changed nothing
		"c": {Seq: 12, State: "hold"},
	}
	stored := []Change{{10, "a"}, {30, "a"}, {25, "b"}, {28, "b"}, {12, "c"}, {5, "gone"}}
	tests := []struct {
		name    string
		console map[string]CallState
		lost    []Change
		differs []string
	}{
		{"equal", map[string]CallState{"a": {30, "terminated"}, "b": {25, "established"}, "c": {12, "hold"}}, nil, nil},
		{"behind on a", map[string]CallState{"a": {10, "established"}, "b": {25, "established"}, "c": {12, "hold"}},
			[]Change{{30, "a"}}, []string{"a"}},
		{"wiped", map[string]CallState{}, []Change{{10, "a"}, {30, "a"}, {25, "b"}, {28, "b"}, {12, "c"}}, []string{"a", "b", "c"}},
		{"a ghost", map[string]CallState{"a": {30, "terminated"}, "b": {25, "established"}, "c": {12, "hold"}, "x": {3, "incoming"}},
			nil, []string{"x"}},
		{"same seq, other state", map[string]CallState{"a": {30, "established"}, "b": {25, "established"}, "c": {12, "hold"}},
			nil, []string{"a"}},
	}
	for _, tt := range tests {
		if got := Lost(tt.console, stored, server); !slices.Equal(got, tt.lost) {
			t.Errorf("%s: lost %v, want %v", tt.name, got, tt.lost)
		}
		if got := Differs(tt.console, server); !slices.Equal(got, tt.differs) {
			t.Errorf("%s: differs %v, want %v", tt.name, got, tt.differs)
		}
	}
}
