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
//   - a snapshot is then the list of the calls' kept JSON in that order,
//     taken under the view's read lock only while it looks up each call's
//     sequence (a few milliseconds for 50,000 calls, during which events
//     wait). It is never joined: the feed writes it to a console through a
//     small buffer, so no snapshot allocates the size of the view (36 MB
//     for 50,000 calls, which under load brought the collector on);
//   - consoles that ask while the view does not change share the last
//     snapshot (shared); it refers to the kept JSON, so the view holds its
//     calls' JSON once.

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
	calls        [][]byte
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

// EncodedSnapshot returns the JSON of each of the view's calls, in
// snapshot order (see Sort), at the sequence seq they reflect, and the
// version of the view it was taken at: a JSON array of the calls is the
// list joined with commas between brackets. Snapshots of the same version
// are the same list, and neither the list nor the JSON it holds may be
// changed. Concurrent callers are served one after the other, and a caller
// that finds the view unchanged gets the last snapshot again.
func (v *View) EncodedSnapshot() (seq uint64, list [][]byte, version uint64) {
	v.snapMu.Lock()
	defer v.snapMu.Unlock()
	v.mu.RLock()
	version, seq = v.version, v.seq
	if last := v.shared; last.calls != nil && last.version == version {
		v.mu.RUnlock()
		return last.seq, last.calls, version
	}
	if v.order.ids == nil || v.order.shape != v.shape {
		v.order.ids, v.order.shape = v.orderLocked(), v.shape
	}
	list, stale := v.partsLocked(v.order.ids)
	v.mu.RUnlock()

	for i, st := range stale {
		data, err := json.Marshal(st.call)
		if err != nil {
			v.opts.Logger.Error("live view: encode a call for a snapshot", "call", st.call.ID, "err", err)
			data = []byte("null")
		}
		list[st.at], stale[i].data = data, data
	}
	v.keep(stale)
	v.shared = sharedSnapshot{version: version, seq: seq, calls: list}
	return seq, list, version
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

// staleCall is a call whose JSON is missing or older than the call, with
// its place in the snapshot, and its JSON once encoded.
type staleCall struct {
	at   int
	call calls.Call
	data []byte
}

// partsLocked looks up the kept JSON of each call in ids, and copies the
// calls whose JSON is missing or older than the call; v.mu is held.
func (v *View) partsLocked(ids []string) ([][]byte, []staleCall) {
	list := make([][]byte, len(ids))
	var stale []staleCall
	v.encMu.Lock()
	defer v.encMu.Unlock()
	for i, id := range ids {
		seq := v.calls[id].Seq // the call is copied only when stale
		if e, ok := v.enc[id]; ok && e.seq == seq {
			list[i] = e.data
			continue
		}
		stale = append(stale, staleCall{at: i, call: v.calls[id]})
	}
	return list, stale
}

// keep keeps the JSON a snapshot encoded for calls that had none ready,
// unless the call changed or left meanwhile (the events keep what they
// encode).
func (v *View) keep(stale []staleCall) {
	if len(stale) == 0 {
		return
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	v.encMu.Lock()
	defer v.encMu.Unlock()
	for _, st := range stale {
		if v.calls[st.call.ID].Seq != st.call.Seq {
			continue // a call gone reads as Seq 0
		}
		if e, ok := v.enc[st.call.ID]; !ok || e.seq < st.call.Seq {
			v.enc[st.call.ID] = encodedCall{seq: st.call.Seq, data: st.data}
		}
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
