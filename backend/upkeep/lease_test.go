package upkeep_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/natstest"
	"switchboard/backend/upkeep"
)

// graphCounter is the Graph upkeep talks to: it answers every request and
// counts the keepAlives.
type graphCounter struct {
	mu         sync.Mutex
	keepAlives map[string]int
}

func (g *graphCounter) KeepAlive(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keepAlives[id]++
	return nil
}

func (g *graphCounter) Get(context.Context, string) (json.RawMessage, error) {
	return json.RawMessage(`{"state":"established"}`), nil
}

func (g *graphCounter) Answer(context.Context, string, []string) error { return nil }

type staticView []calls.Call

func (v staticView) Live(...calls.State) []calls.Call { return v }

type discard struct{}

func (discard) Append(_ context.Context, entries []eventlog.Entry) (int, error) {
	return len(entries), nil
}

// TestARoundAsksForEachLeaseOnce: ticks within one keepAlive round ask the
// lease bucket nothing more once every call's lease was asked for, so a
// replica holding many live calls does not write a key per call every
// tick; the next round asks again.
func TestARoundAsksForEachLeaseOnce(t *testing.T) {
	ns := natstest.Server(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC)
	var view staticView
	for i := range 200 {
		view = append(view, calls.Call{ID: "call-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), State: calls.Established,
			StartedAt: now.Add(-time.Hour), AnsweredAt: now.Add(-time.Hour), UpdatedAt: now})
	}
	g := &graphCounter{keepAlives: map[string]int{}}
	k, err := upkeep.New(context.Background(), js, 1, g, view, discard{}, upkeep.Options{
		KeepAliveEvery: 15 * time.Minute, StartupRate: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k.Round(ctx)
	first := nc.Stats().OutMsgs
	for range 5 {
		now = now.Add(15 * time.Second) // ticks within the same round
		k.Round(ctx)
	}
	if more := nc.Stats().OutMsgs - first; more != 0 {
		t.Errorf("5 more ticks in the same round sent %d messages to NATS, want none", more)
	}
	for _, c := range view {
		if n := g.keepAlives[c.ID]; n != 1 {
			t.Fatalf("call %s kept alive %d times in one round, want once", c.ID, n)
		}
	}
	now = now.Add(15 * time.Minute) // the next round, the calls still busy
	for i := range view {
		view[i].UpdatedAt = now
	}
	k.Round(ctx)
	for _, c := range view {
		if n := g.keepAlives[c.ID]; n != 2 {
			t.Fatalf("call %s kept alive %d times after two rounds, want twice", c.ID, n)
		}
	}
}
