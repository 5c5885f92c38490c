// Package ratelimit limits, per client address, the requests that cost
// Switchboard something and prove nothing: sign-in starts, and failures on
// its public doors (sign-in callbacks, DeleteCall, RequestToken, webhook
// calls with a bad token). Each address gets a token bucket from
// golang.org/x/time/rate; an address that has spent its bucket is answered
// 429 with Retry-After until the bucket refills.
//
// The table of addresses is bounded. An address whose bucket is full again
// carries no information and is evicted; when the table is full of
// addresses still limited, newcomers share one overflow bucket, so a flood
// from many addresses costs a bounded amount of memory and is limited as a
// whole. IPv6 addresses are counted by /64, the block one subscriber
// usually holds.
package ratelimit

import (
	"container/list"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	DefaultPerMinute    = 30
	DefaultBurst        = 30
	DefaultMaxAddresses = 10000
)

// Config tunes a Limiter. The zero value takes the defaults.
type Config struct {
	// PerMinute is how many requests a minute an address may make once its
	// burst is spent (default DefaultPerMinute). Negative turns limiting
	// off.
	PerMinute float64
	// Burst is how many requests an address may make at once (default
	// DefaultBurst).
	Burst int
	// MaxAddresses bounds the table of addresses (default
	// DefaultMaxAddresses).
	MaxAddresses int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.PerMinute == 0 {
		c.PerMinute = DefaultPerMinute
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxAddresses <= 0 {
		c.MaxAddresses = DefaultMaxAddresses
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Limiter holds a token bucket per client address. It is safe for
// concurrent use.
type Limiter struct {
	cfg   Config
	limit rate.Limit
	idle  time.Duration // how long an untouched bucket takes to fill up

	mu       sync.Mutex
	byKey    map[netip.Prefix]*list.Element // of *bucket
	lru      list.List                      // front: most recently spent
	overflow *rate.Limiter
}

type bucket struct {
	key  netip.Prefix
	lim  *rate.Limiter
	last time.Time // last spent
}

// New returns a Limiter with cfg's limits.
func New(cfg Config) *Limiter {
	cfg = cfg.withDefaults()
	l := &Limiter{cfg: cfg, byKey: make(map[netip.Prefix]*list.Element)}
	if cfg.PerMinute > 0 {
		l.limit = rate.Limit(cfg.PerMinute / 60)
		l.idle = time.Duration(float64(cfg.Burst) / float64(l.limit) * float64(time.Second))
		l.overflow = rate.NewLimiter(l.limit, cfg.Burst)
	}
	return l
}

// Off reports whether limiting is turned off.
func (l *Limiter) Off() bool { return l.cfg.PerMinute < 0 }

// Key is the table's key for addr: the address itself for IPv4, its /64
// for IPv6. Requests whose address is unknown share the zero Prefix.
func Key(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return netip.Prefix{}
	case addr.Is4():
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.WithZone("").Prefix(64)
	return p
}

// Blocked reports whether addr has spent its allowance, and if so how long
// until it may try again. It spends nothing: a door asks before doing
// anything for a request, and spends (Spend) only on what counts.
func (l *Limiter) Blocked(addr netip.Addr) (retryAfter time.Duration, blocked bool) {
	if l.Off() {
		return 0, false
	}
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.overflow
	if e, ok := l.byKey[Key(addr)]; ok {
		lim = e.Value.(*bucket).lim
	} else if l.room(now) {
		return 0, false // a newcomer with room in the table has its whole burst
	}
	return l.wait(lim, now)
}

// Spend takes one request from addr's allowance. It reports false, and how
// long until there is one again, when none was left.
func (l *Limiter) Spend(addr netip.Addr) (retryAfter time.Duration, ok bool) {
	if l.Off() {
		return 0, true
	}
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.bucketOf(Key(addr), now)
	if lim.AllowN(now, 1) {
		return 0, true
	}
	d, _ := l.wait(lim, now)
	return d, false
}

// wait is how long lim needs to hold one token again.
func (l *Limiter) wait(lim *rate.Limiter, now time.Time) (time.Duration, bool) {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	// Whole milliseconds, rounded up: a client told to wait that long finds
	// a token.
	ms := math.Ceil((1-tokens)/float64(l.limit)*1000 - 1e-6)
	return time.Duration(ms) * time.Millisecond, true
}

// bucketOf returns key's bucket, making one if there is room, after
// evicting the buckets that filled up again; with no room, the overflow
// bucket.
func (l *Limiter) bucketOf(key netip.Prefix, now time.Time) *rate.Limiter {
	if e, ok := l.byKey[key]; ok {
		b := e.Value.(*bucket)
		b.last = now
		l.lru.MoveToFront(e)
		return b.lim
	}
	l.evictIdle(now)
	if len(l.byKey) >= l.cfg.MaxAddresses {
		return l.overflow
	}
	b := &bucket{key: key, lim: rate.NewLimiter(l.limit, l.cfg.Burst), last: now}
	l.byKey[key] = l.lru.PushFront(b)
	return b.lim
}

// room reports whether the table can take a newcomer, counting the
// buckets evictIdle would drop.
func (l *Limiter) room(now time.Time) bool {
	if len(l.byKey) < l.cfg.MaxAddresses {
		return true
	}
	back := l.lru.Back()
	return back != nil && now.Sub(back.Value.(*bucket).last) >= l.idle
}

// evictIdle drops, from the least recently spent end, the buckets untouched
// long enough to be full again: forgetting them changes nothing.
func (l *Limiter) evictIdle(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		b := e.Value.(*bucket)
		if now.Sub(b.last) < l.idle {
			return
		}
		l.lru.Remove(e)
		delete(l.byKey, b.key)
	}
}

// Len is how many addresses the table holds.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byKey)
}

// RetryAfter sets the Retry-After header of a refusal to wait, in whole
// seconds rounded up (at least 1), and returns the seconds. It also asks
// to close the connection: a client being refused for excess has to open a
// new one to try again.
func RetryAfter(w http.ResponseWriter, wait time.Duration) int {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("Connection", "close")
	return secs
}
