package liveview

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/eventlog"
	"switchboard/backend/natstest"
)

// recordingPublisher keeps the call messages it is handed.
type recordingPublisher struct {
	mu   sync.Mutex
	msgs []feedwire.Message
}

func (*recordingPublisher) Reset(uint64) {}
func (p *recordingPublisher) Publish(_ uint64, msgs []feedwire.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
}
func (*recordingPublisher) CaughtUp() {}

// TestEventsLeaveTheSnapshotNothingToEncode: the goroutine that applies
// events encodes each changed call as it goes, so a snapshot taken after
// them joins JSON that is ready (a console connecting under load does not
// wait for thousands of calls to be encoded), and the feed is handed the
// same JSON; and a call erased is forgotten by the next snapshot.
func TestEventsLeaveTheSnapshotNothingToEncode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	log, err := eventlog.Open(ctx, natstest.JetStream(t), eventlog.Options{WriterLeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pub := &recordingPublisher{}
	v := New(log, pub, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SaveEvery: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); v.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-v.Ready()
	note := func(id string, st calls.State) eventlog.Entry {
		return eventlog.Entry{Event: calls.Event{Kind: calls.KindNotification, CallID: id, At: time.Now().UTC(),
			Change: &calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: st}}}
	}
	apply := func(entries ...eventlog.Entry) {
		t.Helper()
		if _, err := log.Append(ctx, entries); err != nil {
			t.Fatal(err)
		}
		last, _ := log.LastSeq(ctx)
		for range 250 {
			if v.Seq() >= last {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("the view never applied the events")
	}
	apply(note("a", calls.Incoming), note("b", calls.Incoming), note("c", calls.Incoming))
	v.EncodedSnapshot()
	apply(note("a", calls.Established), note("c", calls.Hold), note("d", calls.Incoming))
	// The events' goroutine encodes after it applied: give it that moment.
	var stale []staleCall
	for range 250 {
		v.mu.RLock()
		_, stale = v.partsLocked(v.orderLocked())
		v.mu.RUnlock()
		if len(stale) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(stale) != 0 {
		t.Fatalf("%d calls changed by events are still to be encoded by the snapshot (first %s)", len(stale), stale[0].call.ID)
	}
	// The feed was handed the same JSON, to send without encoding again.
	pub.mu.Lock()
	for _, m := range pub.msgs {
		if m.Call == nil {
			continue
		}
		want, _ := json.Marshal(m.Call)
		if !bytes.Equal(m.CallJSON, want) {
			t.Fatalf("the feed got call %s at %d with JSON %s, want %s", m.Call.ID, m.Seq, m.CallJSON, want)
		}
	}
	pub.mu.Unlock()
	if err := log.Erase(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	for range 250 {
		if _, ok := v.Get("b"); !ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	v.EncodedSnapshot()
	v.encMu.Lock()
	_, kept := v.enc["b"]
	n := len(v.enc)
	v.encMu.Unlock()
	if kept || n != 3 {
		t.Fatalf("after the erasure the snapshot cache holds %d calls (b kept: %t), want the 3 left", n, kept)
	}
}
