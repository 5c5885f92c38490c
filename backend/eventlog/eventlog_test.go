package eventlog_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/natsrun"
)

func openLog(t *testing.T) *eventlog.Log {
	t.Helper()
	ctx := context.Background()
	conn, err := natsrun.Open(ctx, natsrun.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	log, err := eventlog.Open(ctx, conn.JS, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func note(id string, st calls.State) calls.Event {
	return calls.Event{Kind: calls.KindNotification, CallID: id, At: time.Now().UTC(),
		Change: &calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: st}}
}

func TestAppendDeduplicatesAndFollowKeepsOrder(t *testing.T) {
	ctx := context.Background()
	log := openLog(t)
	dups, err := log.Append(ctx, []eventlog.Entry{{ID: "a", Event: note("c.1 with dots", calls.Incoming)}, {ID: "a", Event: note("c.1 with dots", calls.Incoming)}, {Event: note("c2", calls.Established)}})
	if err != nil || dups != 1 {
		t.Fatalf("append: %d duplicates, %v", dups, err)
	}
	ch := log.Follow(ctx, 1, eventlog.FollowOptions{})
	for want := uint64(1); want <= 2; want++ {
		select {
		case rec := <-ch:
			if rec.Seq != want {
				t.Fatalf("record %d has seq %d", want, rec.Seq)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no record")
		}
	}
}

func TestEraseRemovesEventsAndState(t *testing.T) {
	ctx := context.Background()
	log := openLog(t)
	log.Append(ctx, []eventlog.Entry{{Event: note("gone", calls.Incoming)}, {Event: note("kept", calls.Incoming)}, {Event: note("gone", calls.Terminated)}})
	st := log.State()
	if err := st.Save(ctx, []eventlog.Change{{Call: calls.Call{ID: "gone", Seq: 3}}, {Call: calls.Call{ID: "kept", Seq: 2}}}, nil, 3); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // erasing twice is not an error
		if err := log.Erase(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
	}
	if recs, _ := log.History(ctx, "gone"); len(recs) != 0 {
		t.Fatalf("erased call still has %d events", len(recs))
	}
	if recs, _ := log.History(ctx, "kept"); len(recs) != 1 {
		t.Fatalf("the other call lost its events: %d", len(recs))
	}
	loaded, applied, err := log.State().Load(ctx)
	if err != nil || applied != 3 {
		t.Fatalf("load: %v, applied %d", err, applied)
	}
	if _, ok := loaded["gone"]; ok || len(loaded) != 1 {
		t.Fatalf("state after erase: %v", loaded)
	}
	last, _ := log.LastSeq(ctx)
	if last != 4 { // three events and one tombstone: the second erase was a duplicate
		t.Fatalf("last seq %d, want 4", last)
	}
}

func TestStateNeverMovesBackwards(t *testing.T) {
	ctx := context.Background()
	log := openLog(t)
	ahead, lagging := log.State(), log.State() // two replicas
	if err := ahead.Save(ctx, []eventlog.Change{{Call: calls.Call{ID: "c", State: calls.Terminated, Seq: 10}}}, nil, 10); err != nil {
		t.Fatal(err)
	}
	if err := lagging.Save(ctx, []eventlog.Change{{Call: calls.Call{ID: "c", State: calls.Established, Seq: 5}}}, nil, 5); err != nil {
		t.Fatal(err)
	}
	loaded, applied, err := log.State().Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if loaded["c"].Seq != 10 || applied != 10 {
		t.Fatalf("a lagging replica rolled the state back: %+v, applied %d", loaded["c"], applied)
	}
	if err := lagging.Save(ctx, []eventlog.Change{{Call: calls.Call{ID: "c", State: calls.Terminated, Seq: 12}}}, nil, 12); err != nil {
		t.Fatal(err)
	}
	loaded, applied, _ = log.State().Load(ctx)
	if loaded["c"].Seq != 12 || applied != 12 {
		t.Fatalf("a replica that caught up could not write: %+v, applied %d", loaded["c"], applied)
	}
}

// TestHistoryLeavesNothingBehind reads a call's history 10,000 times in a
// row: no consumer is left on the stream, and the last read is as complete
// as the first. Each read used to leave a consumer for five minutes, and a
// thousand of them stopped the log for everyone.
func TestHistoryLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	conn, err := natsrun.Open(ctx, natsrun.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	log, err := eventlog.Open(ctx, conn.JS, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log.Append(ctx, []eventlog.Entry{{Event: note("h", calls.Incoming)}, {Event: note("h", calls.Established)}})
	stream, err := conn.JS.Stream(ctx, eventlog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := stream.Info(ctx)
	for i := range 10_000 {
		recs, err := log.History(ctx, "h")
		if err != nil || len(recs) != 2 {
			t.Fatalf("read %d: %d events, %v", i, len(recs), err)
		}
	}
	after, _ := stream.Info(ctx)
	if after.State.Consumers != before.State.Consumers {
		t.Fatalf("consumers went from %d to %d", before.State.Consumers, after.State.Consumers)
	}
}

// TestSaveWritesTheJSONItIsGiven: a call given with its JSON is saved as
// that JSON, not encoded again; one without is encoded.
func TestSaveWritesTheJSONItIsGiven(t *testing.T) {
	ctx := context.Background()
	log := openLog(t)
	given := eventlog.Change{Call: calls.Call{ID: "a", Subject: "the call's", Seq: 2},
		JSON: []byte(`{"id":"a","state":"","source":{},"subject":"the JSON's","startedAt":"0001-01-01T00:00:00Z","updatedAt":"0001-01-01T00:00:00Z","seq":2}`)}
	encoded := eventlog.Change{Call: calls.Call{ID: "b", Subject: "the call's", Seq: 1}}
	if err := log.State().Save(ctx, []eventlog.Change{given, encoded}, nil, 2); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := log.State().Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if loaded["a"].Subject != "the JSON's" || loaded["b"].Subject != "the call's" {
		t.Fatalf("saved subjects %q and %q, want the JSON's and the call's", loaded["a"].Subject, loaded["b"].Subject)
	}
}
