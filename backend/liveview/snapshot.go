package liveview

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// A console that connects gets every call of the view. With tens of
// thousands of live calls, and notifications changing the view hundreds of
// times a second, encoding the whole view for each console (or even once
// per version) costs more than everything else the server does, and a
// console connecting under load waits for it. So:
//
//   - each call's JSON is kept (enc), and encoded again as soon as an event
//     changes the call, by the goroutine that applies events, outside the
//     view's lock: a snapshot finds it ready;
//   - the snapshot order of the calls is kept from one snapshot to the next
//     while no call was added, removed or moved in it (shape): most events
//     (a call put on hold and back) leave it as it is;
//   - a snapshot is then the calls' JSON joined in that order, under the
//     view's read lock only while it looks up each call's sequence (a few
//     milliseconds for 50,000 calls, during which events wait);
//   - consoles that ask while the view does not change share the last
//     snapshot (shared), and the kept JSON points into it, so the view
//     holds its calls' JSON once: in the last snapshot, and for the calls
//     changed since, in what the events encoded.

// encodedCall is a call's JSON as of one of its sequences.
type encodedCall struct {
	seq  uint64
	data []byte
}

// snapItem is one call of a snapshot being ordered: its sort key.
type snapItem struct {
	ended              bool
	endedAt, startedAt time.Time
	id                 string
}

// movesInOrder reports whether a change from before to after moves the call
// in a snapshot's order (see compareItems).
func movesInOrder(before, after calls.Call) bool {
	return before.Ended() != after.Ended() || !before.EndedAt.Equal(after.EndedAt) || !before.StartedAt.Equal(after.StartedAt)
}

// sharedSnapshot is a snapshot every console asking at its version gets.
type sharedSnapshot struct {
	version, seq uint64
	data         []byte
}

// encode keeps the JSON of the calls msgs changed, for the next snapshot,
// and sets it as their CallJSON, for the feed.
func (v *View) encode(msgs []feedwire.Message) {
	for i, m := range msgs {
		if m.Call == nil {
			continue
		}
		data, err := json.Marshal(m.Call)
		if err != nil {
			continue // the feed and a snapshot try again, and say why
		}
		msgs[i].CallJSON = data
		v.encMu.Lock()
		if e, ok := v.enc[m.Call.ID]; !ok || e.seq < m.Call.Seq {
			v.enc[m.Call.ID] = encodedCall{seq: m.Call.Seq, data: data}
		}
		v.encMu.Unlock()
	}
}

// EncodedSnapshot returns the view's calls as a JSON array, in snapshot
// order (see Sort), at the sequence seq they reflect, and the version of
// the view it was taken at. Snapshots of the same version are the same
// slice, which nobody may change. Concurrent callers are served one after
// the other, and a caller that finds the view unchanged gets the last
// snapshot again.
func (v *View) EncodedSnapshot() (seq uint64, list []byte, version uint64) {
	v.snapMu.Lock()
	defer v.snapMu.Unlock()
	v.mu.RLock()
	version, seq = v.version, v.seq
	if last := v.shared; last.data != nil && last.version == version {
		v.mu.RUnlock()
		return last.seq, last.data, version
	}
	if v.order.ids == nil || v.order.shape != v.shape {
		v.order.ids, v.order.shape = v.orderLocked(), v.shape
	}
	parts, stale := v.partsLocked(v.order.ids)
	v.mu.RUnlock()

	for _, st := range stale {
		data, err := json.Marshal(st.call)
		if err != nil {
			v.opts.Logger.Error("live view: encode a call for a snapshot", "call", st.call.ID, "err", err)
			data = []byte("null")
		}
		parts[st.at].data = data
	}
	out := v.join(parts)
	v.shared = sharedSnapshot{version: version, seq: seq, data: out}
	return seq, out, version
}

// orderLocked lists the view's call ids in snapshot order; v.mu is held.
func (v *View) orderLocked() []string {
	items := make([]snapItem, 0, len(v.calls))
	for id, c := range v.calls {
		items = append(items, snapItem{ended: c.Ended(), endedAt: c.EndedAt, startedAt: c.StartedAt, id: id})
	}
	slices.SortFunc(items, compareItems)
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	return ids
}

// part is one call of a snapshot being joined: its id, the sequence it is
// at and its JSON (nil while it is to be encoded).
type part struct {
	id   string
	seq  uint64
	data []byte
}

// staleCall is a call whose JSON is missing or older than the call, with
// its place among the parts.
type staleCall struct {
	at   int
	call calls.Call
}

// partsLocked looks up the JSON of each call in ids, and copies the calls
// whose JSON is missing or older than the call; v.mu is held.
func (v *View) partsLocked(ids []string) ([]part, []staleCall) {
	parts := make([]part, len(ids))
	var stale []staleCall
	v.encMu.Lock()
	defer v.encMu.Unlock()
	for i, id := range ids {
		seq := v.calls[id].Seq // the call is copied only when stale
		parts[i] = part{id: id, seq: seq}
		if e, ok := v.enc[id]; ok && e.seq == seq {
			parts[i].data = e.data // join marks it seen
			continue
		}
		stale = append(stale, staleCall{at: i, call: v.calls[id]})
	}
	return parts, stale
}

// join joins the parts into a JSON array. From then on each call's kept
// JSON is its part of the array, unless the call changed or left the view
// meanwhile: the view's JSON is held once, in the last snapshot and in the
// calls encoded since, and the previous snapshot goes when its consoles
// have it. The cache is updated a chunk at a time, so that the events'
// goroutine, which encodes into it, never waits long.
func (v *View) join(parts []part) []byte {
	size := 2
	for _, p := range parts {
		size += len(p.data) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, '[')
	at := make([]int, len(parts))
	for i, p := range parts {
		if i > 0 {
			out = append(out, ',')
		}
		at[i] = len(out)
		out = append(out, p.data...)
	}
	out = append(out, ']')
	for from := 0; from < len(parts); from += joinChunk {
		v.keepParts(parts[from:min(from+joinChunk, len(parts))], at[from:], out)
	}
	return out
}

// joinChunk is how many calls' kept JSON join updates under one lock.
const joinChunk = 2048

// keepParts points the kept JSON of the calls in parts into out, where
// at says each one starts, for the calls still at the part's sequence.
func (v *View) keepParts(parts []part, at []int, out []byte) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	v.encMu.Lock()
	defer v.encMu.Unlock()
	for i, p := range parts {
		if v.calls[p.id].Seq != p.seq { // a call gone reads as Seq 0
			continue // changed or gone since: what the events left stays
		}
		end := at[i] + len(p.data)
		v.enc[p.id] = encodedCall{seq: p.seq, data: out[at[i]:end:end]}
	}
}

// compareItems orders a snapshot as Sort does: live calls by start time,
// then ended calls, most recently ended first; ties broken by id.
func compareItems(a, b snapItem) int {
	if a.ended != b.ended {
		if a.ended {
			return 1
		}
		return -1
	}
	if a.ended && !a.endedAt.Equal(b.endedAt) {
		return b.endedAt.Compare(a.endedAt)
	}
	if !a.startedAt.Equal(b.startedAt) {
		return a.startedAt.Compare(b.startedAt)
	}
	return strings.Compare(a.id, b.id)
}
