package graphsim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// PartyKind is the kind of identity a Party has, named after the member of
// Graph's identitySet that carries it.
type PartyKind string

// The kinds of Party.
const (
	// PartyUser is a Teams (Entra ID) user; Party.ID is the user's object id.
	PartyUser PartyKind = "user"
	// PartyPhone is a PSTN number; Party.ID is the number in E.164 form.
	PartyPhone PartyKind = "phone"
	// PartyApplication is an application such as a bot; Party.ID is its app id.
	PartyApplication PartyKind = "application"
)

// Party is one participant of a call: a Teams user, a phone number or an
// application. It becomes an identitySet on the wire.
type Party struct {
	// Kind says which identity the party has. Empty means PartyUser.
	Kind PartyKind
	// ID is the user's object id, the E.164 phone number, or the app id.
	ID string
	// DisplayName is the name Graph shows, if any. Phone parties usually have none.
	DisplayName string
}

func (p Party) kind() PartyKind {
	if p.Kind == "" {
		return PartyUser
	}
	return p.Kind
}

func (p Party) validate() error {
	switch p.kind() {
	case PartyUser, PartyPhone, PartyApplication:
	default:
		return fmt.Errorf("party kind %q is not user, phone or application", p.Kind)
	}
	if p.ID == "" {
		return fmt.Errorf("%s party has no id", p.kind())
	}
	return nil
}

// CallSpec describes a call to simulate. Its zero value is a valid spec:
// every empty field gets a reasonable default, and the filled-in spec is
// reported in CallInfo.Spec.
type CallSpec struct {
	// ID is the Graph call id. Empty means a UUID drawn from Config.Seed.
	ID string
	// Source is who places the call. For an incoming call empty means a
	// Teams user; for an outgoing call it is always the bot (Config.AppID).
	Source Party
	// Targets are who is called. For an incoming call empty means the bot;
	// for an outgoing call empty means one Teams user.
	Targets []Party
	// Modalities are the requestedModalities: audio, video,
	// videoBasedScreenSharing, data. Empty means audio.
	Modalities []string
	// Subject is the conversation's subject, usually set for meetings only.
	Subject string
	// ChainID is the callChainId. Empty means a UUID drawn from Config.Seed.
	ChainID string
	// MeetingID is the join meeting id of a Teams meeting (meetingInfo
	// joinMeetingId). Setting it makes the call a group call.
	MeetingID string
	// Group makes the call a group call: its notifications carry chatInfo,
	// and participants notifications follow its roster.
	Group bool
	// Participants is the initial roster of a group call, besides the bot.
	// Empty means the source alone.
	Participants []Party
}

func (s CallSpec) isGroup() bool { return s.Group || s.MeetingID != "" }

func (s CallSpec) clone() CallSpec {
	s.Targets = slices.Clone(s.Targets)
	s.Modalities = slices.Clone(s.Modalities)
	s.Participants = slices.Clone(s.Participants)
	return s
}

// validModalities are the modality values Graph documents.
var validModalities = []string{"unknown", "audio", "video", "videoBasedScreenSharing", "data"}

func (s CallSpec) validate() error {
	for _, p := range append(append([]Party{s.Source}, s.Targets...), s.Participants...) {
		if p == (Party{}) {
			continue // defaulted later
		}
		if err := p.validate(); err != nil {
			return fmt.Errorf("graphsim: call spec: %w", err)
		}
	}
	for _, m := range s.Modalities {
		if !slices.Contains(validModalities, m) {
			return fmt.Errorf("graphsim: call spec: unknown modality %q", m)
		}
	}
	return nil
}

// Result is a Graph resultInfo: why a call ended, or why an operation on it
// failed.
type Result struct {
	Code    int
	Subcode int
	Message string
}

// CallInfo is the simulator's own view of a call, so that tests can assert
// what Graph would know rather than what the bot was told.
type CallInfo struct {
	ID string
	// Direction is "incoming" or "outgoing".
	Direction string
	// State is the Graph callState: incoming, establishing, established,
	// hold, transferring, transferAccepted, redirecting, terminating or
	// terminated.
	State string
	// Spec is the spec the call was started with, defaults filled in.
	Spec CallSpec
	// MyParticipantID is the bot's participant id in the call.
	MyParticipantID string
	// Result is the call's resultInfo: why it ended, or why the last
	// transfer failed. It is nil while nothing failed, and for calls ended
	// by reject or redirect, whose notifications carry none.
	Result *Result
	// RejectReason is the reason the bot rejected the call with (none,
	// busy or forbidden), lower-cased.
	RejectReason string
	// RedirectTargets are where the bot redirected the call.
	RedirectTargets []Party
	// TransferTargets are where the bot asked to transfer the call, in order.
	TransferTargets []Party
	// Muted are the members of the roster muted (by participant: mute).
	Muted []Party
	// Operations are the operations that ended, as "kind:status", in order.
	Operations []string
	// Tones are the DTMF tones notified, as Graph names them, in order.
	Tones []string
	// Participants is the current roster of a group call, besides the bot.
	Participants []Party
	// KeepAlives counts the keepAlive requests the call received.
	KeepAlives int
	// CreatedAt and EndedAt bound the call's life; EndedAt is zero while it lives.
	CreatedAt time.Time
	EndedAt   time.Time
}

func (c CallInfo) clone() CallInfo {
	c.Spec = c.Spec.clone()
	if c.Result != nil {
		r := *c.Result
		c.Result = &r
	}
	c.RedirectTargets = slices.Clone(c.RedirectTargets)
	c.TransferTargets = slices.Clone(c.TransferTargets)
	c.Participants = slices.Clone(c.Participants)
	c.Muted = slices.Clone(c.Muted)
	c.Operations = slices.Clone(c.Operations)
	c.Tones = slices.Clone(c.Tones)
	return c
}

// Request is one Graph API request the simulator received, kept so that
// tests can assert which call an action hit and with which body.
type Request struct {
	Method string
	// Path is the URL path, e.g. /v1.0/communications/calls/{id}/answer.
	Path string
	// CallID is the {id} of the path, empty for paths without one.
	CallID string
	// Body is the request body as received.
	Body []byte
	// Status is the HTTP status the simulator answered with.
	Status int
	At     time.Time
}

// Error is a Graph API error: what the API answers with, and what the
// scripted methods return when Graph would refuse the same change.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is Graph's error code, such as "8522".
	Code string
	// Message is Graph's error message.
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph error %d %s: %s", e.Status, e.Code, e.Message)
}

// Is reports whether target is an *Error with the same status and code, so
// that errors.Is(err, ErrCallNotFound) holds whatever the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && t.Code == e.Code
}

// ErrCallNotFound is Graph's answer about a call it does not know or that
// has ended: 404 with code 8522.
var ErrCallNotFound = &Error{Status: 404, Code: "8522", Message: "Call not found."}

// ErrInvalidCallState is returned when a call is live but not in a state
// that allows the operation. Match it with errors.Is; the message says which
// state the call is in.
var ErrInvalidCallState = &Error{Status: 409, Code: "InvalidCallState", Message: "The call is not in a state that allows this operation."}

func wrongState(state, op string, want ...string) *Error {
	return &Error{
		Status:  ErrInvalidCallState.Status,
		Code:    ErrInvalidCallState.Code,
		Message: fmt.Sprintf("Call is %s; %s needs a call that is %s.", state, op, strings.Join(want, " or ")),
	}
}
