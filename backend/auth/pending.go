package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Defaults of the caps on sign-ins in progress (Config).
const (
	DefaultMaxPendingSignIns          = 5000
	DefaultMaxPendingSignInsPerClient = 30
)

// pending counts the sign-ins this replica started that are still in
// progress, per client address and in all, so that neither grows without
// bound: each holds a record in the sign-ins bucket for up to loginLife.
// A sign-in stops counting when its callback arrives here, or when it
// expires. A callback that lands on another replica leaves the count here
// until expiry: the caps err on the side of refusing.
type pending struct {
	maxTotal, maxPer int
	life             time.Duration
	now              func() time.Time

	mu      sync.Mutex
	queue   []*pendingLogin // in start order, so in expiry order
	byID    map[string]*pendingLogin
	perAddr map[netip.Prefix]int
	live    int
}

type pendingLogin struct {
	from    netip.Prefix
	expires time.Time
	id      string
	live    bool
}

// pendingFull says why a sign-in cannot start, and when one can.
type pendingFull struct {
	perClient  bool // the address's cap, not the total
	retryAfter time.Duration
}

func (e *pendingFull) Error() string {
	if e.perClient {
		return "too many sign-ins in progress from this address"
	}
	return "too many sign-ins in progress"
}

func newPending(maxTotal, maxPer int, life time.Duration, now func() time.Time) *pending {
	return &pending{maxTotal: maxTotal, maxPer: maxPer, life: life, now: now,
		byID: map[string]*pendingLogin{}, perAddr: map[netip.Prefix]int{}}
}

// admit reserves a place for a sign-in from from, or says why there is
// none.
func (p *pending) admit(from netip.Prefix) (*pendingLogin, *pendingFull) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	if p.perAddr[from] >= p.maxPer {
		return nil, &pendingFull{perClient: true, retryAfter: p.firstExpiry(now, func(pl *pendingLogin) bool { return pl.from == from })}
	}
	if p.live >= p.maxTotal {
		return nil, &pendingFull{retryAfter: p.firstExpiry(now, func(*pendingLogin) bool { return true })}
	}
	pl := &pendingLogin{from: from, expires: now.Add(p.life), live: true}
	p.queue = append(p.queue, pl)
	p.perAddr[from]++
	p.live++
	return pl, nil
}

// started names the sign-in holding pl, so that its callback frees it.
func (p *pending) started(pl *pendingLogin, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl.live {
		pl.id = id
		p.byID[id] = pl
	}
}

// abandon frees pl: its sign-in was not stored.
func (p *pending) abandon(pl *pendingLogin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free(pl)
}

// done frees the place of sign-in id, if this replica holds it.
func (p *pending) done(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl := p.byID[id]; pl != nil {
		p.free(pl)
	}
}

func (p *pending) free(pl *pendingLogin) {
	if !pl.live {
		return
	}
	pl.live = false
	delete(p.byID, pl.id)
	if p.perAddr[pl.from]--; p.perAddr[pl.from] <= 0 {
		delete(p.perAddr, pl.from)
	}
	p.live--
}

// expire frees the sign-ins past their life, and drops freed ones from the
// queue once they outnumber the live ones, so the queue stays bounded too.
func (p *pending) expire(now time.Time) {
	n := 0
	for n < len(p.queue) && !now.Before(p.queue[n].expires) {
		p.free(p.queue[n])
		n++
	}
	clear(p.queue[:n])
	p.queue = p.queue[n:]
	if len(p.queue) > 2*p.live+64 {
		kept := make([]*pendingLogin, 0, p.live)
		for _, pl := range p.queue {
			if pl.live {
				kept = append(kept, pl)
			}
		}
		p.queue = kept
	}
}

// firstExpiry is how long until the oldest live sign-in matching match
// expires.
func (p *pending) firstExpiry(now time.Time, match func(*pendingLogin) bool) time.Duration {
	for _, pl := range p.queue {
		if pl.live && match(pl) {
			return pl.expires.Sub(now)
		}
	}
	return p.life
}

// counts returns the sign-ins in progress from from and in all.
func (p *pending) counts(from netip.Prefix) (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(p.now())
	return p.perAddr[from], p.live
}
