package calls

import (
	"reflect"
	"slices"
	"time"
)

// Kind says what produced an Event.
type Kind string

// The kinds of Event.
const (
	// KindNotification is a change Graph notified.
	KindNotification Kind = "notification"
	// KindReconciled is a change Switchboard learned by asking Graph about a
	// call that had no news for a while (a 404 ends the call).
	KindReconciled Kind = "reconciled"
	// KindAction is an action taken on the call and Graph's answer.
	KindAction Kind = "action"
	// KindMarked marks an ongoing conversation for deletion when it ends.
	KindMarked Kind = "marked"
	// KindErased records that a conversation was deleted everywhere. It is
	// not folded into a call: it removes the call. It carries nothing of the
	// conversation but its id.
	KindErased Kind = "erased"
)

// Resource says which Graph resource a Change describes.
const (
	ResourceCall         = "call"
	ResourceParticipants = "participants"
)

// Change is one Graph notification about one call, normalised: every quirk of
// the wire (legacy resource paths, codes as strings, subCode) is gone. Empty
// fields are "not mentioned", never "cleared".
type Change struct {
	// ChangeType is Graph's: created, updated or deleted.
	ChangeType string `json:"changeType"`
	// Resource is ResourceCall or ResourceParticipants.
	Resource        string   `json:"resource"`
	State           State    `json:"state,omitempty"`
	Direction       string   `json:"direction,omitempty"`
	Source          *Party   `json:"source,omitempty"`
	Targets         []Party  `json:"targets,omitempty"`
	Modalities      []string `json:"modalities,omitempty"`
	Subject         string   `json:"subject,omitempty"`
	ChainID         string   `json:"chainId,omitempty"`
	MeetingID       string   `json:"meetingId,omitempty"`
	MyParticipantID string   `json:"myParticipantId,omitempty"`
	// Participants is the roster size of a participants notification, or -1.
	Participants int     `json:"participants,omitempty"`
	Result       *Result `json:"result,omitempty"`
}

// Event is one entry of the event log: everything that can change a call.
type Event struct {
	Kind   Kind      `json:"kind"`
	CallID string    `json:"callId"`
	At     time.Time `json:"at"`
	Change *Change   `json:"change,omitempty"`
	Action *Action   `json:"action,omitempty"`
}

// Apply folds the event with log sequence seq into c and returns the new call
// and whether anything a console shows changed. c is the zero Call for a call
// not seen yet.
//
// Apply is idempotent (an event at or below c.Seq changes nothing) and
// tolerant of Graph's reordering: a call never moves back to an earlier phase
// (establishing after established is ignored), and terminated is sticky.
func Apply(c Call, seq uint64, ev Event) (Call, bool) {
	if c.ID != "" && seq <= c.Seq {
		return c, false
	}
	before := c
	before.Targets = slices.Clone(c.Targets)
	before.Modalities = slices.Clone(c.Modalities)
	switch ev.Kind {
	case KindNotification, KindReconciled:
		if ev.Change == nil {
			return c, false
		}
		c = start(c, ev)
		c = applyChange(c, ev)
	case KindAction:
		if c.ID == "" || ev.Action == nil {
			return c, false // an action never creates a call
		}
		c = applyAction(c, *ev.Action)
	case KindMarked:
		if c.ID == "" {
			return c, false
		}
		c.MarkedForDeletion = true
	default:
		return c, false
	}
	if c.ID == before.ID && same(before, c) {
		return before, false
	}
	c.Seq = seq
	c.UpdatedAt = ev.At
	return c, true
}

func start(c Call, ev Event) Call {
	if c.ID == "" {
		c.ID = ev.CallID
		c.StartedAt = ev.At
	}
	return c
}

func applyChange(c Call, ev Event) Call {
	ch := ev.Change
	if ch.Resource == ResourceParticipants {
		if ch.Participants >= 0 && !c.Ended() {
			c.Participants = ch.Participants
		}
		return c
	}
	if c.Ended() {
		// Sticky: a late notification may still tell why the call ended.
		if c.Result == nil && ch.Result != nil {
			c.Result = ch.Result
		}
		return c
	}
	c = mergeDetails(c, ch)
	if ch.Result != nil {
		c.Result = ch.Result
	}
	switch {
	case ch.ChangeType == "deleted" || ch.State == Terminated:
		c.State = Terminated
		c.EndedAt = ev.At
		c.Reconciled = ev.Kind == KindReconciled
	case ch.State != "" && (c.State == "" || ch.State.phase() >= c.State.phase()):
		c.State = ch.State
		if ch.State.phase() == 2 && c.AnsweredAt.IsZero() {
			c.AnsweredAt = ev.At
		}
	}
	return c
}

func mergeDetails(c Call, ch *Change) Call {
	if ch.Direction != "" {
		c.Direction = ch.Direction
	}
	if ch.Source != nil {
		c.Source = *ch.Source
	}
	if len(ch.Targets) > 0 {
		c.Targets = slices.Clone(ch.Targets)
	}
	if len(ch.Modalities) > 0 {
		c.Modalities = slices.Clone(ch.Modalities)
	}
	for dst, src := range map[*string]string{
		&c.Subject: ch.Subject, &c.ChainID: ch.ChainID,
		&c.MeetingID: ch.MeetingID, &c.MyParticipantID: ch.MyParticipantID,
	} {
		if src != "" {
			*dst = src
		}
	}
	return c
}

func applyAction(c Call, a Action) Call {
	c.LastAction = &a
	if a.OK() && (a.Verb == VerbHangUp || a.Verb == VerbReject) && c.EndedBy == "" {
		c.EndedBy = a.Actor
		c.EndAction = a.Verb
	}
	return c
}

// same compares what a console shows, ignoring the bookkeeping fields.
func same(a, b Call) bool {
	a.Seq, b.Seq = 0, 0
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}
