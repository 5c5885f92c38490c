package eventlog

import "sync"

// maxLasts bounds the subjects lastEvents remembers; past it, it starts
// over (it is a hint: what it forgets is read from the stream again).
const maxLasts = 200_000

// lastEvents remembers, by subject, the latest event this log stored or
// read there. Appending a notification needs its call's latest event (to
// drop a repeat, and to make the write conditional on it); reading it from
// the stream is a request to JetStream for every notification, as costly
// as the write itself. Remembered, it is read only when unknown: a write
// conditional on a remembered event that is no longer the latest (another
// replica wrote since, the call was erased, its events aged out) is refused
// by the stream, and the append reads the latest and tries again.
type lastEvents struct {
	mu     sync.Mutex
	events map[string]lastEvent
}

func (l *lastEvents) get(subject string) (lastEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.events[subject]
	return e, ok
}

// remember keeps e as the latest event on subject, unless a later one is
// known (two appends to one call may finish in either order).
func (l *lastEvents) remember(subject string, e lastEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.events[subject]; ok && old.seq > e.seq {
		return
	}
	if l.events == nil || len(l.events) >= maxLasts {
		l.events = make(map[string]lastEvent)
	}
	l.events[subject] = e
}

func (l *lastEvents) forget(subject string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.events, subject)
}
