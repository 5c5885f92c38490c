// Package history tells a call's history in plain words: each event of the
// log becomes a line a supervisor reads, "Ada Lovelace joined; Bob was
// muted", "the transfer failed: the transfer target could not be reached
// (500/7700)", "tone 5 pressed", "recording stopped: the maximum recording
// length was reached (200/8515)".
//
// Roster notifications carry whole rosters, so who joined, left, or was
// muted is found by folding the events, in order, with the call model's own
// reducer and comparing the rosters before and after each one.
//
// The package is pure Go: the console shows its lines, and tests read them.
package history

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
	"switchboard/app/verbs"
)

// Entry is one event of a call's history with its log sequence, as
// GET /api/calls/{id}/events returns it.
type Entry struct {
	Seq   uint64      `json:"seq"`
	Event calls.Event `json:"event"`
}

// Line is one event told in words.
type Line struct {
	Seq uint64
	At  time.Time
	// Kind is the event's kind, as a supervisor reads it: "Graph",
	// "Graph, asked", "action", "Switchboard".
	Kind string
	Text string
}

// Tell turns a call's events, oldest first, into lines.
func Tell(entries []Entry) []Line {
	var c calls.Call
	out := make([]Line, 0, len(entries))
	for _, e := range entries {
		before := c
		c, _ = calls.Apply(c, e.Seq, e.Event)
		out = append(out, Line{Seq: e.Seq, At: e.Event.At, Kind: kindWords(e.Event.Kind), Text: tell(before, c, e.Event)})
	}
	return out
}

func kindWords(k calls.Kind) string {
	switch k {
	case calls.KindNotification:
		return "Graph"
	case calls.KindReconciled:
		return "Graph, asked"
	case calls.KindEnriched:
		return "Graph, asked"
	case calls.KindAction:
		return "action"
	case calls.KindMarked:
		return "Switchboard"
	case calls.KindAlert:
		return "alert"
	default:
		return string(k)
	}
}

func tell(before, after calls.Call, ev calls.Event) string {
	switch {
	case ev.Action != nil:
		return ActionWords(*ev.Action)
	case ev.Alert != nil:
		return AlertWords(*ev.Alert)
	case ev.Kind == calls.KindMarked:
		return "marked for deletion: deleted when the call ends"
	case ev.Change == nil:
		return string(ev.Kind)
	}
	ch := ev.Change
	switch ch.Resource {
	case calls.ResourceParticipants:
		return rosterWords(before, after, ch)
	case calls.ResourceOperation:
		if ch.Operation == nil {
			return "an operation changed"
		}
		return OperationWords(*ch.Operation)
	}
	if ev.Kind == calls.KindEnriched {
		return "asked about the call, Graph said: " + callFacts(ch)
	}
	return callWords(before, after, ev)
}

// callWords tells a call notification (or what Graph answered when asked).
func callWords(before, after calls.Call, ev calls.Event) string {
	ch := ev.Change
	var parts []string
	ended := after.Ended() && !before.Ended()
	switch {
	case ended && after.Reconciled:
		parts = append(parts, "ended by Switchboard: Graph no longer knows the call")
	case ended:
		parts = append(parts, "ended: "+reasons.ForCall(after).String())
	case before.Ended():
		parts = append(parts, "after the end")
		if s := ch.State; s != "" {
			parts = append(parts, string(s))
		}
		if ch.Result != nil {
			parts = append(parts, reasons.Explain(*ch.Result).String())
		}
		if ch.TerminationReason != "" {
			parts = append(parts, reasons.Termination(ch.TerminationReason).String())
		}
	case ev.Kind == calls.KindReconciled:
		parts = append(parts, "asked about the call, Graph said: "+callFacts(ch))
	default:
		parts = append(parts, stateWords(before, after, ch)...)
	}
	if ch.ChangeType == "created" && ch.Source != nil {
		parts = append(parts, "from "+orUnknown(ch.Source.Label())+" to "+targetsWords(ch.Targets))
	}
	if m := ch.MediaState; m != nil {
		if m.Audio != "" {
			parts = append(parts, "audio "+m.Audio)
		}
		if m.Video != "" {
			parts = append(parts, "video "+m.Video)
		}
	}
	if t := ch.Tone; t != nil {
		s := "tone " + t.Key() + " pressed"
		if t.Sequence != 0 {
			s += " (tone " + strconv.Itoa(t.Sequence) + " of the call)"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		parts = append(parts, ch.ChangeType+", nothing new")
	}
	return strings.Join(parts, "; ")
}

// stateWords tells a live call's state change and result.
func stateWords(before, after calls.Call, ch *calls.Change) []string {
	var parts []string
	moved := after.State != before.State
	switch {
	case moved && before.State == calls.Transferring || moved && before.State == calls.TransferAccepted:
		if after.State == calls.Established {
			parts = append(parts, "the transfer failed; the call is established again")
		} else {
			parts = append(parts, stateText(after.State))
		}
	case moved:
		parts = append(parts, stateText(after.State))
	case ch.State != "" && ch.State != after.State:
		parts = append(parts, string(ch.State)+" arrived late and was ignored")
	}
	if ch.Result != nil {
		parts = append(parts, "Graph reports "+reasons.Explain(*ch.Result).String())
	}
	return parts
}

func stateText(s calls.State) string {
	switch s {
	case calls.Incoming:
		return "incoming call"
	case calls.Establishing:
		return "establishing"
	case calls.Ringing:
		return "ringing"
	case calls.Established:
		return "established"
	case calls.Hold:
		return "on hold"
	case calls.Transferring:
		return "transferring"
	case calls.TransferAccepted:
		return "transfer accepted"
	case calls.Redirecting:
		return "redirecting"
	case calls.Terminating:
		return "terminating"
	default:
		return "now " + string(s)
	}
}

// callFacts tells what a read of the call resource said.
func callFacts(ch *calls.Change) string {
	var parts []string
	if ch.State != "" {
		parts = append(parts, string(ch.State))
	}
	if ch.Direction != "" {
		parts = append(parts, ch.Direction)
	}
	if ch.Source != nil && *ch.Source != (calls.Party{}) {
		parts = append(parts, "from "+ch.Source.Label())
	}
	if len(ch.Targets) > 0 {
		parts = append(parts, "to "+targetsWords(ch.Targets))
	}
	if ch.Subject != "" {
		parts = append(parts, "subject "+strconv.Quote(ch.Subject))
	}
	if len(parts) == 0 {
		return "nothing the console shows"
	}
	return strings.Join(parts, ", ")
}

func targetsWords(ps []calls.Party) string {
	var names []string
	for _, p := range ps {
		names = append(names, orUnknown(p.Label()))
	}
	if len(names) == 0 {
		return "nobody named"
	}
	return strings.Join(names, ", ")
}

// rosterWords tells a roster notification: who joined and left, and who
// was muted, went to the lobby or started recording.
func rosterWords(before, after calls.Call, ch *calls.Change) string {
	if before.Ended() {
		return "roster after the end, ignored"
	}
	d := calls.DiffRoster(before.Roster, after.Roster)
	first := len(before.Roster) == 0
	var parts []string
	if first && len(d.Joined) > 0 {
		parts = append(parts, "in the call: "+names(d.Joined))
	} else {
		parts = appendNames(parts, d.Joined, "joined", "joined")
	}
	parts = appendNames(parts, d.Left, "left", "left")
	parts = appendNames(parts, d.Muted, "was muted", "were muted")
	parts = appendNames(parts, d.Unmuted, "was unmuted", "were unmuted")
	parts = appendNames(parts, d.Lobby, "is waiting in the lobby", "are waiting in the lobby")
	parts = appendNames(parts, d.Admitted, "was admitted from the lobby", "were admitted from the lobby")
	parts = appendNames(parts, d.StartedRecording, "started recording", "started recording")
	parts = appendNames(parts, d.StoppedRecording, "stopped recording", "stopped recording")
	if len(parts) == 0 {
		parts = append(parts, "roster unchanged")
	}
	return strings.Join(parts, "; ") + " (" + plural(after.Participants, "participant") + ")"
}

func appendNames(parts []string, ps []calls.Participant, one, many string) []string {
	if len(ps) == 0 {
		return parts
	}
	verb := one
	if len(ps) > 1 {
		verb = many
	}
	return append(parts, names(ps)+" "+verb)
}

func names(ps []calls.Participant) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Label()
	}
	return strings.Join(out, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// operationNames are the operation kinds in words.
var operationNames = map[string]string{
	"record":                "recording a response",
	"recordresponse":        "recording a response",
	"playprompt":            "playing a prompt",
	"inviteparticipants":    "inviting participants",
	"muteparticipant":       "muting a participant",
	"unmuteparticipant":     "unmuting a participant",
	"subscribetotone":       "listening for tones",
	"updaterecordingstatus": "updating the recording status",
	"cancelmediaprocessing": "cancelling media processing",
	"senddtmftones":         "sending tones",
	"addlargegalleryview":   "adding the large gallery view",
	"comms":                 "an operation",
}

// operationResults are the operation outcomes Graph documents.
var operationResults = map[[2]int]string{
	{200, 0}:    "completed",
	{200, 8515}: "stopped: the maximum recording length was reached",
	{400, 8508}: "stopped: the operation was cancelled",
}

// OperationWords tells an operation's outcome.
func OperationWords(op calls.Operation) string {
	what, ok := operationNames[strings.ToLower(op.Kind)]
	if !ok {
		what = "operation " + op.Kind
	}
	if len(op.Participants) > 0 {
		var ns []string
		for _, p := range op.Participants {
			ns = append(ns, orUnknown(p.Label()))
		}
		what += " (" + strings.Join(ns, ", ") + ")"
	}
	status := strings.ToLower(op.Status)
	switch {
	case op.Failed():
		status = "failed"
	case status == "":
		status = "updated"
	case status == "notstarted":
		status = "not started yet"
	}
	s := what + ": " + status
	if r := op.Result; r != nil {
		words, known := operationResults[[2]int{r.Code, r.Subcode}]
		switch {
		case known && words != "completed":
			s += ", " + words
		case !known && r.Message != "":
			s += ", Graph said " + strconv.Quote(r.Message)
		}
		if r.Code != 0 || r.Subcode != 0 {
			s += " (" + strconv.Itoa(r.Code) + "/" + strconv.Itoa(r.Subcode) + ")"
		}
	}
	if op.CompletionReason != "" && !strings.EqualFold(op.CompletionReason, "completedSuccessfully") {
		s += "; completion reason " + op.CompletionReason
	}
	return s
}

// ActionWords tells an action and Graph's answer: "transferred by alice to
// +14255550100: accepted".
func ActionWords(a calls.Action) string {
	s := a.Verb.Words() + " by " + orUnknown(a.Actor)
	if _, err := verbs.Lookup(a.Verb); err != nil {
		s = "unknown action " + strconv.Quote(string(a.Verb)) + " by " + orUnknown(a.Actor)
	}
	switch {
	case a.Reason != "":
		s += " (" + a.Reason + ")"
	case a.Target != "" && a.TargetName != "":
		s += " to " + a.TargetName + " (" + a.Target + ")"
	case a.Target != "":
		s += " to " + a.Target
	case a.ParticipantName != "":
		s += ": " + a.ParticipantName
	case a.Participant != "":
		s += ": participant " + a.Participant
	}
	switch {
	case a.Error != "":
		s += ": failed, " + a.Error
	case a.OK():
		s += ": accepted"
	case a.Status != 0:
		s += fmt.Sprintf(": HTTP %d", a.Status)
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "someone unnamed"
	}
	return s
}

// AlertWords tells an alert event: "alert raised: Ringing over 30 s
// (incoming for 31 s)", "alert cleared: Ringing over 30 s (the call is
// establishing now)", "alert acknowledged by bob: Ringing over 30 s".
func AlertWords(n calls.AlertNote) string {
	words := n.Words
	if words == "" {
		words = "rule " + n.Rule
	}
	if n.Op == calls.AlertAcknowledged {
		return "alert acknowledged by " + orUnknown(n.Actor) + ": " + words
	}
	s := "alert " + string(n.Op) + ": " + words
	if n.Detail != "" {
		s += " (" + n.Detail + ")"
	}
	return s
}
