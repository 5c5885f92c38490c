package liveview

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/eventlog"
	"switchboard/backend/natstest"
)

// gateArchive holds every Put until the gate opens, and says whether one
// has returned.
type gateArchive struct {
	gate     chan struct{}
	returned atomic.Bool
}

func (a *gateArchive) Put(ctx context.Context, _ calls.Call) error {
	defer a.returned.Store(true)
	select {
	case <-a.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *gateArchive) Delete(context.Context, string) error { return nil }

// TestASaveInFlightHoldsNothingUp: a save is written on a goroutine of its
// own, so the loop that applies events goes on while its writes wait (here
// at the archive); a call that changes meanwhile stays to save, from just
// after what was saved of it, and the next save writes it, so the saved
// state ends as the view is.
func TestASaveInFlightHoldsNothingUp(t *testing.T) {
	ctx := context.Background()
	log, err := eventlog.Open(ctx, natstest.JetStream(t), eventlog.Options{WriterLeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	arch := &gateArchive{gate: make(chan struct{})}
	v := New(log, &recordingPublisher{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Archive: arch})
	if held, err := v.lease.Acquire(ctx); !held || err != nil {
		t.Fatalf("lease: held %v, %v", held, err)
	}
	step := func(seq uint64, id string, st calls.State) {
		v.apply(ctx, eventlog.Record{Seq: seq, Event: event(id, st).Event})
	}
	step(1, "x", calls.Established)
	step(2, "ended", calls.Established)
	step(3, "ended", calls.Terminated)

	if !v.save(ctx, true) {
		t.Fatal("no save started")
	}
	if arch.returned.Load() {
		t.Fatal("the save's archive write returned before the save let its caller go: the loop waited for the writes")
	}
	step(4, "x", calls.Hold) // the loop goes on while the save is held
	close(arch.gate)
	v.awaitSave(ctx)
	if first, ok := v.dirty["x"]; !ok || first != 2 {
		t.Fatalf("x changed while its save was written: dirty %d, %v; want it unsaved from 2", first, ok)
	}
	if v.savedSeq != 3 {
		t.Fatalf("checkpoint %d after the first save, want 3 (what it was started at)", v.savedSeq)
	}
	if !v.save(ctx, true) {
		t.Fatal("no second save started")
	}
	v.awaitSave(ctx)
	loaded, applied, err := log.State().Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if loaded["x"].State != calls.Hold || loaded["x"].Seq != 4 || applied != 4 {
		t.Fatalf("saved x %s at %d, checkpoint %d; want on hold at 4, checkpoint 4", loaded["x"].State, loaded["x"].Seq, applied)
	}
	if len(v.dirty) != 0 || len(v.toArch) != 0 {
		t.Fatalf("left to save: %v, to archive: %d", v.dirty, len(v.toArch))
	}
}

// event is a notification moving call id to st.
func event(id string, st calls.State) eventlog.Entry {
	return eventlog.Entry{Event: calls.Event{Kind: calls.KindNotification, CallID: id, At: time.Now().UTC(),
		Change: &calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: st}}}
}

// TestASaveWritesTheKeptJSON: a save hands the state the JSON the events
// already encoded for a call at its sequence (the events' goroutine keeps
// it for snapshots), not the call to encode again; a call whose kept JSON
// is older goes to be encoded.
func TestASaveWritesTheKeptJSON(t *testing.T) {
	v := &View{calls: make(map[string]calls.Call), enc: make(map[string]encodedCall), dirty: make(map[string]uint64), gone: make(map[string]uint64)}
	for seq, id := range []string{"kept", "older"} {
		c, _ := calls.Apply(calls.Call{}, uint64(seq+1), event(id, calls.Established).Event)
		v.calls[id], v.dirty[id] = c, c.Seq
		v.encode([]feedwire.Message{{Type: feedwire.TypeCall, Seq: c.Seq, Call: &c}})
	}
	older := v.calls["older"]
	older.Seq, older.State = 3, calls.Hold // changed since it was encoded
	v.calls["older"] = older
	changed, _, _ := v.pending(3)
	for _, ch := range changed {
		switch kept := v.enc[ch.Call.ID].data; ch.Call.ID {
		case "kept":
			if unsafe.SliceData(ch.JSON) != unsafe.SliceData(kept) {
				t.Fatalf("the save encodes %s again (%q) instead of writing its kept JSON", ch.Call.ID, ch.JSON)
			}
		case "older":
			if ch.JSON != nil {
				t.Fatalf("the save writes %s's JSON of an older sequence: %s", ch.Call.ID, ch.JSON)
			}
		}
	}
	if len(changed) != 2 {
		t.Fatalf("%d calls to save, want 2", len(changed))
	}
}
