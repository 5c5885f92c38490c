package upkeep_test

import (
	"context"
	"encoding/json"
	"fmt"
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
// counts the keepAlives, and when at is set, when each came (by now).
type graphCounter struct {
	mu         sync.Mutex
	keepAlives map[string]int
	at         map[string][]time.Time
	now        func() time.Time
}

func (g *graphCounter) KeepAlive(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keepAlives[id]++
	if g.at != nil {
		g.at[id] = append(g.at[id], g.now())
	}
	return nil
}

// total is how many keepAlives came, all calls together.
func (g *graphCounter) total() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, k := range g.keepAlives {
		n += k
	}
	return n
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

// testJetStream is JetStream on an in-process server of the test's own,
// with its connection, to count what it sends.
func testJetStream(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	js := natstest.JetStream(t)
	return js.Conn(), js
}

// TestARoundAsksForEachLeaseOnce: ticks within a call's keepAlive round
// ask the lease bucket nothing more once the call's lease was asked for,
// so a replica holding many live calls does not write a key per call every
// tick; the call's next round asks again, once.
func TestARoundAsksForEachLeaseOnce(t *testing.T) {
	nc, js := testJetStream(t)
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
	for _, c := range view {
		if n := g.keepAlives[c.ID]; n != 1 {
			t.Fatalf("call %s kept alive %d times in the first tick, want once", c.ID, n)
		}
	}
	first := nc.Stats().OutMsgs
	for range 60 { // one period of 15-second ticks: each call's next round begins once
		now = now.Add(15 * time.Second)
		for i := range view {
			view[i].UpdatedAt = now // the calls stay busy
		}
		k.Round(ctx)
	}
	if more := nc.Stats().OutMsgs - first; more != uint64(len(view)) {
		t.Errorf("a period of ticks sent %d messages to NATS, want %d: one lease per call", more, len(view))
	}
	for _, c := range view {
		if n := g.keepAlives[c.ID]; n != 2 {
			t.Fatalf("call %s kept alive %d times over two rounds, want twice", c.ID, n)
		}
	}
}

// TestKeepAlivesOfCallsAnsweredTogetherAreSpread: calls answered within
// the same twenty seconds (a rush, or a bench) come due for keepAlive at
// times spread over the period, not in one tick, and each call is still
// kept alive within a period of its answer and a period after that.
func TestKeepAlivesOfCallsAnsweredTogetherAreSpread(t *testing.T) {
	_, js := testJetStream(t)
	const (
		n     = 1200
		every = 15 * time.Minute
		tick  = 15 * time.Second
	)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	now := t0
	var view staticView
	for i := range n {
		at := t0.Add(time.Duration(i) * 20 * time.Second / n)
		view = append(view, calls.Call{ID: fmt.Sprintf("rush-%04d", i), State: calls.Established, StartedAt: at, AnsweredAt: at, UpdatedAt: at})
	}
	g := &graphCounter{keepAlives: map[string]int{}, at: map[string][]time.Time{}, now: func() time.Time { return now }}
	k, err := upkeep.New(context.Background(), js, 1, g, view, discard{}, upkeep.Options{
		KeepAliveEvery: every, StartupRate: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ticks := int((2*every + 20*time.Second + tick) / tick) // two periods after the last answer
	busiest, before := 0, 0
	for range ticks {
		now = now.Add(tick)
		for i := range view {
			view[i].UpdatedAt = now
		}
		k.Round(context.Background())
		total := g.total()
		busiest, before = max(busiest, total-before), total
	}
	mean := float64(n) / float64(every/tick)
	if float64(busiest) > 3*mean {
		t.Errorf("the busiest tick kept %d calls alive, against %.0f a tick on average: the keepAlives are not spread", busiest, mean)
	}
	for _, c := range view {
		at := g.at[c.ID]
		if len(at) < 2 {
			t.Fatalf("call %s kept alive %d times in two periods, want at least twice", c.ID, len(at))
		}
		if d := at[0].Sub(c.AnsweredAt); d > every+tick {
			t.Errorf("call %s first kept alive %s after its answer, want within %s", c.ID, d, every+tick)
		}
		if d := at[1].Sub(at[0]); d > every+tick || d < every-tick {
			t.Errorf("call %s kept alive again %s after the first, want a period (%s) apart", c.ID, d, every)
		}
	}
}
