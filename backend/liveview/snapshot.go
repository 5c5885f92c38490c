package liveview

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"switchboard/app/calls"
)

// A console that connects gets every call of the view. With tens of
// thousands of live calls, and notifications changing the view hundreds of
// times a second, encoding the whole view for each console (or even once
// per version) costs more than everything else the server does. So each
// call's JSON is kept from one snapshot to the next and encoded again only
// when the call changed; a snapshot is the calls' sort keys, copied under
// the view's read lock (a few milliseconds for 50,000 calls, during which
// events wait), then sorted and joined outside it. The cached JSON lives
// inside the last snapshot, so the view's JSON is held once.

// encodedCall is a call's JSON as of one of its sequences.
type encodedCall struct {
	seq  uint64
	data []byte
	mark uint64 // the snapshot that last saw the call
}

// snapItem is one call of a snapshot being built: its sort key and JSON.
type snapItem struct {
	ended              bool
	endedAt, startedAt time.Time
	id                 string
	data               []byte
	stale              int // index into the calls to encode, or -1
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
	if v.encSnap.data != nil && v.encSnap.version == version {
		v.mu.RUnlock()
		return v.encSnap.seq, v.encSnap.data, version
	}
	v.snapMark++
	items := make([]snapItem, 0, len(v.calls))
	var stale []calls.Call
	for id, c := range v.calls {
		it := snapItem{ended: c.Ended(), endedAt: c.EndedAt, startedAt: c.StartedAt, id: id, stale: -1}
		if e, ok := v.enc[id]; ok && e.seq == c.Seq {
			it.data = e.data
			e.mark = v.snapMark
			v.enc[id] = e
		} else {
			it.stale = len(stale)
			stale = append(stale, c)
		}
		items = append(items, it)
	}
	v.mu.RUnlock()

	for i := range items {
		it := &items[i]
		if it.stale < 0 {
			continue
		}
		c := &stale[it.stale]
		data, err := json.Marshal(c)
		if err != nil {
			v.opts.Logger.Error("live view: encode a call for a snapshot", "call", c.ID, "err", err)
			data = []byte("null")
		}
		it.data = data
		v.enc[it.id] = encodedCall{seq: c.Seq, data: data, mark: v.snapMark}
	}
	for id, e := range v.enc {
		if e.mark != v.snapMark {
			delete(v.enc, id) // gone from the view
		}
	}
	slices.SortFunc(items, compareItems)
	size := 2
	for _, it := range items {
		size += len(it.data) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, '[')
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		start := len(out)
		out = append(out, it.data...)
		// The cache points into the snapshot from now on, so that the
		// view's JSON is held once, not once in the cache and once in the
		// snapshot; the previous snapshot goes when its consoles have it.
		e := v.enc[it.id]
		e.data = out[start:len(out):len(out)]
		v.enc[it.id] = e
	}
	out = append(out, ']')
	v.encSnap.version, v.encSnap.seq, v.encSnap.data = version, seq, out
	return seq, out, version
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
