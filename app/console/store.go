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
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

// entry is one call as the store holds it: what sorting, filtering and
// counting need, and the call itself as JSON, decoded only when a window
// or a detail shows it.
//
// A console holding tens of thousands of calls spends its garbage
// collections marking what it holds, and a WebAssembly console does that
// in one go on the page's only thread: a call kept as a calls.Call is some
// thirty objects to mark, kept as an entry it is four, and the JSON's bytes
// hold no pointers, so a collection stays short enough not to stall the
// page.
type entry struct {
	id        string
	state     calls.State
	direction string
	ended     bool
	// startedAt and endedAt are Unix nanoseconds (see nanos).
	startedAt, endedAt int64
	seq                uint64
	category           reasons.Category // why it ended (ended calls only)
	text               string           // lower-cased searchable text
	raw                []byte           // the call, encoded
}

func newEntry(c calls.Call) *entry {
	e := &entry{id: c.ID, state: internState(c.State), direction: internDirection(c.Direction), ended: c.Ended(),
		startedAt: nanos(c.StartedAt), endedAt: nanos(c.EndedAt), seq: c.Seq, text: searchText(c)}
	if e.ended {
		e.category = reasons.ForCall(c).Category
	}
	e.raw, _ = json.Marshal(c) // a calls.Call always encodes
	return e
}

// nanos is t in Unix nanoseconds, the zero time first of all.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// internState returns the package's constant for a documented state, so
// that entries share it instead of each holding a copy.
func internState(st calls.State) calls.State {
	for _, k := range calls.KnownStates {
		if st == k {
			return k
		}
	}
	return st
}

func internDirection(d string) string {
	switch d {
	case calls.DirectionIncoming:
		return calls.DirectionIncoming
	case calls.DirectionOutgoing:
		return calls.DirectionOutgoing
	}
	return d
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
	if c := cmp.Compare(b.startedAt, a.startedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// byEnd orders ended calls most recently ended first, then by id.
func byEnd(a, b *entry) int {
	if c := cmp.Compare(b.endedAt, a.endedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
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
	offset time.Duration // server clock minus local clock
	// byState counts the live calls in each state, kept as calls change,
	// so the summary of a busy view costs no pass over its calls.
	byState map[calls.State]int
	// version changes with every change, so views can be cached.
	version uint64
	cache   map[filterKey]cachedView
	// decoded keeps the calls windows and details showed lately, by id,
	// so that a render decodes only what changed since the last.
	decoded map[string]calls.Call
}

// NewStore returns an empty store.
func NewStore(opts Options) *Store {
	return &Store{opts: opts.withDefaults(), calls: make(map[string]*entry), cache: make(map[filterKey]cachedView),
		byState: make(map[calls.State]int), decoded: make(map[string]calls.Call)}
}

// Seq is the feed sequence the store reflects.
func (s *Store) Seq() uint64 { return s.seq }

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
	return s.decode(e), true
}

// maxDecoded bounds the calls kept decoded: a few windows' worth.
const maxDecoded = 1024

// decode returns e's call, decoded once per change.
func (s *Store) decode(e *entry) calls.Call {
	if c, ok := s.decoded[e.id]; ok && c.Seq == e.seq {
		return c
	}
	var c calls.Call
	if err := json.Unmarshal(e.raw, &c); err != nil {
		c = calls.Call{ID: e.id, State: e.state, Direction: e.direction, Seq: e.seq} // cannot happen: the store encoded it
	}
	if len(s.decoded) >= maxDecoded {
		clear(s.decoded)
	}
	s.decoded[e.id] = c
	return c
}

// Reason is why the call with the given id ended; ok is false for a live or
// unknown call.
func (s *Store) Reason(id string) (r reasons.Reason, ok bool) {
	e, found := s.calls[id]
	if !found || !e.ended {
		return reasons.Reason{}, false
	}
	return reasons.ForCall(s.decode(e)), true
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
	clear(s.live)
	clear(s.ended)
	s.live, s.ended = s.live[:0], s.ended[:0]
	clear(s.byState)
	clear(s.decoded) // a new epoch may reuse sequences
	for _, c := range m.Calls {
		if c.ID == "" {
			continue
		}
		if old, ok := s.calls[c.ID]; ok { // listed twice: the later wins
			s.drop(old)
		}
		e := newEntry(c)
		s.calls[c.ID] = e
		if c.Ended() {
			s.ended = append(s.ended, e)
		} else {
			s.live = append(s.live, e)
			s.byState[c.State]++
		}
	}
	slices.SortFunc(s.live, byStart)
	slices.SortFunc(s.ended, byEnd)
	s.seq = m.Seq
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
	for keep > 0 && s.ended[keep-1].endedAt < nanos(cutoff) {
		keep--
	}
	keep = min(keep, s.opts.MaxEnded)
	if keep == len(s.ended) {
		return nil
	}
	var ids []string
	for _, e := range s.ended[keep:] {
		ids = append(ids, e.id)
		delete(s.calls, e.id)
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

// drop takes e out of a list being built by ApplySnapshot.
func (s *Store) drop(e *entry) {
	if e.ended {
		s.ended = slices.DeleteFunc(s.ended, func(x *entry) bool { return x == e })
		return
	}
	s.live = slices.DeleteFunc(s.live, func(x *entry) bool { return x == e })
	s.countState(e.state, -1)
}

// upsert stores c, moving it between the live and ended indexes as needed.
// A change that keeps the call where it sorts (most do: a state change,
// a participant joining) replaces its entry in place, without moving the
// rest of a list of tens of thousands.
func (s *Store) upsert(c calls.Call) {
	e := newEntry(c)
	if old, ok := s.calls[c.ID]; ok {
		if s.replace(old, e) {
			s.calls[c.ID] = e
			s.changed()
			return
		}
		s.unindex(old)
	}
	s.calls[c.ID] = e
	s.index(e)
	s.changed()
}

// replace puts e where old is, when both sort to the same place of the
// same list, and reports whether it did.
func (s *Store) replace(old, e *entry) bool {
	if old.ended != e.ended {
		return false
	}
	list, order := s.live, byStart
	if e.ended {
		list, order = s.ended, byEnd
	}
	if order(old, e) != 0 {
		return false
	}
	i, found := slices.BinarySearchFunc(list, old, order)
	if !found || list[i] != old {
		return false
	}
	list[i] = e
	if !e.ended {
		s.countState(old.state, -1)
		s.countState(e.state, 1)
	}
	return true
}

// countState adds n to the live calls counted in state st.
func (s *Store) countState(st calls.State, n int) {
	if s.byState[st] += n; s.byState[st] <= 0 {
		delete(s.byState, st)
	}
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
	if e.ended {
		s.ended = insertSorted(s.ended, e, byEnd)
		if len(s.ended) > s.opts.MaxEnded {
			last := s.ended[len(s.ended)-1]
			delete(s.calls, last.id)
			s.ended[len(s.ended)-1] = nil
			s.ended = s.ended[:len(s.ended)-1]
		}
		return
	}
	s.live = insertSorted(s.live, e, byStart)
	s.countState(e.state, 1)
}

func (s *Store) unindex(e *entry) {
	if e.ended {
		s.ended = removeSorted(s.ended, e, byEnd)
		return
	}
	s.live = removeSorted(s.live, e, byStart)
	s.countState(e.state, -1)
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
