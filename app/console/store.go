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
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
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
// counting need, and in a run of bytes its id, its searchable text and the
// call itself as JSON, decoded only when a window or a detail shows it.
//
// A console holding tens of thousands of calls spends its garbage
// collections marking what it holds, and a WebAssembly console does that
// in one go on the page's only thread. So the store holds its calls in one
// slice of entries, refers to them by slot number (its lists and filtered
// views are numbers, its index a map of id hashes to numbers), and an
// entry holds no pointer (its bytes are in slabs, its names are numbers:
// see slabs.go): the collector does not look into the entries at all, and
// a collection over 50,000 calls stays short enough not to stall the page.
type entry struct {
	// slab, off and n say where the entry's bytes are (see slabs): its
	// id, then its text, then caller and callee, then the call's JSON;
	// idLen, textLen, callerLen and calleeLen are the lengths of the
	// parts. n is 0 in a free slot.
	slab, off, n                         int32
	idLen, textLen, callerLen, calleeLen int32
	// state, direction and category are numbers in the store's names.
	state, direction, category uint16
	ended                      bool
	alerts                     int32 // how many alerts the call holds
	// startedAt, endedAt and countsFrom (when the call was answered, or
	// started if never answered: what its duration counts from) are Unix
	// nanoseconds (see nanos).
	startedAt, endedAt, countsFrom int64
	seq                            uint64
}

// held reports whether the entry holds a call (a free slot does not).
func (e *entry) held() bool { return e.n > 0 }

// slot is an entry's place in Store.entries.
type slot = int32

// newEntry returns c's entry and the bytes it needs placed (see add).
// raw is c's JSON when the caller has it (as the feed sent it), or nil.
func (s *Store) newEntry(c calls.Call, raw []byte) (entry, []byte) {
	e := entry{state: s.names.number(string(c.State)), direction: s.names.number(c.Direction), ended: c.Ended(),
		alerts: int32(len(c.Alerts)), startedAt: nanos(c.StartedAt), endedAt: nanos(c.EndedAt), countsFrom: nanos(c.CountsFrom()), seq: c.Seq}
	if e.ended {
		e.category = s.names.number(string(reasons.ForCall(c).Category))
	}
	text := searchText(c)
	// The parties' names, lower-cased, for sorting.
	caller, callee := strings.ToLower(c.Source.Label()), ""
	if len(c.Targets) > 0 {
		callee = strings.ToLower(c.Targets[0].Label())
	}
	if raw == nil {
		raw, _ = json.Marshal(c) // a calls.Call always encodes
	}
	b := make([]byte, 0, len(c.ID)+len(text)+len(caller)+len(callee)+len(raw))
	b = append(append(append(append(append(b, c.ID...), text...), caller...), callee...), raw...)
	e.idLen, e.textLen, e.callerLen, e.calleeLen = int32(len(c.ID)), int32(len(text)), int32(len(caller)), int32(len(callee))
	return e, b
}

// The parts of an entry's bytes and its names. The bytes are the store's:
// nobody may keep them past the next change.
func (s *Store) idOf(e *entry) []byte   { return s.slabs.bytes(e)[:e.idLen] }
func (s *Store) textOf(e *entry) []byte { return s.slabs.bytes(e)[e.idLen : e.idLen+e.textLen] }
func (s *Store) callerOf(e *entry) []byte {
	at := e.idLen + e.textLen
	return s.slabs.bytes(e)[at : at+e.callerLen]
}
func (s *Store) calleeOf(e *entry) []byte {
	at := e.idLen + e.textLen + e.callerLen
	return s.slabs.bytes(e)[at : at+e.calleeLen]
}
func (s *Store) rawOf(e *entry) []byte {
	return s.slabs.bytes(e)[e.idLen+e.textLen+e.callerLen+e.calleeLen:]
}
func (s *Store) stateOf(e *entry) calls.State { return calls.State(s.names.name(e.state)) }
func (s *Store) directionOf(e *entry) string  { return s.names.name(e.direction) }
func (s *Store) categoryOf(e *entry) reasons.Category {
	return reasons.Category(s.names.name(e.category))
}

// nanos is t in Unix nanoseconds, the zero time first of all.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
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
func (s *Store) byStart(a, b slot) int {
	ea, eb := &s.entries[a], &s.entries[b]
	if c := cmp.Compare(eb.startedAt, ea.startedAt); c != 0 {
		return c
	}
	return bytes.Compare(s.idOf(ea), s.idOf(eb))
}

// byEnd orders ended calls most recently ended first, then by id.
func (s *Store) byEnd(a, b slot) int {
	ea, eb := &s.entries[a], &s.entries[b]
	if c := cmp.Compare(eb.endedAt, ea.endedAt); c != 0 {
		return c
	}
	return bytes.Compare(s.idOf(ea), s.idOf(eb))
}

// Store holds the console's view of every call: the live ones ordered by
// start time and the recently ended ones ordered by end time, both kept
// sorted as calls change so that a window of either costs no sort.
//
// A Store is not safe for concurrent use: in the console only the UI
// goroutine touches it.
type Store struct {
	opts Options
	// entries holds every call, by slot; free lists the slots to reuse.
	entries []entry
	free    []slot
	// byID finds a call's slot by the hash of its id; clash holds the
	// (vanishingly rare) ids whose hash another id already has.
	byID   map[uint64]slot
	clash  map[string]slot
	hash   func(id string) uint64
	held   int    // calls held
	live   []slot // sorted byStart
	ended  []slot // sorted byEnd
	seq    uint64
	epoch  string        // the event log's incarnation seq belongs to
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
	// slabs hold the entries' bytes, names the strings they name.
	slabs slabs
	names names
}

// NewStore returns an empty store.
func NewStore(opts Options) *Store {
	return &Store{opts: opts.withDefaults(), byID: make(map[uint64]slot), clash: make(map[string]slot), hash: idHash(maphash.MakeSeed()),
		cache: make(map[filterKey]cachedView), byState: make(map[calls.State]int), decoded: make(map[string]calls.Call),
		slabs: newSlabs(), names: newNames()}
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
func (s *Store) Len() int { return s.held }

// idHash hashes ids with seed.
func idHash(seed maphash.Seed) func(string) uint64 {
	return func(id string) uint64 { return maphash.String(seed, id) }
}

// find returns the slot of the call id.
func (s *Store) find(id string) (slot, bool) {
	if i, ok := s.byID[s.hash(id)]; ok && string(s.idOf(&s.entries[i])) == id {
		return i, true
	}
	i, ok := s.clash[id]
	return i, ok
}

// add stores e in a free slot and indexes it; its id must not be held.
func (s *Store) add(e entry, b []byte) slot {
	s.slabs.place(&e, b)
	var i slot
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
		s.entries[i] = e
	} else {
		i = slot(len(s.entries))
		s.entries = append(s.entries, e)
	}
	id := s.idOf(&s.entries[i])
	h := s.hash(string(id))
	if j, taken := s.byID[h]; taken && !bytes.Equal(s.idOf(&s.entries[j]), id) {
		s.clash[string(id)] = i
	} else {
		s.byID[h] = i
	}
	s.held++
	return i
}

// release forgets the call in slot i (already out of its list).
func (s *Store) release(i slot) {
	id := s.idOf(&s.entries[i])
	h := s.hash(string(id))
	if j, ok := s.byID[h]; ok && j == i {
		delete(s.byID, h)
	} else {
		delete(s.clash, string(id))
	}
	s.slabs.release(&s.entries[i])
	s.entries[i] = entry{}
	s.free = append(s.free, i)
	s.held--
}

// LiveLen is the number of calls not yet ended.
func (s *Store) LiveLen() int { return len(s.live) }

// EndedLen is the number of ended calls kept.
func (s *Store) EndedLen() int { return len(s.ended) }

// Get returns the call with the given id.
func (s *Store) Get(id string) (calls.Call, bool) {
	i, ok := s.find(id)
	if !ok {
		return calls.Call{}, false
	}
	return s.decode(i), true
}

// Alerts returns how many alerts the call holds, without decoding it (a
// busy console asks for every call a flush changed), and whether the
// store holds the call.
func (s *Store) Alerts(id string) (int, bool) {
	i, ok := s.find(id)
	if !ok {
		return 0, false
	}
	return int(s.entries[i].alerts), true
}

// maxDecoded bounds the calls kept decoded: a few windows' worth.
const maxDecoded = 1024

// decode returns the call in slot i, decoded once per change.
func (s *Store) decode(i slot) calls.Call {
	e := &s.entries[i]
	if c, ok := s.decoded[string(s.idOf(e))]; ok && c.Seq == e.seq {
		return c
	}
	var c calls.Call
	if err := json.Unmarshal(s.rawOf(e), &c); err != nil {
		c = calls.Call{ID: string(s.idOf(e)), State: s.stateOf(e), Direction: s.directionOf(e), Seq: e.seq} // cannot happen: the store encoded it
	}
	if len(s.decoded) >= maxDecoded {
		clear(s.decoded)
	}
	s.decoded[c.ID] = c
	return c
}

// Reason is why the call with the given id ended; ok is false for a live or
// unknown call.
func (s *Store) Reason(id string) (r reasons.Reason, ok bool) {
	i, found := s.find(id)
	if !found || !s.entries[i].ended {
		return reasons.Reason{}, false
	}
	return reasons.ForCall(s.decode(i)), true
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
		s.upsert(*m.Call, m.CallJSON)
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
	clear(s.entries)
	s.entries, s.free, s.held = s.entries[:0], s.free[:0], 0
	s.slabs = newSlabs()
	s.byID, s.clash = make(map[uint64]slot, len(m.Calls)), make(map[string]slot)
	s.live, s.ended = s.live[:0], s.ended[:0]
	clear(s.byState)
	clear(s.decoded) // a new epoch may reuse sequences
	for _, c := range m.Calls {
		if c.ID == "" {
			continue
		}
		if old, ok := s.find(c.ID); ok { // listed twice: the later wins
			s.drop(old)
		}
		i := s.add(s.newEntry(c, nil))
		if s.entries[i].ended {
			s.ended = append(s.ended, i)
		} else {
			s.live = append(s.live, i)
			s.byState[s.stateOf(&s.entries[i])]++
		}
	}
	slices.SortFunc(s.live, s.byStart)
	slices.SortFunc(s.ended, s.byEnd)
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
	s.slabs.compact(s.entries)
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
	for keep > 0 && s.entries[s.ended[keep-1]].endedAt < nanos(cutoff) {
		keep--
	}
	keep = min(keep, s.opts.MaxEnded)
	if keep == len(s.ended) {
		return nil
	}
	var ids []string
	for _, i := range s.ended[keep:] {
		ids = append(ids, string(s.idOf(&s.entries[i])))
		s.release(i)
	}
	s.ended = s.ended[:keep]
	s.changed()
	return ids
}

func (s *Store) changed() {
	s.version++
	clear(s.cache)
}

// drop takes the call in slot i out of the lists being built by
// ApplySnapshot, and forgets it.
func (s *Store) drop(i slot) {
	if s.entries[i].ended {
		s.ended = slices.DeleteFunc(s.ended, func(x slot) bool { return x == i })
	} else {
		s.live = slices.DeleteFunc(s.live, func(x slot) bool { return x == i })
		s.countState(s.stateOf(&s.entries[i]), -1)
	}
	s.release(i)
}

// upsert stores c (whose JSON is raw, or nil to encode it), moving it
// between the live and ended lists as needed.
// A change that keeps the call where it sorts (most do: a state change,
// a participant joining) replaces its entry in place, without moving the
// rest of a list of tens of thousands.
func (s *Store) upsert(c calls.Call, raw []byte) {
	e, b := s.newEntry(c, raw)
	if i, ok := s.find(c.ID); ok {
		old := &s.entries[i]
		if old.ended == e.ended && ((!e.ended && old.startedAt == e.startedAt) || (e.ended && old.endedAt == e.endedAt)) {
			if !e.ended {
				s.countState(s.stateOf(old), -1)
				s.countState(s.stateOf(&e), 1)
			}
			s.slabs.release(old)
			s.slabs.place(&e, b)
			s.entries[i] = e // same id, same place in its list
			s.changed()
			return
		}
		s.unindex(i)
		s.release(i)
	}
	s.index(s.add(e, b))
	s.changed()
}

// countState adds n to the live calls counted in state st.
func (s *Store) countState(st calls.State, n int) {
	if s.byState[st] += n; s.byState[st] <= 0 {
		delete(s.byState, st)
	}
}

func (s *Store) remove(id string) bool {
	i, ok := s.find(id)
	if !ok {
		return false
	}
	s.unindex(i)
	s.release(i)
	s.changed()
	return true
}

// index puts the call in slot i in its sorted list.
func (s *Store) index(i slot) {
	if s.entries[i].ended {
		s.ended = insertSorted(s.ended, i, s.byEnd)
		if len(s.ended) > s.opts.MaxEnded {
			last := s.ended[len(s.ended)-1]
			s.ended = s.ended[:len(s.ended)-1]
			s.release(last)
		}
		return
	}
	s.live = insertSorted(s.live, i, s.byStart)
	s.countState(s.stateOf(&s.entries[i]), 1)
}

// unindex takes the call in slot i out of its sorted list.
func (s *Store) unindex(i slot) {
	if s.entries[i].ended {
		s.ended = removeSorted(s.ended, i, s.byEnd)
		return
	}
	s.live = removeSorted(s.live, i, s.byStart)
	s.countState(s.stateOf(&s.entries[i]), -1)
}

func insertSorted(list []slot, i slot, order func(a, b slot) int) []slot {
	at, _ := slices.BinarySearchFunc(list, i, order)
	return slices.Insert(list, at, i)
}

func removeSorted(list []slot, i slot, order func(a, b slot) int) []slot {
	at, found := slices.BinarySearchFunc(list, i, order)
	if !found || list[at] != i {
		return list
	}
	return slices.Delete(list, at, at+1)
}
