// Package feedwatch plays consoles against Switchboard's live feed and
// records what each one applied, so a fault-injection or soak run can
// compare every console with the server's view and the event log.
//
// A Console signs in, opens /api/feed on a websocket and keeps its own
// view of the calls the way the console does: a snapshot replaces the view
// (unless it is older than what the console holds: then the console keeps
// its rows and reconnects), a call or removed message at or below the
// sequence held is ignored, a resume past what it holds means events were
// missed and it starts over with a snapshot. After every disconnect it
// reconnects with ?since=SEQ, with the console's backoff, to its home
// replica or another one as its Policy says. Everything notable (each
// snapshot, a message received twice or out of order, a close and why) is
// recorded with its time.
package feedwatch

import (
	"slices"
	"time"

	"switchboard/app/feedwire"
)

// Kind is what an Event records.
type Kind string

// The kinds of Event.
const (
	// Connected: the feed opened with a snapshot or a resume.
	Connected Kind = "connected"
	// Refused: the connection attempt failed (Detail says how).
	Refused Kind = "refused"
	// Closed: an open feed ended (Detail says why).
	Closed Kind = "closed"
	// Snapshot: a snapshot replaced the view.
	Snapshot Kind = "snapshot"
	// StaleSnapshot: the server sent a snapshot older than the view held;
	// the console kept its view and reconnected.
	StaleSnapshot Kind = "stale snapshot"
	// Resumed: the server resumed at the sequence held.
	Resumed Kind = "resume"
	// Gap: the server resumed past the sequence held (events missed).
	Gap Kind = "gap"
	// Doubled: a change the console already had arrived again.
	Doubled Kind = "doubled"
	// OutOfOrder: a change arrived after a later one; it cannot apply.
	OutOfOrder Kind = "out of order"
	// Status: a message of a type the console does not apply (such as a
	// server status); Detail holds it.
	Status Kind = "status"
	// SignedIn: the console signed in (again: the session was gone).
	SignedIn Kind = "signed in"
	// Protocol: the feed broke its own rules (a first message that is not
	// a snapshot or resume, an undecodable frame).
	Protocol Kind = "protocol"
)

// Event is one notable thing a console saw.
type Event struct {
	At      time.Time
	Kind    Kind
	Replica int    // the replica connected (or tried)
	Seq     uint64 // the message's sequence, where it has one
	Detail  string
}

// CallState is a console's copy of one call.
type CallState struct {
	Seq   uint64
	State string
}

// Applied is one change the console applied.
type Applied struct {
	At     time.Time
	Seq    uint64
	CallID string
}

// view is a console's state: the calls and the sequence it holds. It is
// the console's rules, without the network, so they can be tested alone.
type view struct {
	calls   map[string]CallState
	held    uint64
	floor   uint64              // the last snapshot taken: every change up to it is in the view
	applied map[uint64]struct{} // changes above floor applied one by one
	has     bool                // a snapshot was taken
}

func newView() *view {
	return &view{calls: map[string]CallState{}, applied: map[uint64]struct{}{}}
}

// verdict is what the console does with a message.
type verdict int

const (
	apply   verdict = iota // applied (or harmless)
	ignore                 // ignored; recorded
	restart                // close and reconnect
)

// take applies m as the console does and returns what it did with it, and
// the event to record (Kind empty: none).
func (v *view) take(m feedwire.Message) (verdict, Kind) {
	switch m.Type {
	case feedwire.TypeSnapshot:
		if v.has && m.Seq < v.held {
			return restart, StaleSnapshot
		}
		v.calls = make(map[string]CallState, len(m.Calls))
		for _, c := range m.Calls {
			if c.ID != "" {
				v.calls[c.ID] = CallState{Seq: c.Seq, State: string(c.State)}
			}
		}
		v.held, v.floor, v.has = m.Seq, m.Seq, true
		clear(v.applied)
		return apply, Snapshot
	case feedwire.TypeResume:
		if !v.has || m.Seq > v.held {
			return restart, Gap
		}
		return apply, Resumed
	case feedwire.TypeCall, feedwire.TypeRemoved:
		if m.Seq <= v.held {
			if _, seen := v.applied[m.Seq]; seen || m.Seq <= v.floor {
				return ignore, Doubled
			}
			return ignore, OutOfOrder
		}
		if m.Type == feedwire.TypeCall {
			if m.Call == nil || m.Call.ID == "" {
				return restart, Protocol
			}
			v.calls[m.Call.ID] = CallState{Seq: m.Call.Seq, State: string(m.Call.State)}
		} else {
			delete(v.calls, m.CallID)
		}
		v.held = m.Seq
		v.applied[m.Seq] = struct{}{}
		return apply, ""
	case feedwire.TypePresence, feedwire.TypeClaims:
		return ignore, "" // who is looking and acting: nothing of the log
	default:
		return ignore, Status
	}
}

// Lost counts, among the changes stored, those the view lacks: a change at
// seq to call id is in the view when the view holds the call at that
// sequence or later, or at the sequence the server's own view holds it
// at (an event that changed nothing leaves the call at an earlier
// sequence). Changes to calls the server no longer shows are not counted.
func Lost(calls map[string]CallState, stored []Change, server map[string]CallState) []Change {
	var lost []Change
	for _, ch := range stored {
		want, shown := server[ch.CallID]
		if !shown {
			continue
		}
		need := min(ch.Seq, want.Seq)
		if got, ok := calls[ch.CallID]; !ok || got.Seq < need {
			lost = append(lost, ch)
		}
	}
	return lost
}

// Change is a change of one call stored in the event log.
type Change struct {
	Seq    uint64
	CallID string
}

// Differs lists the calls on which a console's view and the server's
// disagree: missing, extra, or at another sequence or state.
func Differs(calls, server map[string]CallState) []string {
	var out []string
	for id, want := range server {
		if got, ok := calls[id]; !ok || got != want {
			out = append(out, id)
		}
	}
	for id := range calls {
		if _, ok := server[id]; !ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
