// Package audit keeps the audit trail: who logged in, who acted on which call,
// who deleted which conversation, with when and the outcome. Entries go to
// the event log (a JetStream stream of their own) so every replica records to
// and reads from the same trail, and admins read it in the console and
// through GET /api/audit.
//
// An entry never holds a conversation's content: only who, what, which id,
// when and how it went.
package audit

import (
	"context"
	"time"

	"switchboard/app/verbs"
)

// Entry is one line of the audit trail.
type Entry struct {
	// At is when it happened (server clock).
	At time.Time `json:"at"`
	// Actor is who did it: a user's name, "apikey:<name>" for the recording
	// platform's API, or "switchboard" for automatic actions.
	Actor string `json:"actor"`
	// Action is what was done: one of the Action* constants. An action on
	// a call is named by its verb (package verbs).
	Action string `json:"action"`
	// Target is what it was done to, usually a call id; empty for logins.
	Target string `json:"target,omitempty"`
	// Outcome is "ok", or the error in words.
	Outcome string `json:"outcome"`
	// Detail adds context, such as the reject reason or the API key's name.
	Detail string `json:"detail,omitempty"`
	// Remote is the client's address, when there was a client.
	Remote string `json:"remote,omitempty"`
	// Count is how many requests an ActionFlood entry stands for, or how
	// many calls a bulk action named.
	Count int `json:"count,omitempty"`
	// Calls are the calls a bulk action named, each with its outcome; nil
	// for every other entry. (A pointer, so that entries stay comparable.)
	Calls *[]CallOutcome `json:"calls,omitempty"`
}

// CallOutcome is one call of a bulk action and how the action went on it.
type CallOutcome struct {
	Call string `json:"call"`
	// Outcome is "ok", or why the action was not taken, in words.
	Outcome string `json:"outcome"`
}

// BulkAction names the entry of an action taken on many calls at once:
// "bulk_hangup".
func BulkAction(v verbs.Verb) string { return "bulk_" + string(v) }

// The actions an Entry records. Actions on calls are the action
// contract's verbs.
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionLogout      = "logout"
	ActionAnswer      = string(verbs.Answer)
	ActionReject      = string(verbs.Reject)
	ActionRedirect    = string(verbs.Redirect)
	ActionTransfer    = string(verbs.Transfer)
	ActionHangUp      = string(verbs.HangUp)
	ActionMute        = string(verbs.Mute)
	ActionDelete      = string(verbs.Delete)
	ActionMark        = "mark_for_deletion"
	ActionToken       = "token"
	// ActionRefused is a request refused before it was checked, because
	// its address had failed too often (429).
	ActionRefused = "refused"
	// ActionNotificationRefused is a webhook call whose token was refused.
	ActionNotificationRefused = "notification_refused"
	// ActionLockout is an API key locked out after repeated failures.
	ActionLockout = "lockout"
	// ActionFlood counts, in one entry, the failures of one kind from one
	// address in a window beyond the first (see Floods).
	ActionFlood = "flood"
)

// OutcomeOK is the Outcome of an entry that succeeded.
const OutcomeOK = "ok"

// Recorder records entries. The stream-backed Log implements it; code that
// only writes the trail takes a Recorder.
type Recorder interface {
	Record(ctx context.Context, e Entry) error
}
