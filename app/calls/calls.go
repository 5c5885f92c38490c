// Package calls is the call model shared by the server and the console: what a
// call looks like to a supervisor, the events that change it, and the pure
// reducer that folds events into a call.
//
// The reducer is the only place that knows Graph's call state machine. It is
// deterministic (it reads no clock; every time comes from the event) so that
// every replica, and a replica replaying the event log after a restart, builds
// exactly the same view from the same events.
//
// The package is pure Go with no server-only imports because it is compiled
// into the WebAssembly console too.
package calls

import (
	"slices"
	"strings"
	"time"

	"switchboard/app/verbs"
)

// State is a Graph callState. Values Graph adds in the future are kept as-is.
type State string

// The call states Graph documents, in the order a call usually goes through them.
const (
	Incoming         State = "incoming"
	Establishing     State = "establishing"
	Ringing          State = "ringing"
	Established      State = "established"
	Hold             State = "hold"
	Transferring     State = "transferring"
	TransferAccepted State = "transferAccepted"
	Redirecting      State = "redirecting"
	Terminating      State = "terminating"
	Terminated       State = "terminated"
)

// KnownStates lists the documented states, for filters and tests.
var KnownStates = []State{Incoming, Establishing, Ringing, Established, Hold,
	Transferring, TransferAccepted, Redirecting, Terminating, Terminated}

// Known reports whether s is one of the documented states.
func (s State) Known() bool { return slices.Contains(KnownStates, s) }

// phase orders states so that a late notification cannot move a call
// backwards. States of one phase may follow each other in any order (hold and
// established alternate; a failed transfer returns to established).
func (s State) phase() int {
	switch s {
	case Incoming:
		return 0
	case Establishing, Ringing, Redirecting:
		return 1
	case Established, Hold, Transferring, TransferAccepted:
		return 2
	case Terminating:
		return 3
	case Terminated:
		return 4
	default:
		return 2 // an unknown, future state: treat it like a mid-call state
	}
}

// Direction of a call as Graph reports it.
const (
	DirectionIncoming = "incoming"
	DirectionOutgoing = "outgoing"
)

// Party is one side of a call (the source, or one of the targets), reduced to
// what a supervisor reads: who it is and how to reach them.
type Party struct {
	// Kind is the identity kind Graph used: user, phone, application, guest,
	// acsUser, spoolUser, or encrypted.
	Kind string `json:"kind,omitempty"`
	// ID is the identity's id (a user's object id, the phone number for phone identities).
	ID string `json:"id,omitempty"`
	// DisplayName is the name Graph gave, if any.
	DisplayName string `json:"displayName,omitempty"`
	// Phone is the E.164 number for PSTN parties.
	Phone string `json:"phone,omitempty"`
}

// Label is the best short way to name the party: display name, then phone
// number, then id.
func (p Party) Label() string {
	switch {
	case p.DisplayName != "":
		return p.DisplayName
	case p.Phone != "":
		return p.Phone
	default:
		return p.ID
	}
}

// Matches reports whether the party is reached by ext: its phone number or its id.
func (p Party) Matches(ext string) bool {
	return ext != "" && (p.Phone == ext || p.ID == ext)
}

// Result is Graph's resultInfo: why a call ended (or an operation failed).
type Result struct {
	Code    int    `json:"code"`
	Subcode int    `json:"subcode"`
	Message string `json:"message,omitempty"`
}

// Action is something a supervisor (or Switchboard itself) asked Graph to do
// to a call, with Graph's answer. Actions are events in the log so that a
// console can say "hung up by alice" and an audit can say who did what.
type Action struct {
	// Verb names the action (package verbs lists them).
	Verb verbs.Verb `json:"verb"`
	// Reason is the reject reason (none, busy, forbidden) for verbs.Reject.
	Reason string `json:"reason,omitempty"`
	// Target is where a redirect or a transfer sends the call: a phone
	// number or a user id.
	Target string `json:"target,omitempty"`
	// TargetName is the target's display name, when Graph's directory gave one.
	TargetName string `json:"targetName,omitempty"`
	// Participant is the participant an action on one participant (mute)
	// acted on, and ParticipantName how the roster named them.
	Participant     string `json:"participant,omitempty"`
	ParticipantName string `json:"participantName,omitempty"`
	// Actor names who asked: a user's name, or "switchboard" for automatic actions.
	Actor string `json:"actor"`
	// Status is the HTTP status Graph answered with; 0 when Graph was not reached.
	Status int `json:"status,omitempty"`
	// Error is Graph's error in words, empty on success.
	Error string `json:"error,omitempty"`
	// At is when the action was answered.
	At time.Time `json:"at"`
}

// OK reports whether Graph accepted the action.
func (a Action) OK() bool { return a.Error == "" && a.Status >= 200 && a.Status < 300 }

// Call is the console's view of one call.
type Call struct {
	ID              string   `json:"id"`
	State           State    `json:"state"`
	Direction       string   `json:"direction,omitempty"`
	Source          Party    `json:"source"`
	Targets         []Party  `json:"targets,omitempty"`
	Modalities      []string `json:"modalities,omitempty"`
	Subject         string   `json:"subject,omitempty"`
	ChainID         string   `json:"chainId,omitempty"`
	MeetingID       string   `json:"meetingId,omitempty"`
	MyParticipantID string   `json:"myParticipantId,omitempty"`
	// ThreadID is the chat thread of the call (chatInfo.threadId).
	ThreadID string `json:"threadId,omitempty"`
	// Group reports a group call: a meeting, or more than two parties.
	Group bool `json:"group,omitempty"`
	// Participants is the size of the roster Graph last notified.
	Participants int `json:"participants,omitempty"`
	// Roster is the participants Graph last notified (at most MaxRoster).
	Roster []Participant `json:"roster,omitempty"`
	// Result is Graph's latest resultInfo for the call: why it ended, or
	// why the latest transfer failed. A later notification that moves the
	// call on without one clears it.
	Result *Result `json:"result,omitempty"`
	// TerminationReason is Graph's terminationReason, such as
	// AppTransferred, when the call ended with one.
	TerminationReason string `json:"terminationReason,omitempty"`
	// MediaState is the call's media state as Graph last notified it.
	MediaState MediaState `json:"mediaState,omitzero"`
	// LastTone is the latest DTMF tone Graph notified.
	LastTone *Tone `json:"lastTone,omitempty"`
	// LastOperation is the latest operation outcome Graph notified.
	LastOperation *Operation `json:"lastOperation,omitempty"`

	// StartedAt is when Switchboard first heard of the call.
	StartedAt time.Time `json:"startedAt"`
	// AnsweredAt is when the call first became established (zero if never).
	AnsweredAt time.Time `json:"answeredAt,omitzero"`
	// EndedAt is when the call became terminated (zero while live).
	EndedAt time.Time `json:"endedAt,omitzero"`
	// UpdatedAt is the time of the last event that changed the call
	// (alert events aside).
	UpdatedAt time.Time `json:"updatedAt"`
	// StateSince is when the call entered its current state: the time of
	// the event that moved it there (zero until a state is known). A call
	// on hold has been since then; events that leave the state as it is
	// leave it unchanged.
	StateSince time.Time `json:"stateSince,omitzero"`

	// EndedBy names the supervisor whose action ended the call, if one did.
	EndedBy string `json:"endedBy,omitempty"`
	// EndAction is the verb of that action (hangup, reject, redirect or
	// transfer), and EndTarget where a redirect or transfer sent the call.
	EndAction verbs.Verb `json:"endAction,omitempty"`
	EndTarget string     `json:"endTarget,omitempty"`
	// LastAction is the latest action taken on the call, with Graph's answer.
	LastAction *Action `json:"lastAction,omitempty"`
	// MarkedForDeletion is set when the conversation must be deleted as soon
	// as it ends (the recording platform's DeleteCall on an ongoing call).
	MarkedForDeletion bool `json:"markedForDeletion,omitempty"`
	// Reconciled is set when Switchboard ended the call itself because Graph
	// no longer knew it (a ghost call).
	Reconciled bool `json:"reconciled,omitempty"`
	// Alerts are the alert rules the call breaches now (package alerts),
	// as raised, cleared and acknowledged by alert events in its log.
	Alerts []Alert `json:"alerts,omitempty"`

	// Reached lists the states the call went through, in the order it
	// first entered each, so that history can find "calls that were
	// answered" or "calls that went to hold" after they ended.
	Reached []State `json:"reached,omitempty"`
	// Actors names who took an action on the call, first one first (at
	// most MaxActors): history finds a supervisor's calls by them.
	Actors []string `json:"actors,omitempty"`

	// Seq is the event-log sequence of the last event that changed the call.
	Seq uint64 `json:"seq"`
}

// MaxActors bounds the names a call keeps in Actors.
const MaxActors = 16

// Ended reports whether the call is terminated. Terminated is sticky.
func (c Call) Ended() bool { return c.State == Terminated }

// Duration is how long the call has lasted at now (or lasted, once ended),
// counted from when it was answered, or from when it started if never answered.
func (c Call) Duration(now time.Time) time.Duration {
	from := c.CountsFrom()
	to := now
	if !c.EndedAt.IsZero() {
		to = c.EndedAt
	}
	if from.IsZero() || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

// CountsFrom is when the call's duration starts: when it was answered, or
// when it started if it never was.
func (c Call) CountsFrom() time.Time {
	if !c.AnsweredAt.IsZero() {
		return c.AnsweredAt
	}
	return c.StartedAt
}

// InStateFor is how long the call has been in its current state at now:
// since StateSince, or since it started when the state's start is not
// known (a call saved before Switchboard recorded it). It is zero for an
// ended call and never negative.
func (c Call) InStateFor(now time.Time) time.Duration {
	from := c.StateSince
	if from.IsZero() {
		from = c.StartedAt
	}
	if c.Ended() || from.IsZero() || now.Before(from) {
		return 0
	}
	return now.Sub(from)
}

// IncomingDeadline is how long Graph waits for an incoming call to be
// answered, rejected or redirected before it ends the call itself.
const IncomingDeadline = 15 * time.Second

// Parties returns the source followed by the targets.
func (c Call) Parties() []Party {
	return append([]Party{c.Source}, c.Targets...)
}

// Involves reports whether ext is the source or one of the targets.
func (c Call) Involves(ext string) bool {
	for _, p := range c.Parties() {
		if p.Matches(ext) {
			return true
		}
	}
	return false
}

// Facts are what the action contract needs to know about the call.
func (c Call) Facts() verbs.Facts {
	return verbs.Facts{State: string(c.State), Answered: !c.AnsweredAt.IsZero(), Ended: c.Ended(), Group: c.Group}
}

// Why says why the action v may not be taken on c now, or "" when it may.
// A verb the contract does not list may never be taken.
func (c Call) Why(v verbs.Verb) string {
	spec, err := verbs.Lookup(v)
	if err != nil {
		return err.Error()
	}
	return spec.Why(c.Facts())
}

// CanonicalID spells a call id the way Graph's ids usually are: a GUID
// written without dashes or in upper case (as some of Graph's reference
// pages do) becomes lower case 8-4-4-4-12, so that all spellings name the
// same call. Other ids are returned unchanged.
func CanonicalID(id string) string {
	hex := strings.ReplaceAll(id, "-", "")
	if len(hex) != 32 || (len(id) != 32 && len(id) != 36) {
		return id
	}
	for _, r := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return id
		}
	}
	if len(id) == 36 && (id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') {
		return id
	}
	h := strings.ToLower(hex)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
