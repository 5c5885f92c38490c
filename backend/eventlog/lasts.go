package eventlog

import (
	"hash/maphash"
	"sync"
)

// maxLasts bounds the subjects lastEvents remembers; past it, it starts
// over (it is a hint: what it forgets is read from the stream again).
const maxLasts = 200_000

// lastEvents remembers, by subject, the latest event this log stored or
// read there. Appending a notification needs its call's latest event (to
// drop a repeat, and to make the write conditional on it); reading it from
// the stream is a request to JetStream for every notification, as costly
// as the write itself. Remembered, it is read only when unknown, or when
// what is remembered says the new event may be a repeat: a write
// conditional on a remembered event that is no longer the latest (another
// replica wrote since, the call was erased, its events aged out) is refused
// by the stream, and the append reads the latest and tries again.
//
// It keeps hashes, not names, so that tens of thousands of calls cost a
// few megabytes the collector need not look into. Two subjects or ids
// with one hash only cost a read: a repeat is dropped on the stream's
// word, and a write conditional on another subject's event is refused.
type lastEvents struct {
	seed   maphash.Seed
	mu     sync.Mutex
	events map[uint64]lastHint
}

// lastHint is what lastEvents keeps of a latest event.
type lastHint struct {
	seq               uint64
	content, delivery uint64 // hashes of its content id and delivery
	index             int
}

func newLastEvents() lastEvents {
	return lastEvents{seed: maphash.MakeSeed(), events: make(map[uint64]lastHint)}
}

func (l *lastEvents) hash(s string) uint64 { return maphash.String(l.seed, s) }

// get returns what is remembered of subject's latest event, and whether
// anything is.
func (l *lastEvents) get(subject string) (lastHint, bool) {
	k := l.hash(subject)
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.events[k]
	return h, ok
}

// mayRepeat reports whether e could repeat the event h remembers (see
// lastEvent.repeats): only the stream can then say.
func (l *lastEvents) mayRepeat(h lastHint, e Entry) bool {
	if h.seq == 0 {
		return false
	}
	if e.Delivery != "" && l.hash(e.Delivery) == h.delivery && e.Index <= h.index {
		return true
	}
	return l.hash(e.ID) == h.content
}

// remember keeps last as the latest event on subject, unless a later one
// is known (two appends to one call may finish in either order).
func (l *lastEvents) remember(subject string, last lastEvent) {
	k := l.hash(subject)
	h := lastHint{seq: last.seq, content: l.hash(last.content), delivery: l.hash(last.delivery), index: last.index}
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.events[k]; ok && old.seq > h.seq {
		return
	}
	if len(l.events) >= maxLasts {
		clear(l.events)
	}
	l.events[k] = h
}

func (l *lastEvents) forget(subject string) {
	k := l.hash(subject)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.events, k)
}
