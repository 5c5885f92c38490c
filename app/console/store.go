// Package console is the client side of Switchboard's console, in pure Go:
// the store that holds every call the feed told about, the inbox that
// coalesces the feed between two renders, the feed loop that keeps a
// websocket to /api/feed alive, and the client of the REST API.
//
// Nothing here touches the browser (no syscall/js): the same code runs in
// the WebAssembly console and in plain host tests, against real loopback
// servers. The components of package ui own a Store and read windows of it;
// the Feed writes into an Inbox from its own goroutine; the UI goroutine
// moves what the Inbox gathered into the Store a few times a second:
//
//	inbox := console.NewInbox(nil)
//	feed := &console.Feed{URL: "wss://switchboard.example/api/feed", Inbox: inbox}
//	go feed.Run(ctx)
//	store := console.NewStore(console.Options{})
//	for range inbox.Ready() { // on the UI goroutine, throttled
//		store.ApplyBatch(inbox.Take())
//		rows, total := store.View(console.Filter{}, 0, 50)
//		…
//	}
package console

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/app/reasons"
)

// ErrGap reports that the feed resumed at a sequence the client does not
// hold: events were missed, so the client must start over with a snapshot.
var ErrGap = errors.New("console: the feed resumed past what the console holds")

// ErrStaleSnapshot reports a snapshot older than the view the console holds
// (a replica still loading, or lagging): the console keeps its rows and
// tries again, instead of going back in time.
var ErrStaleSnapshot = errors.New("console: the server offered a view older than the one shown")

// Options tune a Store. Zero values take the defaults.
type Options struct {
	// History is how long ended calls are kept, on the server's clock
	// (default 1 hour, the server's own retention).
	History time.Duration
	// MaxEnded caps the ended calls kept, most recently ended first
	// (default 5,000).
	MaxEnded int
	// Now is the local clock (default time.Now). The store corrects it by
	// the server's clock offset.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.History <= 0 {
		o.History = time.Hour
	}
	if o.MaxEnded <= 0 {
		o.MaxEnded = 5000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// entry is one call with what the store derives from it once, when it
// changes, rather than on every render.
type entry struct {
	call   calls.Call
	text   string         // lower-cased searchable text
	reason reasons.Reason // why it ended (ended calls only)
	// caller and callee are the parties' names, lower-cased, for sorting.
	caller, callee string
}

func newEntry(c calls.Call) *entry {
	e := &entry{call: c, text: searchText(c), caller: strings.ToLower(c.Source.Label())}
	if len(c.Targets) > 0 {
		e.callee = strings.ToLower(c.Targets[0].Label())
	}
	if c.Ended() {
		e.reason = reasons.ForCall(c)
	}
	return e
}

func searchText(c calls.Call) string {
	var b strings.Builder
	b.WriteString(c.ID)
	for _, p := range c.Parties() {
		for _, s := range []string{p.DisplayName, p.Phone, p.ID} {
			if s != "" {
				b.WriteByte('\n')
				b.WriteString(s)
			}
		}
	}
	if c.Subject != "" {
		b.WriteByte('\n')
		b.WriteString(c.Subject)
	}
	return strings.ToLower(b.String())
}

// byStart orders live calls newest first, then by id so the order is total.
func byStart(a, b *entry) int {
	if c := b.call.StartedAt.Compare(a.call.StartedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.call.ID, b.call.ID)
}

// byEnd orders ended calls most recently ended first, then by id.
func byEnd(a, b *entry) int {
	if c := b.call.EndedAt.Compare(a.call.EndedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.call.ID, b.call.ID)
}

// Store holds the console's view of every call: the live ones ordered by
// start time and the recently ended ones ordered by end time, both kept
// sorted as calls change so that a window of either costs no sort.
//
// A Store is not safe for concurrent use: in the console only the UI
// goroutine touches it.
type Store struct {
	opts   Options
	calls  map[string]*entry
	live   []*entry // sorted byStart
	ended  []*entry // sorted byEnd
	seq    uint64
	epoch  string        // the event log's incarnation seq belongs to
	offset time.Duration // server clock minus local clock
	// version changes with every change, so views can be cached.
	version uint64
	cache   map[filterKey]cachedView
}

// NewStore returns an empty store.
func NewStore(opts Options) *Store {
	return &Store{opts: opts.withDefaults(), calls: make(map[string]*entry), cache: make(map[filterKey]cachedView)}
}

// Seq is the feed sequence the store reflects.
func (s *Store) Seq() uint64 { return s.seq }

// Epoch is the event log's incarnation of the last snapshot.
func (s *Store) Epoch() string { return s.epoch }

// Now is the server's clock: the local clock corrected by the offset
// measured when the last snapshot or resume arrived. Durations and the
// incoming-call deadline are computed on it, never on the browser's clock.
func (s *Store) Now() time.Time { return s.opts.Now().Add(s.offset) }

// Offset is how far the server's clock is ahead of the local one.
func (s *Store) Offset() time.Duration { return s.offset }

// SetClock records that the server's clock read server when the local
// clock read local.
func (s *Store) SetClock(server, local time.Time) {
	if !server.IsZero() && !local.IsZero() {
		s.offset = server.Sub(local)
	}
}

// Len is the number of calls held, live and ended.
func (s *Store) Len() int { return len(s.calls) }

// LiveLen is the number of calls not yet ended.
func (s *Store) LiveLen() int { return len(s.live) }

// EndedLen is the number of ended calls kept.
func (s *Store) EndedLen() int { return len(s.ended) }

// Get returns the call with the given id.
func (s *Store) Get(id string) (calls.Call, bool) {
	e, ok := s.calls[id]
	if !ok {
		return calls.Call{}, false
	}
	return e.call, true
}

// Reason is why the call with the given id ended; ok is false for a live or
// unknown call.
func (s *Store) Reason(id string) (r reasons.Reason, ok bool) {
	e, found := s.calls[id]
	if !found || !e.call.Ended() {
		return reasons.Reason{}, false
	}
	return e.reason, true
}

// Apply applies one feed message and reports whether the view changed. A
// call or removed message at or below the store's sequence is ignored (it
// is a duplicate after a reconnect). A snapshot replaces everything; a
// resume only sets the clock, or fails with ErrGap when it resumes past the
// store's sequence.
func (s *Store) Apply(m feedwire.Message) (bool, error) {
	switch m.Type {
	case feedwire.TypeSnapshot:
		s.ApplySnapshot(m)
		return true, nil
	case feedwire.TypeResume:
		return false, s.Resume(m)
	case feedwire.TypeCall:
		if m.Call == nil || m.Call.ID == "" {
			return false, fmt.Errorf("console: call message at seq %d has no call", m.Seq)
		}
		if m.Seq <= s.seq {
			return false, nil
		}
		s.seq = m.Seq
		s.upsert(*m.Call)
		return true, nil
	case feedwire.TypeRemoved:
		if m.CallID == "" {
			return false, fmt.Errorf("console: removed message at seq %d has no call id", m.Seq)
		}
		if m.Seq <= s.seq {
			return false, nil
		}
		s.seq = m.Seq
		return s.remove(m.CallID), nil
	default:
		return false, fmt.Errorf("console: unknown feed message type %q at seq %d", m.Type, m.Seq)
	}
}

// ApplySnapshot replaces the whole view with the snapshot's calls, at the
// snapshot's sequence, whatever the store held before: the server sends a
// snapshot when the console's sequence is too old to resume from.
func (s *Store) ApplySnapshot(m feedwire.Message) {
	s.calls = make(map[string]*entry, len(m.Calls))
	s.live, s.ended = s.live[:0], s.ended[:0]
	for _, c := range m.Calls {
		if c.ID == "" {
			continue
		}
		e := newEntry(c)
		s.calls[c.ID] = e
		if c.Ended() {
			s.ended = append(s.ended, e)
		} else {
			s.live = append(s.live, e)
		}
	}
	slices.SortFunc(s.live, byStart)
	slices.SortFunc(s.ended, byEnd)
	s.seq, s.epoch = m.Seq, m.Epoch
	s.SetClock(m.Now, s.opts.Now())
	s.changed()
}

// Resume accepts a resume message: the server will send the events after
// m.Seq. It fails with ErrGap when m.Seq is beyond the store's sequence.
func (s *Store) Resume(m feedwire.Message) error {
	if m.Seq > s.seq {
		return fmt.Errorf("%w: resumed at %d, holding %d", ErrGap, m.Seq, s.seq)
	}
	s.SetClock(m.Now, s.opts.Now())
	return nil
}

// Changes says what a batch changed.
type Changes struct {
	// Reset is set when a snapshot replaced the whole view.
	Reset bool
	// IDs are the calls that changed or were removed (in no set order).
	IDs []string
}

// Any reports whether anything changed.
func (c Changes) Any() bool { return c.Reset || len(c.IDs) > 0 }

// ApplyBatch applies what an Inbox gathered: its snapshot if any, then its
// messages in sequence order, then its clock reading.
func (s *Store) ApplyBatch(b Batch) (Changes, error) {
	var ch Changes
	if b.Snapshot != nil {
		s.ApplySnapshot(*b.Snapshot)
		ch.Reset = true
	}
	var errs []error
	for _, m := range b.Messages {
		ok, err := s.Apply(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			ch.IDs = append(ch.IDs, messageCallID(m))
		}
	}
	s.SetClock(b.ServerClock, b.LocalClock)
	return ch, errors.Join(errs...)
}

func messageCallID(m feedwire.Message) string {
	if m.Call != nil {
		return m.Call.ID
	}
	return m.CallID
}

// Prune drops the ended calls that are older than the history or beyond
// the cap, on the server's clock, and returns their ids.
func (s *Store) Prune() []string {
	cutoff := s.Now().Add(-s.opts.History)
	keep := len(s.ended)
	for keep > 0 && s.ended[keep-1].call.EndedAt.Before(cutoff) {
		keep--
	}
	keep = min(keep, s.opts.MaxEnded)
	if keep == len(s.ended) {
		return nil
	}
	var ids []string
	for _, e := range s.ended[keep:] {
		ids = append(ids, e.call.ID)
		delete(s.calls, e.call.ID)
	}
	clear(s.ended[keep:])
	s.ended = s.ended[:keep]
	s.changed()
	return ids
}

func (s *Store) changed() {
	s.version++
	clear(s.cache)
}

// upsert stores c, moving it between the live and ended indexes as needed.
func (s *Store) upsert(c calls.Call) {
	if old, ok := s.calls[c.ID]; ok {
		s.unindex(old)
	}
	e := newEntry(c)
	s.calls[c.ID] = e
	s.index(e)
	s.changed()
}

func (s *Store) remove(id string) bool {
	e, ok := s.calls[id]
	if !ok {
		return false
	}
	s.unindex(e)
	delete(s.calls, id)
	s.changed()
	return true
}

func (s *Store) index(e *entry) {
	if e.call.Ended() {
		s.ended = insertSorted(s.ended, e, byEnd)
		if len(s.ended) > s.opts.MaxEnded {
			last := s.ended[len(s.ended)-1]
			delete(s.calls, last.call.ID)
			s.ended[len(s.ended)-1] = nil
			s.ended = s.ended[:len(s.ended)-1]
		}
		return
	}
	s.live = insertSorted(s.live, e, byStart)
}

func (s *Store) unindex(e *entry) {
	if e.call.Ended() {
		s.ended = removeSorted(s.ended, e, byEnd)
		return
	}
	s.live = removeSorted(s.live, e, byStart)
}

func insertSorted(list []*entry, e *entry, order func(a, b *entry) int) []*entry {
	i, _ := slices.BinarySearchFunc(list, e, order)
	return slices.Insert(list, i, e)
}

func removeSorted(list []*entry, e *entry, order func(a, b *entry) int) []*entry {
	i, found := slices.BinarySearchFunc(list, e, order)
	if !found {
		return list
	}
	return slices.Delete(list, i, i+1)
}
