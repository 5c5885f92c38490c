package liveview_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
	"switchboard/backend/natstest"
)

// nopPublisher takes the changes and keeps nothing.
type nopPublisher struct{}

func (nopPublisher) Reset(uint64)                       {}
func (nopPublisher) Publish(uint64, []feedwire.Message) {}
func (nopPublisher) CaughtUp()                          {}

// replica is a view on a NATS connection of its own, so that closing the
// connection is the replica dying as far as NATS can tell.
type replica struct {
	nc     *nats.Conn
	log    *eventlog.Log
	view   *liveview.View
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, url, name string) *replica {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	log, err := eventlog.Open(context.Background(), js, eventlog.Options{WriterLeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{nc: nc, log: log, view: liveview.New(log, nopPublisher{}, liveview.Options{Owner: name, SaveEvery: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}),
		cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); r.view.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func event(id string, st calls.State) eventlog.Entry {
	return eventlog.Entry{Event: calls.Event{Kind: calls.KindNotification, CallID: id, At: time.Now().UTC(),
		Change: &calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: st}}}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not within 10s: %s", what)
}

// TestAnotherReplicaTakesOverTheSavingWhenTheWriterDies: the writer dies
// (its connection cut, its lease left to run out) after changes it never
// saved; the other replica takes the lease over and saves them, so a
// replica starting afterwards loads a state equal to the live one.
func TestAnotherReplicaTakesOverTheSavingWhenTheWriterDies(t *testing.T) {
	ns := natstest.Server(t)
	a := startReplica(t, ns.ClientURL(), "a")
	eventually(t, "a writes", a.view.Writer)
	b := startReplica(t, ns.ClientURL(), "b")
	<-b.view.Ready()
	if b.view.Writer() {
		t.Fatal("two writers")
	}
	ctx := context.Background()
	for i := range 20 {
		if _, err := a.log.Append(ctx, []eventlog.Entry{event(fmt.Sprintf("c%d", i), calls.Incoming)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "a saved", func() bool { _, applied, _ := a.log.State().Load(ctx); return applied == 20 })
	a.nc.Close() // a dies: nothing released
	for i := range 20 {
		if _, err := b.log.Append(ctx, []eventlog.Entry{event(fmt.Sprintf("c%d", i), calls.Established)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "b takes over", b.view.Writer)
	eventually(t, "b saved what a never did", func() bool { _, applied, _ := b.log.State().Load(ctx); return applied == 40 })
	saved, _, err := b.log.State().Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if c := saved[fmt.Sprintf("c%d", i)]; c.State != calls.Established {
			t.Fatalf("call c%d saved as %q", i, c.State)
		}
	}
	c := startReplica(t, ns.ClientURL(), "c")
	<-c.view.Ready()
	if got, want := len(c.view.Calls()), len(b.view.Calls()); got != want || c.view.Seq() != b.view.Seq() {
		t.Fatalf("a replica started from the saved state holds %d calls at %d, the live one %d at %d", got, c.view.Seq(), want, b.view.Seq())
	}
}

// TestOnlyOneReplicaWritesAtATime runs three views on one log and checks,
// many times over, that at most one of them believes it writes.
func TestOnlyOneReplicaWritesAtATime(t *testing.T) {
	ns := natstest.Server(t)
	var rs []*replica
	for i := range 3 {
		rs = append(rs, startReplica(t, ns.ClientURL(), fmt.Sprintf("r%d", i)))
	}
	var mu sync.Mutex
	seen := 0
	for range 100 {
		writers := 0
		for _, r := range rs {
			if r.view.Writer() {
				writers++
			}
		}
		if writers > 1 {
			t.Fatalf("%d writers at once", writers)
		}
		mu.Lock()
		seen += writers
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	if seen == 0 {
		t.Fatal("nobody ever wrote")
	}
}
