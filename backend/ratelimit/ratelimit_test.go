package ratelimit

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} }

var (
	home  = netip.MustParseAddr("192.0.2.1")
	other = netip.MustParseAddr("198.51.100.7")
)

func TestBurstThenRefill(t *testing.T) {
	clk := newClock()
	l := New(Config{PerMinute: 6, Burst: 3, Now: clk.now}) // one every 10 s
	for i := range 3 {
		if wait, ok := l.Spend(home); !ok || wait != 0 {
			t.Fatalf("request %d of the burst refused (wait %v)", i+1, wait)
		}
	}
	wait, blocked := l.Blocked(home)
	if !blocked || wait != 10*time.Second {
		t.Fatalf("after the burst: blocked %v, wait %v; want 10s", blocked, wait)
	}
	if wait, ok := l.Spend(home); ok || wait != 10*time.Second {
		t.Fatalf("spend past the burst: ok %v, wait %v", ok, wait)
	}
	if _, blocked := l.Blocked(other); blocked {
		t.Fatal("another address is blocked by the first one's excess")
	}
	clk.add(4 * time.Second)
	if wait, _ := l.Blocked(home); wait != 6*time.Second {
		t.Fatalf("4 s later: wait %v, want 6s", wait)
	}
	clk.add(6 * time.Second)
	if _, ok := l.Spend(home); !ok {
		t.Fatal("a refilled token was refused")
	}
	if _, ok := l.Spend(home); ok {
		t.Fatal("only one token had refilled")
	}
}

func TestBlockedSpendsNothing(t *testing.T) {
	l := New(Config{PerMinute: 1, Burst: 1, Now: newClock().now})
	for range 100 {
		if _, blocked := l.Blocked(home); blocked {
			t.Fatal("asking blocked the address")
		}
	}
	if l.Len() != 0 {
		t.Fatalf("asking added %d addresses to the table", l.Len())
	}
	if _, ok := l.Spend(home); !ok {
		t.Fatal("the only token was refused")
	}
}

func TestIPv6CountsBySlash64(t *testing.T) {
	l := New(Config{PerMinute: 1, Burst: 2, Now: newClock().now})
	l.Spend(netip.MustParseAddr("2001:db8:1:2::1"))
	l.Spend(netip.MustParseAddr("2001:db8:1:2:ffff::9"))
	if _, blocked := l.Blocked(netip.MustParseAddr("2001:db8:1:2::abcd")); !blocked {
		t.Error("addresses of one /64 have separate buckets")
	}
	if _, blocked := l.Blocked(netip.MustParseAddr("2001:db8:1:3::1")); blocked {
		t.Error("the next /64 shares the bucket")
	}
	if Key(netip.MustParseAddr("::ffff:192.0.2.1")) != Key(home) {
		t.Error("an IPv4-mapped IPv6 address is not its IPv4 address")
	}
}

// A flood from many addresses keeps the table at its bound; newcomers
// beyond it share one bucket, and the table empties as buckets fill up.
func TestTableStaysBounded(t *testing.T) {
	clk := newClock()
	l := New(Config{PerMinute: 60, Burst: 5, MaxAddresses: 1000, Now: clk.now})
	refused := 0
	for i := range 100000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		for range 6 {
			if _, ok := l.Spend(a); !ok {
				refused++
			}
		}
		if l.Len() > 1000 {
			t.Fatalf("the table holds %d addresses after %d, at most 1000 allowed", l.Len(), i+1)
		}
	}
	// 1000 tracked addresses each spend 5 and are refused once; the 99000
	// others share one bucket of 5.
	if want := 1000 + 99000*6 - 5; refused != want {
		t.Errorf("refused %d, want %d", refused, want)
	}
	if _, blocked := l.Blocked(other); !blocked {
		t.Error("with the table full of limited addresses, a newcomer is not limited")
	}
	clk.add(5 * time.Second) // every bucket is full again
	if _, ok := l.Spend(other); !ok {
		t.Fatal("a newcomer is refused once the table's buckets filled up")
	}
	if l.Len() != 1 {
		t.Errorf("the table holds %d addresses after the idle ones were evicted, want 1", l.Len())
	}
}

func TestOff(t *testing.T) {
	l := New(Config{PerMinute: -1})
	for range 1000 {
		if _, ok := l.Spend(home); !ok {
			t.Fatal("a limiter turned off refused")
		}
	}
	if l.Len() != 0 {
		t.Fatal("a limiter turned off keeps a table")
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want string
	}{{0, "1"}, {300 * time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {time.Minute, "60"}} {
		w := httptest.NewRecorder()
		RetryAfter(w, tc.wait)
		if got := w.Header().Get("Retry-After"); got != tc.want || w.Header().Get("Connection") != "close" {
			t.Errorf("wait %v: Retry-After %q, Connection %q; want %s and close", tc.wait, got, w.Header().Get("Connection"), tc.want)
		}
	}
}

func Example() {
	l := New(Config{PerMinute: 30, Burst: 2})
	client := netip.MustParseAddr("203.0.113.9")
	for i := range 3 {
		if _, blocked := l.Blocked(client); blocked {
			fmt.Println("request", i+1, "refused: 429")
			continue
		}
		fmt.Println("request", i+1, "checked and failed")
		l.Spend(client) // only failures count
	}
	// Output:
	// request 1 checked and failed
	// request 2 checked and failed
	// request 3 refused: 429
}

// BenchmarkFloodFromManyAddresses reports the table's memory under a flood
// from ever new addresses.
func BenchmarkFloodFromManyAddresses(b *testing.B) {
	l := New(Config{})
	b.ReportAllocs()
	for i := range b.N {
		l.Spend(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	b.ReportMetric(float64(l.Len()), "addresses")
}
