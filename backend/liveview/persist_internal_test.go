package liveview

import (
	"fmt"
	"testing"

	"switchboard/app/calls"
)

// TestTheCheckpointMovesUnderABacklog: when more calls wait than one save
// writes, the oldest changes go first and the checkpoint moves to just
// below the oldest change left, instead of waiting for the backlog to
// drain.
func TestTheCheckpointMovesUnderABacklog(t *testing.T) {
	v := &View{calls: make(map[string]calls.Call), dirty: make(map[string]uint64), gone: make(map[string]uint64)}
	const n = maxSavePerRound + 500
	for i := range n {
		id := fmt.Sprintf("c%05d", i)
		seq := uint64(1000 + i) // c00000 changed first
		v.calls[id] = calls.Call{ID: id, Seq: seq}
		v.dirty[id] = seq
	}
	changed, _, checkpoint := v.pending(1000 + n - 1)
	if len(changed) != maxSavePerRound {
		t.Fatalf("a save writes %d calls, want %d", len(changed), maxSavePerRound)
	}
	for _, ch := range changed {
		if c := ch.Call; c.Seq >= 1000+maxSavePerRound {
			t.Fatalf("call %s (first unsaved change %d) saved before older ones", c.ID, c.Seq)
		}
	}
	if want := uint64(1000 + maxSavePerRound - 1); checkpoint != want {
		t.Fatalf("checkpoint %d, want %d: just below the oldest change left", checkpoint, want)
	}
	for _, ch := range changed {
		delete(v.dirty, ch.Call.ID)
	}
	if _, _, checkpoint := v.pending(1000 + n - 1); checkpoint != 1000+n-1 {
		t.Fatalf("with everything saved the checkpoint is %d, want the view's sequence %d", checkpoint, 1000+n-1)
	}
}

// TestGoneCallsWaitForTheCheckpoint: a pruned call whose saved state is
// current leaves the saved state only once the checkpoint covers its last
// change (a restart would otherwise replay its events and bring it back);
// a pruned call never saved in its last state, or an erased one, goes at
// once.
func TestGoneCallsWaitForTheCheckpoint(t *testing.T) {
	v := &View{calls: map[string]calls.Call{"busy": {ID: "busy", Seq: 1}}, dirty: map[string]uint64{"busy": 10},
		gone: map[string]uint64{"saved": 50, "old": 5, "unsaved": forgetNow}}
	for range maxSavePerRound {
		id := fmt.Sprintf("x%d", len(v.calls))
		v.calls[id] = calls.Call{ID: id}
		v.dirty[id] = 20
	}
	_, gone, checkpoint := v.pending(100)
	if checkpoint != 19 {
		t.Fatalf("checkpoint %d, want 19", checkpoint)
	}
	got := map[string]bool{}
	for _, id := range gone {
		got[id] = true
	}
	if !got["old"] || !got["unsaved"] || got["saved"] || len(gone) != 2 {
		t.Fatalf("forgotten %v, want old and unsaved, not saved", gone)
	}
}
