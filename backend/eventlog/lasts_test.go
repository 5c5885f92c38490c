package eventlog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/natstest"
)

// openCounted opens the log on a connection of its own to ns, and returns
// the connection too, to count what it sends.
func openCounted(t *testing.T, ns *server.Server) (*eventlog.Log, *nats.Conn) {
	t.Helper()
	js := natstest.Connect(t, ns)
	log, err := eventlog.Open(context.Background(), js, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return log, js.Conn()
}

// TestAppendsReadTheLatestEventOnce: a call's notifications appended one
// after the other read its latest event from the stream once, not once
// each: the log remembers the event it stored last, and each write is
// conditional on it.
func TestAppendsReadTheLatestEventOnce(t *testing.T) {
	ns := natstest.Server(t)
	log, nc := openCounted(t, ns)
	ctx := context.Background()
	before := nc.Stats().OutMsgs
	const n = 20
	for i := range n {
		st := calls.Hold
		if i%2 == 1 {
			st = calls.Established
		}
		if _, err := log.Append(ctx, []eventlog.Entry{{ID: fmt.Sprintf("n%d", i), Event: note("busy", st)}}); err != nil {
			t.Fatal(err)
		}
	}
	if sent := nc.Stats().OutMsgs - before; sent != n+1 {
		t.Fatalf("%d appends sent %d messages to NATS, want %d: the writes and one read of the latest event", n, sent, n+1)
	}
	if recs, err := log.History(ctx, "busy"); err != nil || len(recs) != n {
		t.Fatalf("the call has %d events (%v), want %d", len(recs), err, n)
	}
}

// TestWhatALogRemembersNeverDropsOrDoublesAnEvent: two replicas append to
// one call in turn. What each remembers as the call's latest event is soon
// old news; still a legitimate repeat (hold, resume, hold) is stored, a
// redelivery of the latest event is dropped, and an erased call starts
// afresh.
func TestWhatALogRemembersNeverDropsOrDoublesAnEvent(t *testing.T) {
	ns := natstest.Server(t)
	a, _ := openCounted(t, ns)
	b, _ := openCounted(t, ns)
	ctx := context.Background()
	steps := []struct {
		log     *eventlog.Log
		id      string
		st      calls.State
		dropped bool
	}{
		{a, "hold", calls.Hold, false},
		{b, "resume", calls.Established, false},
		{a, "hold", calls.Hold, false}, // a remembers "hold" as the latest: it is not any more
		{b, "hold", calls.Hold, true},  // b remembers "resume": the latest is a's "hold"
		{a, "hold", calls.Hold, true},
	}
	for i, s := range steps {
		dups, err := s.log.Append(ctx, []eventlog.Entry{{ID: s.id, Event: note("turns", s.st)}})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if (dups == 1) != s.dropped {
			t.Fatalf("step %d (%s): dropped %t, want %t", i, s.id, dups == 1, s.dropped)
		}
	}
	if recs, err := a.History(ctx, "turns"); err != nil || len(recs) != 3 {
		t.Fatalf("the call has %d events (%v), want 3", len(recs), err)
	}
	if err := b.Erase(ctx, "turns"); err != nil {
		t.Fatal(err)
	}
	// a still remembers its "hold": the stream refuses a write conditional
	// on it, and a reads what is there now.
	if dups, err := a.Append(ctx, []eventlog.Entry{{ID: "again", Event: note("turns", calls.Incoming)}}); err != nil || dups != 0 {
		t.Fatalf("append after the erasure: %d dropped, %v", dups, err)
	}
	if recs, err := a.History(ctx, "turns"); err != nil || len(recs) != 1 {
		t.Fatalf("after the erasure the call has %d events (%v), want 1", len(recs), err)
	}
}
