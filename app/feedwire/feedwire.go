// Package feedwire defines the messages of the live feed, the websocket at
// /api/feed that carries call changes from the server to consoles.
//
// The protocol is small on purpose. A client connects, optionally with
// ?since=SEQ (the last sequence it applied). The server answers with either a
// Snapshot (the whole live view at a sequence) or a Resume (the client's view
// is still good; the missed events follow), then sends every change in
// sequence order. Sequences are the event log's, so they are the same on every
// replica and survive restarts. A client that applies a message with a
// sequence at or below the one it holds ignores it, so a reconnect never
// duplicates a row.
//
// Each text frame carries one or more messages, one JSON object per line
// (JSON never contains a raw newline), so a server under load can send a
// burst in one write. Decode splits a frame into its messages.
package feedwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"switchboard/app/calls"
	"switchboard/app/verbs"
)

// The types of Message.
const (
	// TypeSnapshot replaces the client's whole view: Calls holds every live
	// call and the recently ended ones, as of Seq.
	TypeSnapshot = "snapshot"
	// TypeResume tells a client reconnecting with ?since=Seq that its view is
	// still valid and that the events it missed follow.
	TypeResume = "resume"
	// TypeCall carries the new state of one call after the event at Seq.
	TypeCall = "call"
	// TypeRemoved says the conversation CallID was deleted at Seq: drop it.
	TypeRemoved = "removed"
	// TypeStatus says how the server itself is doing, without changing the
	// view: Trouble says why changes are paused (the server lost its event
	// store and is reconnecting), or is empty when they flow again. Its Seq
	// is the last one the server sent; a console applies nothing from it.
	TypeStatus = "status"
	// TypePresence says who has a console open now, on any replica: People
	// is everyone, the console's own user included. Like TypeStatus it is
	// no event of the log: its Seq is the last one the server sent, and it
	// replaces the presence a console holds.
	TypePresence = "presence"
	// TypeClaims lists every call someone is acting on now (Claims: a
	// dialog open on it, an action on its way). It replaces the claims a
	// console holds; its Seq, as TypeStatus's, changes nothing.
	TypeClaims = "claims"
)

// Person is someone with a console open.
type Person struct {
	// Name is how the audit trail names them (the sign-in name).
	Name string `json:"name"`
	// Role is their role: viewer, supervisor or admin.
	Role string `json:"role,omitempty"`
}

// Claim says that someone is acting on a call: they opened an action's
// dialog on it, or sent the action. Claims are short and expire by
// themselves; a console shows them on the row ("alice is hanging up") and
// asks before acting on a call someone else claimed.
type Claim struct {
	CallID string     `json:"callId"`
	Verb   verbs.Verb `json:"verb"`
	// Holder is who holds the claim.
	Holder string `json:"holder"`
	// Since is when it was taken, Until when it expires (server clock).
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Doing says in words what the claim's holder is doing: "alice is hanging
// up".
func (c Claim) Doing() string {
	return c.Holder + " is " + verbs.Doing(c.Verb)
}

// Message is one frame of the feed.
type Message struct {
	Type string `json:"type"`
	// Seq is the event-log sequence the message brings the client to.
	Seq uint64 `json:"seq"`
	// Now is the server's clock when the message was sent (snapshot and
	// resume), so consoles compute durations and deadlines on server time.
	Now time.Time `json:"now,omitzero"`
	// Calls is the snapshot's content: live calls, then recently ended ones.
	Calls []calls.Call `json:"calls,omitempty"`
	// Call is the changed call (TypeCall).
	Call *calls.Call `json:"call,omitempty"`
	// CallJSON is Call in JSON, when whoever holds the message has it:
	// Decode sets it to the bytes that came on the wire, so a console that
	// keeps calls as JSON keeps them instead of encoding the call again;
	// the server's view sets it to the encoding it keeps for snapshots, so
	// Encode sends those bytes instead of encoding the call again. It is
	// never sent as such (Call is).
	CallJSON json.RawMessage `json:"-"`
	// CallID is the deleted conversation (TypeRemoved).
	CallID string `json:"callId,omitempty"`
	// Epoch names the event log's incarnation (snapshot and resume).
	// Sequences only compare within one epoch: a console holding a higher
	// sequence refuses a snapshot at a lower one of the same epoch (it
	// would be older news, from a replica still loading) but takes one of
	// a new epoch (the log was created anew).
	Epoch string `json:"epoch,omitempty"`
	// Trouble is the server's trouble in words (TypeStatus), empty when
	// there is none.
	Trouble string `json:"trouble,omitempty"`
	// People are the people with a console open (TypePresence).
	People []Person `json:"people,omitempty"`
	// Claims are the calls someone is acting on (TypeClaims).
	Claims []Claim `json:"claims,omitempty"`
}

// Close reasons the server gives when it ends a feed, so a console can tell
// the supervisor why (and whether reconnecting makes sense).
const (
	// ReasonSlow: the client did not read fast enough and fell behind.
	ReasonSlow = "too slow: the client fell behind the feed; reconnect with since"
	// ReasonShutdown: the server is going away; reconnect (to another replica).
	ReasonShutdown = "server shutting down; reconnect"
	// ReasonLoggedOut: the session ended; log in again.
	ReasonLoggedOut = "session ended; log in again"
	// ReasonTooMany: the session already has as many feeds open as it may;
	// close one (another tab or window) first.
	ReasonTooMany = "too many feeds open for this session; close another tab or window"
	// ReasonStarting: the server is still loading its view; reconnect in a
	// moment (here or to another replica).
	ReasonStarting = "server starting: its view is not loaded yet; reconnect"
	// ReasonRefresh: what this console may see changed (an admin turned
	// the masking of external numbers on or off); reconnect for a fresh
	// view.
	ReasonRefresh = "what this console may see changed; reconnect for a fresh view"
)

// Encode is m in JSON, one line. A message whose CallJSON is set carries
// those bytes as its call, without encoding Call again.
func Encode(m Message) ([]byte, error) {
	if m.Call == nil || len(m.CallJSON) == 0 {
		return json.Marshal(m)
	}
	call := m.CallJSON
	m.Call, m.CallJSON = nil, nil
	rest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(rest)+len(`,"call":`)+len(call))
	out = append(out, rest[:len(rest)-1]...) // without its closing brace
	out = append(out, `,"call":`...)
	out = append(out, call...)
	return append(out, '}'), nil
}

// Decode splits a frame into its messages, in order. A call message's
// call is decoded and its JSON kept as well (Message.CallJSON).
func Decode(frame []byte) ([]Message, error) {
	var out []Message
	for line := range bytes.SplitSeq(frame, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		m, err := decodeMessage(line)
		if err != nil {
			return out, fmt.Errorf("feedwire: decode message %d: %w", len(out)+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// wireMessage is a Message whose call is read as JSON: the outer Call
// hides Message's.
type wireMessage struct {
	Message
	Call json.RawMessage `json:"call,omitempty"`
}

func decodeMessage(line []byte) (Message, error) {
	var w wireMessage
	if err := json.Unmarshal(line, &w); err != nil {
		return Message{}, err
	}
	m := w.Message
	if len(w.Call) > 0 && !bytes.Equal(w.Call, []byte("null")) {
		var c calls.Call
		if err := json.Unmarshal(w.Call, &c); err != nil {
			return Message{}, fmt.Errorf("its call: %w", err)
		}
		m.Call, m.CallJSON = &c, w.Call
	}
	return m, nil
}
