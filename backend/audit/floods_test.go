package audit

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// memTrail keeps entries in memory.
type memTrail struct {
	mu      sync.Mutex
	entries []Entry
}

func (m *memTrail) Record(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	return nil
}

func (m *memTrail) all() []Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Entry(nil), m.entries...)
}

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func failedDelete(from string, refused bool) Failure {
	p := netip.MustParsePrefix(from)
	return Failure{Kind: "failed DeleteCall requests", From: p, Refused: refused,
		Entry: Entry{Actor: "apikey:(unknown)", Action: ActionLoginFailed, Outcome: "unknown API key", Detail: "DeleteCall", Remote: p.Addr().String()}}
}

func TestFloodIsOneEntryPerWindow(t *testing.T) {
	trail, clk := &memTrail{}, &stepClock{t: t0}
	f := NewFloods(trail, FloodOptions{Now: clk.now})
	ctx := context.Background()
	for i := range 412 {
		f.Record(ctx, failedDelete("192.0.2.7/32", i >= 20))
	}
	f.Record(ctx, failedDelete("198.51.100.1/32", false))
	got := trail.all()
	if len(got) != 2 || got[0].Outcome != "unknown API key" || got[0].Remote != "192.0.2.7" || got[1].Remote != "198.51.100.1" {
		t.Fatalf("during the window: %+v; want the first failure of each address", got)
	}
	clk.add(59 * time.Second)
	f.Flush(ctx, false)
	if n := len(trail.all()); n != 2 {
		t.Fatalf("%d entries before the window ended", n)
	}
	clk.add(time.Second)
	f.Flush(ctx, false)
	got = trail.all()
	if len(got) != 3 {
		t.Fatalf("after the window: %d entries, want 3: %+v", len(got), got)
	}
	agg := got[2]
	if agg.Action != ActionFlood || agg.Count != 412 || agg.Remote != "192.0.2.7" || agg.Actor != "apikey:(unknown)" ||
		agg.Outcome != "412 failed DeleteCall requests from 192.0.2.7 in the last minute" ||
		!strings.Contains(agg.Detail, "392 refused unchecked") || agg.validate() != nil {
		t.Fatalf("aggregated entry %+v", agg)
	}
	// A new window starts with a new first entry.
	f.Record(ctx, failedDelete("192.0.2.7/32", false))
	if n := len(trail.all()); n != 4 {
		t.Fatalf("the next window's first failure: %d entries, want 4", n)
	}
}

// Failures from more addresses than the window follows are counted
// together: the trail grows by a bounded number of entries.
func TestFloodFromManyAddresses(t *testing.T) {
	trail, clk := &memTrail{}, &stepClock{t: t0}
	f := NewFloods(trail, FloodOptions{Now: clk.now, MaxAddresses: 10})
	ctx := context.Background()
	for i := range 5000 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		f.Record(ctx, failedDelete(netip.PrefixFrom(a, 32).String(), false))
	}
	clk.add(time.Minute)
	f.Flush(ctx, false)
	got := trail.all()
	if len(got) != 11 {
		t.Fatalf("%d entries for 5000 failures from 5000 addresses, want 10 first failures and 1 count", len(got))
	}
	rest := got[10]
	if rest.Count != 4990 || rest.Remote != "" || rest.Outcome != "4990 failed DeleteCall requests from other addresses in the last minute" {
		t.Fatalf("count of the rest: %+v", rest)
	}
}

// Run writes the counts as windows end, and every open count when it
// stops.
func TestFloodRunFlushes(t *testing.T) {
	trail := &memTrail{}
	f := NewFloods(trail, FloodOptions{Window: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	for range 3 {
		f.Record(ctx, failedDelete("192.0.2.7/32", false))
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(trail.all()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := trail.all(); len(got) != 2 || got[1].Count != 3 || !strings.HasSuffix(got[1].Outcome, "in the last 200ms") {
		t.Fatalf("after the window: %+v", got)
	}
	for range 2 {
		f.Record(ctx, failedDelete("192.0.2.8/32", false))
	}
	cancel()
	<-done
	if got := trail.all(); len(got) != 4 || got[3].Count != 2 {
		t.Fatalf("after Run stopped: %+v", got)
	}
}

// The counts land in the real trail, and a flood of 2,000 leaves 2 entries.
func TestFloodInTheTrail(t *testing.T) {
	l := openLog(t)
	f := NewFloods(l, FloodOptions{})
	ctx := context.Background()
	for range 2000 {
		f.Record(ctx, failedDelete("192.0.2.7/32", false))
	}
	f.Flush(ctx, true)
	got, err := l.List(ctx, Query{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Count != 2000 || got[0].Action != ActionFlood {
		t.Fatalf("the trail after 2000 failures: %+v", got)
	}
}
