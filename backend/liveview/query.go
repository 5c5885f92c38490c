package liveview

import (
	"slices"
	"sort"
	"time"

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
// round to the next.
func (v *View) Unordered(dst []calls.Call) []calls.Call {
	v.mu.RLock()
	defer v.mu.RUnlock()
	dst = slices.Grow(dst, len(v.calls))
	for _, c := range v.calls {
		dst = append(dst, c)
	}
	return dst
}

// ActiveAlerts counts the alerts the view's calls hold, without copying
// the calls.
func (v *View) ActiveAlerts() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n := 0
	for _, c := range v.calls {
		n += len(c.Alerts)
	}
	return n
}

// Seq is the sequence of the last event the view applied.
func (v *View) Seq() uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.seq
}

// Stale returns the live calls whose last change is older than quiet.
func (v *View) Stale(quiet time.Duration) []calls.Call {
	cutoff := v.opts.Now().Add(-quiet)
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []calls.Call
	for _, c := range v.calls {
		if !c.Ended() && c.UpdatedAt.Before(cutoff) {
			out = append(out, c)
		}
	}
	return out
}

// Live returns the calls not yet ended in the given states (all when none given).
func (v *View) Live(states ...calls.State) []calls.Call {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []calls.Call
	for _, c := range v.calls {
		if c.Ended() {
			continue
		}
		if len(states) == 0 || slices.Contains(states, c.State) {
			out = append(out, c)
		}
	}
	return out
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
