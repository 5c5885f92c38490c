// Package verbs is the one contract of the actions Switchboard takes on
// calls: for each action its name, the words the console uses (button,
// busy text, past tense), the least role that may take it, the call states
// it is allowed in, its REST route, what the console must ask before
// sending it, and whether it ends the call. The server (routes, role
// checks, state checks, audit, metrics) and the console (buttons, dialogs,
// requests, history) both read it, so adding an action is one entry here
// plus its Graph call.
//
// Verbs are typed: a Verb the contract does not list has no Spec, and
// every function that takes one reports ErrUnknown rather than doing
// nothing.
//
// The package is pure Go with no imports from the rest of the module, so
// that the call model can name an action's verb; it is compiled into the
// WebAssembly console too.
package verbs

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Verb names an action.
type Verb string

// The actions. Keep them in the order the console offers them.
const (
	// Answer answers an incoming call.
	Answer Verb = "answer"
	// Reject rejects an incoming call, with a reason.
	Reject Verb = "reject"
	// Redirect hands an incoming call to someone else instead of answering.
	Redirect Verb = "redirect"
	// Transfer hands an established call to someone else.
	Transfer Verb = "transfer"
	// HangUp ends the bot's leg of a call.
	HangUp Verb = "hangup"
	// Mute mutes one participant of a group call.
	Mute Verb = "mute"
	// Delete deletes an ended conversation everywhere.
	Delete Verb = "delete"
	// KeepAlive tells Graph the bot still handles a call; only Switchboard
	// itself sends it.
	KeepAlive Verb = "keepalive"
)

// ErrUnknown is the error for a verb the contract does not list.
var ErrUnknown = errors.New("verbs: unknown action")

// Role is the least role an action needs. Each role includes the ones
// before it: viewer, supervisor, admin.
type Role string

// The roles, from least to most.
const (
	Viewer     Role = "viewer"
	Supervisor Role = "supervisor"
	Admin      Role = "admin"
	// System actions are taken by Switchboard alone and offered to nobody.
	System Role = "system"
)

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Supervisor:
		return 2
	case Admin:
		return 3
	default:
		return 0
	}
}

// Allows reports whether someone with role r may do what needs role need.
// No role, unknown roles and System allow nothing to people, and nothing
// allows an unknown need.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && need.rank() > 0 && r.rank() >= need.rank()
}

// Input says what the console asks before sending an action.
type Input int

// The inputs.
const (
	// AskNothing sends the action at once.
	AskNothing Input = iota
	// AskConfirm asks for a confirmation.
	AskConfirm
	// AskReason asks for a reject reason.
	AskReason
	// AskTarget asks for a target: a phone number or a user.
	AskTarget
	// AskParticipant acts on one participant the supervisor picked.
	AskParticipant
)

// Scope says what an action acts on.
type Scope int

// The scopes.
const (
	// OnCall acts on a live call.
	OnCall Scope = iota
	// OnParticipant acts on one participant of a live call.
	OnParticipant
	// OnRecord acts on an ended conversation.
	OnRecord
)

// Spec is everything Switchboard knows about one action.
type Spec struct {
	Verb Verb
	// Label is the button's text, "Transfer…" when a dialog follows.
	Label string
	// Busy is the button's text while the request is out.
	Busy string
	// Words is the action in words, for sentences: "transfer",
	// "hang up". Refusals read "cannot <Words>: …".
	Words string
	// Done is the past tense, for "transferred by alice".
	Done string
	// Help is one sentence for the dialog and the button's tooltip.
	Help string
	// Role is the least role that may take the action.
	Role Role
	// States are the Graph call states the action is allowed in; empty
	// means every state but terminated (or, for OnRecord, ended calls).
	States []string
	// Method and Route are the REST endpoint; {id} is the call id and
	// {participant} the participant id. Empty for System actions.
	Method, Route string
	// Input is what the console asks first.
	Input Input
	// Scope is what the action acts on.
	Scope Scope
	// Ends reports that, once Graph accepts it, the action ends the call
	// for the bot (a transfer only if it completes).
	Ends bool
	// Danger styles the button as destructive.
	Danger bool
	// OK is the HTTP status the REST endpoint answers on success.
	OK int
	// Bulk is the route (always POST, a BulkRequest) that takes the action
	// on many calls at once; empty when it is taken one call at a time.
	Bulk string
}

// All returns every action of the contract, in the order the console
// offers them.
func All() []Spec {
	return []Spec{
		{Verb: Answer, Label: "Answer", Busy: "Answering…", Words: "answer", Done: "answered",
			Help: "Answer the call now.", Role: Supervisor, States: []string{"incoming"},
			Method: "POST", Route: "/api/calls/{id}/answer", OK: 202},
		{Verb: Reject, Label: "Reject…", Busy: "Rejecting…", Words: "reject", Done: "rejected",
			Help: "Refuse the call: the caller hears busy, forbidden or nothing.", Role: Supervisor,
			States: []string{"incoming"}, Method: "POST", Route: "/api/calls/{id}/reject",
			Input: AskReason, Ends: true, Danger: true, OK: 202},
		{Verb: Redirect, Label: "Redirect…", Busy: "Redirecting…", Words: "redirect", Done: "redirected",
			Help: "Send the ringing call to a phone number or a user instead of answering it.", Role: Supervisor,
			States: []string{"incoming"}, Method: "POST", Route: "/api/calls/{id}/redirect",
			Input: AskTarget, Ends: true, OK: 202},
		{Verb: Transfer, Label: "Transfer…", Busy: "Transferring…", Words: "transfer", Done: "transferred",
			Help: "Hand the answered call to a phone number or a user; the bot leaves it once the transfer completes.",
			Role: Supervisor, States: []string{"established"}, Method: "POST", Route: "/api/calls/{id}/transfer",
			Input: AskTarget, Ends: true, OK: 202},
		{Verb: HangUp, Label: "Hang up…", Busy: "Hanging up…", Words: "hang up", Done: "hung up",
			Help: "End the bot's leg of the call.", Role: Supervisor, Method: "DELETE", Route: "/api/calls/{id}",
			Input: AskConfirm, Ends: true, Danger: true, OK: 204, Bulk: "/api/calls/bulk/hangup"},
		{Verb: Mute, Label: "Mute", Busy: "Muting…", Words: "mute", Done: "muted",
			Help: "Mute this participant for everyone in the group call.", Role: Supervisor,
			States: []string{"established", "hold"}, Method: "POST",
			Route: "/api/calls/{id}/participants/{participant}/mute", Input: AskParticipant, Scope: OnParticipant, OK: 200},
		{Verb: Delete, Label: "Delete…", Busy: "Deleting…", Words: "delete", Done: "deleted",
			Help: "Delete the conversation everywhere: state, history and event log.", Role: Admin,
			Method: "DELETE", Route: "/api/records/{id}", Input: AskConfirm, Scope: OnRecord, Danger: true, OK: 204},
		{Verb: KeepAlive, Words: "keep alive", Done: "kept alive", Busy: "Keeping alive…",
			Help: "Tell Graph the bot still handles the call.", Role: System,
			States: []string{"established", "hold", "transferring", "transferAccepted"}, OK: 200},
	}
}

// Lookup returns the Spec of v, or an error wrapping ErrUnknown.
func Lookup(v Verb) (Spec, error) {
	for _, s := range All() {
		if s.Verb == v {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("%w %q", ErrUnknown, string(v))
}

// Parse reads a verb's name, as events and audit entries spell it.
func Parse(name string) (Verb, error) {
	s, err := Lookup(Verb(strings.TrimSpace(name)))
	return s.Verb, err
}

// Known reports whether the contract lists v.
func (v Verb) Known() bool {
	_, err := Lookup(v)
	return err == nil
}

// Words is v in words ("hang up"), or the verb itself if unknown.
func (v Verb) Words() string {
	if s, err := Lookup(v); err == nil {
		return s.Words
	}
	return string(v)
}

// Done is v's past tense ("hung up"), or "<verb> done" if unknown.
func (v Verb) Done() string {
	if s, err := Lookup(v); err == nil {
		return s.Done
	}
	return string(v) + " done"
}

// Doing is v as an ongoing action, for "alice is hanging up": the busy
// text's words in lower case, or "acting on" for an unknown verb.
func Doing(v Verb) string {
	s, err := Lookup(v)
	if err != nil || s.Busy == "" {
		return "acting on it"
	}
	return strings.ToLower(strings.TrimSuffix(s.Busy, "…"))
}

// Ends reports whether v, once accepted, ends the call for the bot.
func (v Verb) Ends() bool {
	s, err := Lookup(v)
	return err == nil && s.Ends
}

// Offered reports whether the console shows the action to people at all
// (System actions have no button).
func (s Spec) Offered() bool { return s.Role != System && s.Route != "" }

// Path fills the route with the call id and the participant id, each
// escaped so no id can reach another path.
func (s Spec) Path(callID, participantID string) string {
	p := strings.ReplaceAll(s.Route, "{id}", url.PathEscape(callID))
	return strings.ReplaceAll(p, "{participant}", url.PathEscape(participantID))
}

// Pattern is the route as net/http's ServeMux reads it: "POST /api/calls/{id}/answer".
func (s Spec) Pattern() string {
	if s.Route == "" {
		return ""
	}
	return s.Method + " " + s.Route
}

// Facts are what the contract needs to know about a call to tell whether
// an action is allowed on it. The call model fills them in.
type Facts struct {
	// State is the Graph call state; "" when not known yet.
	State string
	// Answered reports that the call was ever established.
	Answered bool
	// Ended reports that the call is terminated.
	Ended bool
	// Group reports a group call (a meeting, or more than two parties).
	Group bool
}

// Why says in words why s may not be taken on a call with facts f, as
// "cannot transfer: …", or returns "" when it may.
func (s Spec) Why(f Facts) string {
	switch {
	case s.Scope == OnRecord && !f.Ended:
		return "the call is still going on; only an ended conversation can be " + s.Done
	case s.Scope == OnRecord:
		return ""
	case f.Ended:
		return fmt.Sprintf("cannot %s: the call has already ended", s.Words)
	case len(s.States) > 0 && !slices.Contains(s.States, f.State):
		return s.wrongState(f)
	case s.Scope == OnParticipant && !f.Group:
		return fmt.Sprintf("cannot %s: only participants of a group call can be %s", s.Words, s.Done)
	}
	return ""
}

// stateWords is a call state as a sentence reads it: "on hold".
func stateWords(state string) string {
	switch state {
	case "":
		return "in a state Graph has not told yet"
	case "hold":
		return "on hold"
	case "transferAccepted":
		return "transfer accepted"
	default:
		return state
	}
}

func (s Spec) wrongState(f Facts) string {
	state := stateWords(f.State)
	words := make([]string, len(s.States))
	for i, st := range s.States {
		words[i] = stateWords(st)
	}
	want := strings.Join(words, " or ")
	if slices.Equal(s.States, []string{"incoming"}) {
		if f.Answered {
			return fmt.Sprintf("cannot %s: the call was already answered (it is %s); hang it up instead", s.Words, state)
		}
		return fmt.Sprintf("cannot %s: the call is %s, and only an incoming call can be %s", s.Words, state, s.Done)
	}
	if state == "incoming" && s.Verb == Transfer {
		return fmt.Sprintf("cannot %s: the call is incoming and not answered yet; answer or redirect it instead", s.Words)
	}
	return fmt.Sprintf("cannot %s: the call is %s, and only a call that is %s can be %s", s.Words, state, want, s.Done)
}

// Offer returns the call-scoped actions someone with role may take on a
// call with facts f, in the contract's order: the buttons of a row.
func Offer(role Role, f Facts) []Spec {
	var out []Spec
	for _, s := range All() {
		if s.Scope == OnCall && s.Offered() && role.Allows(s.Role) && s.Why(f) == "" {
			out = append(out, s)
		}
	}
	return out
}

// Permissions lists, for the console, the offered actions role may take,
// by name, in the contract's order.
func Permissions(role Role) []string {
	var out []string
	for _, s := range All() {
		if s.Offered() && role.Allows(s.Role) {
			out = append(out, string(s.Verb))
		}
	}
	return out
}
