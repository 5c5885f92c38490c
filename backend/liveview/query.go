package liveview

import (
	"slices"
	"sort"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// Snapshot is the whole view for a console that connects: live calls first
// (oldest first), then the ended ones (most recently ended first), at the
// view's sequence and the server's clock.
func (v *View) Snapshot() feedwire.Message {
	m, _ := v.VersionedSnapshot()
	return m
}

// VersionedSnapshot is Snapshot with the view's version: two snapshots of
// one version hold the same calls (in the same slice, which nobody may
// change), so whoever encodes them can encode them once. The list is built
// once per version, however many consoles connect.
func (v *View) VersionedSnapshot() (feedwire.Message, uint64) {
	v.mu.RLock()
	version, seq := v.version, v.seq
	if v.snap.list != nil && v.snap.version == version {
		list := v.snap.list
		v.mu.RUnlock()
		return feedwire.Message{Type: feedwire.TypeSnapshot, Seq: seq, Now: v.opts.Now().UTC(), Calls: list}, version
	}
	list := make([]calls.Call, 0, len(v.calls))
	for _, c := range v.calls {
		list = append(list, c)
	}
	v.mu.RUnlock()
	Sort(list)
	v.mu.Lock()
	if v.version == version {
		v.snap.list, v.snap.version = list, version
	}
	v.mu.Unlock()
	return feedwire.Message{Type: feedwire.TypeSnapshot, Seq: seq, Now: v.opts.Now().UTC(), Calls: list}, version
}

// Sort orders calls as a snapshot lists them: live calls by start time, then
// ended calls, most recently ended first; ties broken by id so the order is
// the same on every replica.
func Sort(list []calls.Call) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Ended() != b.Ended() {
			return !a.Ended()
		}
		if a.Ended() && !a.EndedAt.Equal(b.EndedAt) {
			return a.EndedAt.After(b.EndedAt)
		}
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.Before(b.StartedAt)
		}
		return a.ID < b.ID
	})
}

// Get returns one call of the view.
func (v *View) Get(id string) (calls.Call, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	c, ok := v.calls[id]
	return c, ok
}

// Calls returns every call of the view, in snapshot order.
func (v *View) Calls() []calls.Call {
	return v.Snapshot().Calls
}

// Unordered appends a copy of every call of the view to dst, in no
// particular order, and returns the extended slice: for readers that look
// at every call and need no order (the alert rules, once a second),
// without the sort a snapshot costs when the view changes between two
// reads, as it does under load, and into a slice the reader keeps from one
// round to the next. Like every whole-view read but the snapshot's, it is
// gathered a chunk at a time (see gather).
func (v *View) Unordered(dst []calls.Call) []calls.Call {
	return v.gather(dst, nil)
}

// ActiveAlerts counts the alerts the view's calls hold, without walking
// the calls: the view keeps the count as they change.
func (v *View) ActiveAlerts() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.alerts
}

// EachLive calls fn with the calls not yet ended, a chunk at a time, in no
// particular order: each chunk is copied under the read lock into a buffer
// reused from one chunk to the next, and fn runs without the lock. It is
// for readers that walk the whole view often and keep little of it
// (upkeep, every tick): a copy of 50,000 calls is 30 MB of garbage each
// time. fn must not keep the slice. Like gather, it is not one instant's
// view.
func (v *View) EachLive(fn func(chunk []calls.Call)) {
	buf := make([]calls.Call, 0, gatherChunk)
	v.walk(func(c calls.Call) {
		if !c.Ended() {
			buf = append(buf, c)
		}
	}, func() {
		if len(buf) > 0 {
			fn(buf)
			clear(buf)
			buf = buf[:0]
		}
	})
}

// gatherChunk is how many calls a whole-view read looks at in one hold of
// the read lock.
const gatherChunk = 512

// gather appends to dst a copy of each call keep accepts (every call when
// keep is nil) and returns the extended slice, a chunk at a time (see
// walk). Readers that look at every call to act on some (the alert rules,
// upkeep's start-up check) do not mind that it is not one instant's view;
// a snapshot, which must be, is not gathered this way.
func (v *View) gather(dst []calls.Call, keep func(calls.Call) bool) []calls.Call {
	if keep == nil {
		v.mu.RLock()
		dst = slices.Grow(dst, len(v.calls))
		v.mu.RUnlock()
	}
	v.walk(func(c calls.Call) {
		if keep == nil || keep(c) { // by value: a pointer would move every c to the heap
			dst = append(dst, c)
		}
	}, nil)
	return dst
}

// walk calls visit with each call of the view under the read lock, letting
// the lock go after every gatherChunk calls, and calls between (when set)
// there without the lock, and once more at the end. An event then waits
// for one chunk rather than for the whole view: copying 50,000 calls took
// 150–300 ms, and every console waited that long for every change
// meanwhile. The price is that a walk is not one instant's view: a call an
// event changes meanwhile is seen as it was or as it became, and one added
// or removed meanwhile may be seen or not.
func (v *View) walk(visit func(calls.Call), between func()) {
	v.mu.RLock()
	n := 0
	for _, c := range v.calls {
		visit(c)
		if n++; n%gatherChunk == 0 {
			// A writer waiting for the lock takes it now, before this
			// walk goes on; the map may change under the loop, as the
			// language allows within one, since the lock orders it.
			v.mu.RUnlock()
			if between != nil {
				between()
			}
			v.mu.RLock()
		}
	}
	v.mu.RUnlock()
	if between != nil {
		between()
	}
}

// Seq is the sequence of the last event the view applied.
func (v *View) Seq() uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.seq
}

// Live returns the calls not yet ended in the given states (all when none
// given), gathered a chunk at a time (see gather).
func (v *View) Live(states ...calls.State) []calls.Call {
	v.mu.RLock()
	dst := make([]calls.Call, 0, v.live)
	v.mu.RUnlock()
	return v.gather(dst, func(c calls.Call) bool {
		return !c.Ended() && (len(states) == 0 || slices.Contains(states, c.State))
	})
}

// prune drops ended calls past the history window or beyond MaxEnded from
// the view (and, on the writer, from the saved state). Consoles age them
// out by the same rule.
func (v *View) prune() {
	cutoff := v.opts.Now().Add(-v.opts.History)
	v.mu.Lock()
	defer v.mu.Unlock()
	var ended []calls.Call
	for _, c := range v.calls {
		if c.Ended() {
			ended = append(ended, c)
		}
	}
	Sort(ended)
	for i, c := range ended {
		if i >= v.opts.MaxEnded || c.EndedAt.Before(cutoff) {
			v.version++
			v.removeLocked(c)
			v.gone[c.ID] = c.Seq
			if _, unsaved := v.dirty[c.ID]; unsaved {
				// Its last state was never saved: the saved one is older,
				// and must go at once rather than wait for the checkpoint.
				v.gone[c.ID] = forgetNow
				delete(v.dirty, c.ID)
			}
		}
	}
}
