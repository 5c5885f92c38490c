package calls

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"switchboard/app/verbs"
)

// Kind says what produced an Event.
type Kind string

// The kinds of Event.
const (
	// KindNotification is a change Graph notified.
	KindNotification Kind = "notification"
	// KindReconciled is a change Switchboard learned by asking Graph about a
	// call that had no news for a while, or that was live when a replica
	// started (a 404 ends the call).
	KindReconciled Kind = "reconciled"
	// KindEnriched is what Graph said when Switchboard asked about a call
	// whose first notification left out its parties: it fills in what the
	// call lacks and never moves its state.
	KindEnriched Kind = "enriched"
	// KindAction is an action taken on the call and Graph's answer.
	KindAction Kind = "action"
	// KindMarked marks an ongoing conversation for deletion when it ends.
	KindMarked Kind = "marked"
	// KindAlert raises, clears or acknowledges a threshold alert on the
	// call (AlertNote).
	KindAlert Kind = "alert"
	// KindErased records that a conversation was deleted everywhere. It is
	// not folded into a call: it removes the call. It carries nothing of the
	// conversation but its id.
	KindErased Kind = "erased"
)

// Resource says which Graph resource a Change describes.
const (
	ResourceCall         = "call"
	ResourceParticipants = "participants"
	ResourceOperation    = "operation"
)

// Change is one Graph notification about one call, normalised: every quirk of
// the wire (legacy resource paths, codes as strings, subCode) is gone. Empty
// fields are "not mentioned", never "cleared".
type Change struct {
	// ChangeType is Graph's: created, updated or deleted.
	ChangeType string `json:"changeType"`
	// Resource is ResourceCall, ResourceParticipants or ResourceOperation.
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
	ThreadID        string   `json:"threadId,omitempty"`
	// Participants is the roster size of a participants notification, or -1.
	Participants int     `json:"participants,omitempty"`
	Result       *Result `json:"result,omitempty"`
	// TerminationReason is Graph's terminationReason (AppTransferred…).
	TerminationReason string `json:"terminationReason,omitempty"`
	// Roster is the participants of a participants notification, and
	// RosterMode how they update the call's roster (RosterFull…).
	Roster     []Participant `json:"roster,omitempty"`
	RosterMode string        `json:"rosterMode,omitempty"`
	// MediaState is the call's media state, when notified.
	MediaState *MediaState `json:"mediaState,omitempty"`
	// Tone is a DTMF tone Graph notified (toneInfo).
	Tone *Tone `json:"tone,omitempty"`
	// Operation is an operation's outcome (ResourceOperation).
	Operation *Operation `json:"operation,omitempty"`
}

// Event is one entry of the event log: everything that can change a call.
type Event struct {
	Kind   Kind       `json:"kind"`
	CallID string     `json:"callId"`
	At     time.Time  `json:"at"`
	Change *Change    `json:"change,omitempty"`
	Action *Action    `json:"action,omitempty"`
	Alert  *AlertNote `json:"alert,omitempty"`
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
	before.Roster = slices.Clone(c.Roster)
	before.Alerts = slices.Clone(c.Alerts)
	before.Reached = slices.Clone(c.Reached)
	before.Actors = slices.Clone(c.Actors)
	switch ev.Kind {
	case KindNotification, KindReconciled:
		if ev.Change == nil {
			return c, false
		}
		c = start(c, ev)
		c = applyChange(c, ev)
	case KindEnriched:
		if ev.Change == nil {
			return c, false
		}
		c = start(c, ev)
		c = fillDetails(c, ev.Change, ev.At)
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
	case KindAlert:
		if c.ID == "" || ev.Alert == nil {
			return c, false // an alert never creates a call
		}
		c = applyAlert(c, *ev.Alert, ev.At)
	default:
		return c, false
	}
	c = remember(c)
	if c.ID == before.ID && same(before, c) {
		return before, false
	}
	c.Seq = seq
	if ev.Kind != KindAlert {
		// Alerts are Switchboard's words about the call, not news of it:
		// a call quiet but for its alerts is still checked as quiet.
		c.UpdatedAt = ev.At
	}
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
	switch ch.Resource {
	case ResourceParticipants:
		if !c.Ended() {
			c = applyRoster(c, ch)
			c.Group = c.Group || groupRoster(c)
		}
		return c
	case ResourceOperation:
		if ch.Operation != nil {
			op := *ch.Operation
			c.LastOperation = &op
		}
		return c
	}
	if c.Ended() {
		return lateNews(c, ev)
	}
	c = mergeDetails(c, ch)
	switch {
	case ch.ChangeType == "deleted" || ch.State == Terminated:
		c = end(c, ev)
	case ch.State != "" && (c.State == "" || ch.State.phase() >= c.State.phase()):
		moved := ch.State != c.State
		if moved && c.EndAction == verbs.Transfer && ch.State == Established {
			// A failed transfer returns the call to established: whoever
			// asked for it did not end the call.
			c.EndedBy, c.EndAction, c.EndTarget = "", "", ""
		}
		c.State = ch.State
		if moved {
			c.StateSince = ev.At
		}
		if ch.State.phase() == 2 && c.AnsweredAt.IsZero() {
			c.AnsweredAt = ev.At
		}
		c = updateResult(c, ch, moved)
	default:
		c = updateResult(c, ch, false)
	}
	return c
}

// updateResult keeps the call's result current: a new resultInfo replaces
// the old one, and a call that moved on (a new state) without one no longer
// carries the old one (a transfer that failed, then completed, is not a
// failure).
func updateResult(c Call, ch *Change, moved bool) Call {
	switch {
	case ch.Result != nil:
		r := *ch.Result
		c.Result = &r
	case moved:
		c.Result = nil
	}
	return c
}

// end makes c terminated with what the ending notification says: its
// result, its termination reason, or neither (Graph gives none after a
// reject), never a result left from before.
func end(c Call, ev Event) Call {
	ch := ev.Change
	c.State = Terminated
	c.EndedAt = ev.At
	c.StateSince = ev.At
	c.Reconciled = ev.Kind == KindReconciled
	c.Result = nil
	if ch.Result != nil {
		r := *ch.Result
		c.Result = &r
	}
	c.TerminationReason = ch.TerminationReason
	return c
}

// lateNews folds a notification about a call already ended. Terminated is
// sticky, but a late notification may still tell why the call ended, and
// Graph's own word on the end replaces Switchboard's guess for a call it
// ended as a ghost.
func lateNews(c Call, ev Event) Call {
	ch := ev.Change
	terminal := ch.ChangeType == "deleted" || ch.State == Terminated
	if c.Reconciled && ev.Kind == KindNotification && terminal && (ch.Result != nil || ch.TerminationReason != "") {
		c.Reconciled = false
		c.Result, c.TerminationReason = nil, ""
	}
	if c.Result == nil && ch.Result != nil && terminal {
		r := *ch.Result
		c.Result = &r
	}
	if c.TerminationReason == "" && ch.TerminationReason != "" {
		c.TerminationReason = ch.TerminationReason
	}
	return c
}

func mergeDetails(c Call, ch *Change) Call {
	if ch.Direction != "" {
		c.Direction = ch.Direction
	}
	if ch.Source != nil && *ch.Source != (Party{}) {
		c.Source = *ch.Source
	}
	if len(ch.Targets) > 0 {
		c.Targets = slices.Clone(ch.Targets)
	}
	if len(ch.Modalities) > 0 {
		c.Modalities = slices.Clone(ch.Modalities)
	}
	for dst, src := range map[*string]string{
		&c.Subject: ch.Subject, &c.ChainID: ch.ChainID, &c.ThreadID: ch.ThreadID,
		&c.MeetingID: ch.MeetingID, &c.MyParticipantID: ch.MyParticipantID,
	} {
		if src != "" {
			*dst = src
		}
	}
	if ch.MediaState != nil {
		if ch.MediaState.Audio != "" {
			c.MediaState.Audio = ch.MediaState.Audio
		}
		if ch.MediaState.Video != "" {
			c.MediaState.Video = ch.MediaState.Video
		}
	}
	if ch.Tone != nil {
		t := *ch.Tone
		c.LastTone = &t
	}
	c.Group = c.Group || c.MeetingID != "" || meetingThread(c.ThreadID)
	return c
}

// fillDetails fills in what c does not know yet from what Graph said when
// asked, and nothing else: notifications are newer than a read.
func fillDetails(c Call, ch *Change, at time.Time) Call {
	if c.Direction == "" {
		c.Direction = ch.Direction
	}
	if c.Source == (Party{}) && ch.Source != nil {
		c.Source = *ch.Source
	}
	if len(c.Targets) == 0 {
		c.Targets = slices.Clone(ch.Targets)
	}
	if len(c.Modalities) == 0 {
		c.Modalities = slices.Clone(ch.Modalities)
	}
	for dst, src := range map[*string]string{
		&c.Subject: ch.Subject, &c.ChainID: ch.ChainID, &c.ThreadID: ch.ThreadID,
		&c.MeetingID: ch.MeetingID, &c.MyParticipantID: ch.MyParticipantID,
	} {
		if *dst == "" {
			*dst = src
		}
	}
	if c.State == "" && !c.Ended() && ch.State != "" && ch.State != Terminated {
		c.State = ch.State
		c.StateSince = at
		if ch.State.phase() == 2 && c.AnsweredAt.IsZero() {
			c.AnsweredAt = at
		}
	}
	c.Group = c.Group || c.MeetingID != "" || meetingThread(c.ThreadID)
	return c
}

func applyAction(c Call, a Action) Call {
	c.LastAction = &a
	if a.Actor != "" && !slices.Contains(c.Actors, a.Actor) && len(c.Actors) < MaxActors {
		c.Actors = append(slices.Clip(c.Actors), a.Actor)
	}
	if a.OK() && a.Verb.Ends() && c.EndedBy == "" {
		c.EndedBy = a.Actor
		c.EndAction = a.Verb
		c.EndTarget = a.Target
	}
	// A mute shows once Graph's roster update says the participant is
	// muted: the roster is Graph's word, never Switchboard's guess.
	return c
}

// remember adds the call's state to the states it reached.
func remember(c Call) Call {
	if c.State != "" && !slices.Contains(c.Reached, c.State) {
		c.Reached = append(slices.Clip(c.Reached), c.State)
	}
	return c
}

// same compares what a console shows, ignoring the bookkeeping fields.
func same(a, b Call) bool {
	a.Seq, b.Seq = 0, 0
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// meetingThread reports a chat thread of a Teams meeting.
func meetingThread(id string) bool {
	return strings.Contains(id, "meeting_")
}

// groupRoster reports a roster with more than one participant besides the bot.
func groupRoster(c Call) bool {
	others := 0
	for _, p := range c.Roster {
		app := p.Party.Kind == "application" || p.Party.Kind == "applicationInstance"
		if !c.IsBot(p) && (c.MyParticipantID != "" || !app) {
			others++
		}
	}
	return others >= 2
}
