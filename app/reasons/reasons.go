// Package reasons decodes why a call ended: Graph's resultInfo code and
// subcode become a sentence a supervisor can read and a category a summary
// can count.
//
// The table holds every termination reason Microsoft documents for calls
// (the "call end reason codes" of the delete-call reference) and the ones
// Switchboard has met in practice: a plain 0 for a normal end, transfers,
// failed bot joins, bad requests and request timeouts. A pair the table does
// not know falls back to the class of its code (2xx ended normally, 408
// timeout, 410 media, 480 unreachable, 5xx service error), and every Reason
// keeps its raw code/subcode so nothing is hidden behind a guess.
//
// The package is pure Go: the server and the WebAssembly console share it.
package reasons

import (
	"strconv"
	"strings"

	"switchboard/app/calls"
	"switchboard/app/verbs"
)

// Category groups termination reasons for summaries and colours.
type Category string

// The categories of Reason. Their values are short and stable (they name CSS
// classes and summary keys); Label gives the words.
const (
	// EndedNormally: a participant left or the conversation ran its course.
	EndedNormally Category = "normal"
	// EndedByBot: the bot, or a supervisor through the bot, ended the call.
	EndedByBot Category = "bot"
	// Transfer: the call was transferred, or a transfer failed.
	Transfer Category = "transfer"
	// Timeout: something was not answered in time (keep-alive, acceptance, signalling).
	Timeout Category = "timeout"
	// Unreachable: the callee could not be found or reached.
	Unreachable Category = "unreachable"
	// MediaFailure: media connectivity broke.
	MediaFailure Category = "media"
	// ServiceError: Graph or the bot failed, or refused the request.
	ServiceError Category = "service"
	// Reconciled: Switchboard ended the call itself, because Graph no
	// longer knew it (a ghost call, found by asking Graph).
	Reconciled Category = "reconciled"
	// Unknown: a code whose class Switchboard cannot tell.
	Unknown Category = "unknown"
)

// Categories lists every category in the order summaries show them.
func Categories() []Category {
	return []Category{EndedNormally, EndedByBot, Transfer, Timeout, Unreachable,
		MediaFailure, ServiceError, Reconciled, Unknown}
}

// Label is the category in words, for people.
func (c Category) Label() string {
	switch c {
	case EndedNormally:
		return "ended normally"
	case EndedByBot:
		return "ended by the bot or a supervisor"
	case Transfer:
		return "transfer"
	case Timeout:
		return "timeout"
	case Unreachable:
		return "unreachable"
	case MediaFailure:
		return "media failure"
	case ServiceError:
		return "service error"
	case Reconciled:
		return "reconciled"
	default:
		return "unknown"
	}
}

// Reason is a decoded resultInfo, or a terminationReason when Graph gave
// no resultInfo.
type Reason struct {
	Code    int
	Subcode int
	// Coded reports that Code and Subcode came from a resultInfo.
	Coded bool
	// Termination is Graph's terminationReason (AppTransferred…), if any.
	Termination string
	// Text is the reason in words: the table's sentence, or for an unknown
	// pair a sentence about the code's class.
	Text     string
	Category Category
	// Known reports whether the exact code/subcode pair is in the table.
	Known bool
}

// Raw is what Graph sent, "code/subcode", or the terminationReason when
// Graph sent no resultInfo; "" when it sent neither.
func (r Reason) Raw() string {
	switch {
	case r.Coded:
		return strconv.Itoa(r.Code) + "/" + strconv.Itoa(r.Subcode)
	default:
		return r.Termination
	}
}

// String is the text followed by the raw value, as a supervisor reads it.
func (r Reason) String() string {
	if raw := r.Raw(); raw != "" {
		return r.Text + " (" + raw + ")"
	}
	return r.Text
}

type pair struct{ code, subcode int }

type entry struct {
	text     string
	category Category
}

// table is seed 000's "call end reason codes" plus Switchboard's extras.
var table = map[pair]entry{
	{200, 4097}:   {"Call ended by the other participant in the call.", EndedNormally},
	{200, 4521}:   {"Call ended by the other participant in peer-to-peer call.", EndedNormally},
	{200, 5000}:   {"Removed from the conversation by another participant.", EndedNormally},
	{200, 5001}:   {"The conversation has ended.", EndedNormally},
	{200, 5002}:   {"The conversation has ended as all other participants have left the call.", EndedNormally},
	{200, 5003}:   {"The conversation has ended.", EndedNormally},
	{200, 5007}:   {"The conversation has ended as the initiator of the group call left the conversation.", EndedNormally},
	{200, 5010}:   {"The conversation has ended as only one participant remained in the conversation.", EndedNormally},
	{200, 5012}:   {"The conversation has ended as there are no participants in the incoming roster.", EndedNormally},
	{200, 5013}:   {"The conversation has ended as no one else has joined the group call.", EndedNormally},
	{200, 5014}:   {"The conversation has ended because we were unable to determine a potential host for the group call.", EndedNormally},
	{200, 5020}:   {"The conversation has ended as there are no nonhidden participants in the incoming roster.", EndedNormally},
	{200, 5030}:   {"The conversation has ended as the breakout room duration has elapsed.", EndedNormally},
	{200, 5300}:   {"Participant was removed from the conversation by another participant.", EndedNormally},
	{200, 5855}:   {"Participant waiting in lobby was removed from the conversation after lobby inactivity timeout.", Timeout},
	{200, 7000}:   {"The conversation has ended by bot.", EndedByBot},
	{200, 7015}:   {"Call ended as the transfer completed successfully.", Transfer},
	{200, 10550}:  {"The conversation has ended by bot.", EndedByBot},
	{200, 18503}:  {"The other participant in the peer-to-peer call left the conversation.", EndedNormally},
	{200, 540000}: {"Call ended by the PSTN User.", EndedNormally},
	{200, 560000}: {"Call ended by the PSTN User.", EndedNormally},
	{408, 8537}:   {"Keep Alive timeout, cleaned up inactive call.", Timeout},
	{408, 1106}:   {"An acknowledgment wasn't received for the call acceptance in the allotted time.", Timeout},
	{408, 10057}:  {"Call timed out due to no signaling from callee endpoints.", Timeout},
	{410, 301005}: {"Media connectivity failure.", MediaFailure},
	{480, 10037}:  {"No callee endpoints were found.", Unreachable},
	{480, 10076}:  {"Callee couldn't be reached.", Unreachable},
	{480, 10134}:  {"Call rejected due to inability to route the call.", Unreachable},
	{480, 10199}:  {"Call rejected as private calling is disabled for the user.", Unreachable},
	{500, 1005}:   {"Server encountered connectivity error with Bot's media. Check media connectivity between Bot and Microsoft.", MediaFailure},

	// Extras met beyond the documented table.
	{0, 0}:       {"The call ended normally.", EndedNormally},
	{0, 7015}:    {"Call ended as the transfer completed successfully.", Transfer},
	{500, 7000}:  {"The transfer failed.", Transfer},
	{500, 1000}:  {"The transfer failed.", Transfer},
	{500, 7700}:  {"The transfer failed: the transfer target could not be reached.", Transfer},
	{500, 7117}:  {"The bot failed to join the call.", ServiceError},
	{400, 2203}:  {"Graph rejected the request as malformed (bad request).", ServiceError},
	{408, 13025}: {"The request timed out.", Timeout},
}

// diagCode finds the first "DiagCode: 500#7117" in a result message
// (any white space after the colon, digits on both sides of the #). It is
// a loop rather than a regular expression so that the console's start,
// which initialises every package on the browser's main thread, compiles
// no pattern.
func diagCode(msg string) (code, subcode int, ok bool) {
	const marker = "DiagCode:"
	for {
		at := strings.Index(msg, marker)
		if at < 0 {
			return 0, 0, false
		}
		msg = msg[at+len(marker):]
		rest := strings.TrimLeft(msg, " \t\n\f\r")
		first, rest := leadingDigits(rest)
		if first == "" || !strings.HasPrefix(rest, "#") {
			continue
		}
		second, _ := leadingDigits(rest[1:])
		if second == "" {
			continue
		}
		code, _ = strconv.Atoi(first)
		subcode, _ = strconv.Atoi(second)
		return code, subcode, true
	}
}

// leadingDigits splits s after its leading ASCII digits.
func leadingDigits(s string) (digits, rest string) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[:n], s[n:]
}

// Explain decodes r. When code and subcode are both zero but the message
// embeds a DiagCode (Graph writes "DiagCode: 500#7117" in some messages),
// the DiagCode's pair is decoded instead.
func Explain(r calls.Result) Reason {
	code, subcode := r.Code, r.Subcode
	if code == 0 && subcode == 0 {
		if c, s, ok := diagCode(r.Message); ok {
			code, subcode = c, s
		}
	}
	if e, ok := table[pair{code, subcode}]; ok {
		return Reason{Code: code, Subcode: subcode, Coded: true, Text: e.text, Category: e.category, Known: true}
	}
	text, cat := byClass(code)
	return Reason{Code: code, Subcode: subcode, Coded: true, Text: text, Category: cat}
}

// terminations are the terminationReason values Graph sends when a call
// ends without a resultInfo.
var terminations = map[string]entry{
	"apptransferred": {"The call was transferred by the bot.", Transfer},
	"appinitiated":   {"The bot ended the call.", EndedByBot},
}

// Termination decodes a terminationReason. An unknown value is told as
// it is, with a category guessed from its words.
func Termination(reason string) Reason {
	r := Reason{Termination: reason}
	if e, ok := terminations[strings.ToLower(reason)]; ok {
		r.Text, r.Category, r.Known = e.text, e.category, true
		return r
	}
	low := strings.ToLower(reason)
	switch {
	case strings.Contains(low, "transfer") || strings.Contains(low, "redirect"):
		r.Text, r.Category = "The call was transferred or redirected ("+reason+").", Transfer
	case strings.Contains(low, "timeout") || strings.Contains(low, "timedout"):
		r.Text, r.Category = "The call timed out ("+reason+").", Timeout
	default:
		r.Text, r.Category = "Graph ended the call: "+reason+".", Unknown
	}
	return r
}

// RejectReason is the reason a supervisor rejected c with (none, busy or
// forbidden), "" when c was not rejected or the reason is not known.
func RejectReason(c calls.Call) string {
	if c.EndAction != verbs.Reject || c.LastAction == nil || c.LastAction.Verb != verbs.Reject {
		return ""
	}
	return c.LastAction.Reason
}

// rejectWords says how a rejected call was turned down.
func rejectWords(c calls.Call) string {
	switch strings.ToLower(RejectReason(c)) {
	case "busy":
		return "Rejected as busy: the caller was told the bot is busy."
	case "forbidden":
		return "Rejected as forbidden: the caller was told they may not call."
	case "none":
		return "Rejected, with no reason given to the caller."
	default:
		return "Rejected."
	}
}

// byClass is the fallback for pairs the table does not know.
func byClass(code int) (string, Category) {
	switch {
	case code == 0 || (code >= 200 && code < 300):
		return "The call ended normally.", EndedNormally
	case code == 408:
		return "The call timed out.", Timeout
	case code == 410:
		return "The call's media failed.", MediaFailure
	case code == 480:
		return "The callee could not be reached.", Unreachable
	case code >= 500 && code < 600:
		return "Graph reported a service error.", ServiceError
	default:
		return "The call ended for a reason Switchboard does not know.", Unknown
	}
}

// ForCall explains why c ended. Graph's resultInfo comes first; without
// one, its terminationReason; without either, the action that ended the
// call, when a supervisor's was accepted. A call a supervisor hung up or
// rejected is in the EndedByBot category whatever code Graph reported,
// because the bot ended it on their behalf; one a supervisor transferred or
// redirected is in the Transfer category.
//
// A call Switchboard reconciled (Graph no longer knew it) is told as such,
// in the Reconciled category, whatever code it was given. A rejected call
// says why the supervisor rejected it (busy, forbidden, no reason), which
// Graph's notification does not repeat.
func ForCall(c calls.Call) Reason {
	var r Reason
	switch {
	case c.Reconciled:
		r = Reason{Text: "Switchboard ended the call: Graph no longer knew it.", Category: Reconciled, Known: true}
		if c.Result != nil {
			r.Code, r.Subcode, r.Coded = c.Result.Code, c.Result.Subcode, true
		}
		return r
	case c.EndAction == verbs.Reject && c.Result == nil && c.TerminationReason == "":
		r = Reason{Text: rejectWords(c) + " Graph gave no code."}
	case c.Result != nil:
		r = Explain(*c.Result)
		r.Termination = c.TerminationReason
	case c.TerminationReason != "":
		r = Termination(c.TerminationReason)
	case c.EndedBy != "" && c.EndAction != "":
		r = Reason{Text: "The bot " + c.EndAction.Done() + " the call; Graph gave no reason.", Category: EndedByBot}
	default:
		r = Reason{Text: "Graph gave no reason.", Category: Unknown}
	}
	switch c.EndAction {
	case "":
	case verbs.Transfer, verbs.Redirect:
		r.Category = Transfer
	default:
		r.Category = EndedByBot
	}
	return r
}
