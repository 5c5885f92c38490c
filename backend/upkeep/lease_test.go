package upkeep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

func (v staticView) EachLive(fn func([]calls.Call)) {
	for chunk := range slices.Chunk([]calls.Call(v), 64) {
		fn(chunk)
	}
}

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
		KeepAliveEvery: 15 * time.Minute, StartupRate: -1, Now: func() time.Time { return now },
		Tick: time.Millisecond}) // the keepAlives of a tick are spread over it in real time: none to speak of here
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
		KeepAliveEvery: every, StartupRate: -1, Now: func() time.Time { return now },
		Tick: time.Millisecond}) // ticks are simulated by now; the real one only spreads a tick's keepAlives
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

// dueView is n established calls answered an hour before now, all due for
// a keepAlive; ended names those a fresh read finds ended.
type dueView struct {
	staticView
	ended map[string]bool
}

func newDueView(n int, now time.Time) dueView {
	v := dueView{ended: map[string]bool{}}
	for i := range n {
		v.staticView = append(v.staticView, calls.Call{ID: fmt.Sprintf("due-%03d", i), State: calls.Established,
			StartedAt: now.Add(-time.Hour), AnsweredAt: now.Add(-time.Hour), UpdatedAt: now})
	}
	return v
}

func (v dueView) Get(id string) (calls.Call, bool) {
	for _, c := range v.staticView {
		if c.ID == id {
			if v.ended[id] {
				c.State, c.EndedAt = calls.Terminated, c.UpdatedAt
			}
			return c, true
		}
	}
	return calls.Call{}, false
}

// gatedGraph holds every keepAlive until open workers are in flight at
// once (or five seconds pass), and notes the most it saw in flight and
// when each keepAlive came.
type gatedGraph struct {
	graphCounter
	open     int
	opened   bool
	release  chan struct{}
	inflight int
	most     int
	started  []time.Time
}

func (g *gatedGraph) KeepAlive(ctx context.Context, id string) error {
	g.mu.Lock()
	g.inflight++
	g.most = max(g.most, g.inflight)
	g.started = append(g.started, time.Now())
	if g.inflight == g.open && !g.opened {
		g.opened = true
		close(g.release)
	}
	g.mu.Unlock()
	select {
	case <-g.release:
	case <-time.After(5 * time.Second):
	}
	g.mu.Lock()
	g.inflight--
	g.mu.Unlock()
	return g.graphCounter.KeepAlive(ctx, id)
}

// TestARoundKeepsCallsAliveSeveralAtOnce: a tick's keepAlives are made
// KeepAliveWorkers at once, never more, so a slow Graph does not make
// them fall behind.
func TestARoundKeepsCallsAliveSeveralAtOnce(t *testing.T) {
	_, js := testJetStream(t)
	now := time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC)
	view := newDueView(20, now)
	g := &gatedGraph{graphCounter: graphCounter{keepAlives: map[string]int{}}, open: 4, release: make(chan struct{})}
	k, err := upkeep.New(context.Background(), js, 1, g, view, discard{}, upkeep.Options{
		KeepAliveEvery: 15 * time.Minute, StartupRate: -1, Now: func() time.Time { return now },
		Tick: time.Millisecond, KeepAliveWorkers: 4})
	if err != nil {
		t.Fatal(err)
	}
	k.Round(context.Background())
	if g.most != 4 {
		t.Errorf("at most %d keepAlives were in flight at once, want 4", g.most)
	}
	if n := g.total(); n != 20 {
		t.Errorf("%d keepAlives, want 20", n)
	}
}

// TestARoundSpreadsItsKeepAlivesOverTheTick: the keepAlives due in a tick
// start spread over most of it, not all at its beginning (each records an
// action every console is sent).
func TestARoundSpreadsItsKeepAlivesOverTheTick(t *testing.T) {
	_, js := testJetStream(t)
	now := time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC)
	view := newDueView(20, now)
	g := &gatedGraph{graphCounter: graphCounter{keepAlives: map[string]int{}}, open: 1, release: make(chan struct{})}
	const tick = 400 * time.Millisecond
	k, err := upkeep.New(context.Background(), js, 1, g, view, discard{}, upkeep.Options{
		KeepAliveEvery: 15 * time.Minute, StartupRate: -1, Now: func() time.Time { return now }, Tick: tick})
	if err != nil {
		t.Fatal(err)
	}
	k.Round(context.Background())
	if len(g.started) != 20 {
		t.Fatalf("%d keepAlives, want 20", len(g.started))
	}
	if took := g.started[19].Sub(g.started[0]); took < tick/2 {
		t.Errorf("the tick's 20 keepAlives started within %s, want them spread over most of its %s", took, tick)
	}
}

// TestACallThatEndedIsNotKeptAlive: a call that ended after the round
// listed it, while its keepAlive waited its turn, is not kept alive.
func TestACallThatEndedIsNotKeptAlive(t *testing.T) {
	_, js := testJetStream(t)
	now := time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC)
	view := newDueView(3, now)
	view.ended["due-001"] = true
	g := &graphCounter{keepAlives: map[string]int{}}
	k, err := upkeep.New(context.Background(), js, 1, g, view, discard{}, upkeep.Options{
		KeepAliveEvery: 15 * time.Minute, StartupRate: -1, Now: func() time.Time { return now }, Tick: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	k.Round(context.Background())
	if g.keepAlives["due-001"] != 0 || g.total() != 2 {
		t.Errorf("kept alive %v, want the two calls still live", g.keepAlives)
	}
}
