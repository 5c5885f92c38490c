package console

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"switchboard/app/feedwire"
)

// Inbox gathers feed messages between two renders and coalesces them: many
// changes of one call become its latest, a snapshot discards everything
// before it. The browser's websocket buffers without bound, so a console
// that rendered every message of a busy tenant would fall further and
// further behind; with an Inbox it renders each changed call once per
// render, however often it changed.
//
// An Inbox is safe for concurrent use: the feed loop puts, the UI
// goroutine takes.
type Inbox struct {
	now   func() time.Time
	ready chan struct{}

	mu       sync.Mutex
	high     uint64 // highest sequence accepted
	epoch    string // the event log's incarnation the sequences belong to
	snapshot *feedwire.Message
	pending  map[string]feedwire.Message // by call id
	server   time.Time                   // last clock reading: the server's clock…
	local    time.Time                   // …and the local clock at that moment
	put      int                         // messages accepted since the last Take
	// asides are the latest presence and claims messages, by type, since
	// the last Take.
	asides map[string]feedwire.Message
}

// NewInbox returns an empty inbox. now is the local clock it reads when a
// snapshot or resume brings the server's (nil means time.Now); give it the
// Store's clock.
func NewInbox(now func() time.Time) *Inbox {
	if now == nil {
		now = time.Now
	}
	return &Inbox{now: now, ready: make(chan struct{}, 1), pending: make(map[string]feedwire.Message)}
}

// Ready receives a value when the inbox has something to take. It never
// receives more than one value between two Takes.
func (in *Inbox) Ready() <-chan struct{} { return in.ready }

// Seq is the highest sequence the inbox has accepted: where the feed
// resumes from after a reconnect. It is 0 before the first snapshot.
func (in *Inbox) Seq() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.high
}

// Put adds a message. Messages at or below Seq are dropped as duplicates. A
// resume that does not resume exactly at Seq means events were missed: Put
// returns ErrGap and the feed must reconnect for a snapshot. A snapshot
// older than what the inbox holds (same epoch, lower sequence) is refused
// with ErrStaleSnapshot: the view never goes back in time. Status messages
// change nothing here (the feed reports them).
func (in *Inbox) Put(m feedwire.Message) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch m.Type {
	case feedwire.TypeSnapshot:
		if in.high > 0 && m.Seq < in.high && m.Epoch == in.epoch {
			return fmt.Errorf("%w: snapshot at %d, holding %d", ErrStaleSnapshot, m.Seq, in.high)
		}
		in.snapshot = &m
		clear(in.pending)
		in.high, in.epoch = m.Seq, m.Epoch
		in.clock(m.Now)
	case feedwire.TypeResume:
		if m.Seq != in.high || m.Epoch != in.epoch {
			return fmt.Errorf("%w: resumed at %d of %q, holding %d of %q", ErrGap, m.Seq, m.Epoch, in.high, in.epoch)
		}
		in.clock(m.Now)
		return nil // nothing to render
	case feedwire.TypeStatus:
		return nil
	case feedwire.TypePresence, feedwire.TypeClaims:
		if in.asides == nil {
			in.asides = make(map[string]feedwire.Message)
		}
		in.asides[m.Type] = m // the latest replaces what came before
	case feedwire.TypeCall, feedwire.TypeRemoved:
		id := messageCallID(m)
		if id == "" {
			return fmt.Errorf("console: %s message at seq %d names no call", m.Type, m.Seq)
		}
		if m.Seq <= in.high {
			return nil
		}
		in.high = m.Seq
		in.pending[id] = m
	default:
		return fmt.Errorf("console: unknown feed message type %q at seq %d", m.Type, m.Seq)
	}
	in.put++
	select {
	case in.ready <- struct{}{}:
	default:
	}
	return nil
}

// Restore puts a saved view in the inbox as if the feed had sent it, so
// that the console shows it at once and the feed resumes from its sequence
// (Feed asks for ?since= whenever the inbox holds a sequence). It does
// nothing, and reports false, once the inbox holds a view of its own: the
// feed's is never older than one kept in the browser.
func (in *Inbox) Restore(m feedwire.Message) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if m.Type != feedwire.TypeSnapshot || m.Seq == 0 || in.high > 0 {
		return false
	}
	in.snapshot = &m
	clear(in.pending)
	in.high, in.epoch = m.Seq, m.Epoch
	in.clock(m.Now)
	in.put++
	select {
	case in.ready <- struct{}{}:
	default:
	}
	return true
}

func (in *Inbox) clock(server time.Time) {
	if !server.IsZero() {
		in.server, in.local = server, in.now()
	}
}

// Batch is what an Inbox gathered since the last Take.
type Batch struct {
	// Snapshot, if set, replaces the whole view before Messages apply.
	Snapshot *feedwire.Message
	// Messages are the latest message of each call, in sequence order.
	Messages []feedwire.Message
	// ServerClock read the server's time when the local clock read
	// LocalClock (both zero if no snapshot or resume came).
	ServerClock, LocalClock time.Time
	// Received is how many messages were accepted, before coalescing.
	Received int
	// People, if set, is who has a console open now (the latest presence
	// message); Claims, if set, every call someone acts on now.
	People *[]feedwire.Person
	Claims *[]feedwire.Claim
}

// Take empties the inbox and returns what it held.
func (in *Inbox) Take() Batch {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := Batch{Snapshot: in.snapshot, ServerClock: in.server, LocalClock: in.local, Received: in.put}
	b.Messages = make([]feedwire.Message, 0, len(in.pending))
	for _, m := range in.pending {
		b.Messages = append(b.Messages, m)
	}
	slices.SortFunc(b.Messages, func(x, y feedwire.Message) int {
		switch {
		case x.Seq < y.Seq:
			return -1
		case x.Seq > y.Seq:
			return 1
		}
		return 0
	})
	if m, ok := in.asides[feedwire.TypePresence]; ok {
		people := m.People
		b.People = &people
	}
	if m, ok := in.asides[feedwire.TypeClaims]; ok {
		claims := m.Claims
		b.Claims = &claims
	}
	clear(in.asides)
	in.snapshot = nil
	clear(in.pending)
	in.server, in.local = time.Time{}, time.Time{}
	in.put = 0
	select {
	case <-in.ready: // what Ready announced is taken
	default:
	}
	return b
}
