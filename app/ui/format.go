package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
)

// clock formats a duration as m:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// countdown is what is left of Graph's 15-second deadline for an incoming
// call, on the server's clock; negative once it passed.
func countdown(c calls.Call, now time.Time) time.Duration {
	return c.StartedAt.Add(calls.IncomingDeadline).Sub(now)
}

// needsAnswer reports whether c waits for an answer, reject or redirect.
func needsAnswer(c calls.Call) bool {
	return c.State == calls.Incoming
}

// partyDetail is the second line under a party's label: the phone number
// or id when the label is a display name.
func partyDetail(p calls.Party) string {
	switch {
	case p.DisplayName == "":
		return ""
	case p.Phone != "":
		return p.Phone
	default:
		return p.ID
	}
}

// callees names the targets of a call.
func callees(c calls.Call) string {
	var names []string
	for _, p := range c.Targets {
		if l := p.Label(); l != "" {
			names = append(names, l)
		}
	}
	if len(names) == 0 {
		return "—"
	}
	return strings.Join(names, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// stateClass is the CSS class of a state's badge; unknown future states
// share one. The colour comes from stateColour.
func stateClass(s calls.State) string {
	if s.Known() {
		return "state state-" + strings.ToLower(string(s))
	}
	return "state state-other"
}

// directionGlyph is the direction's icon, as text that needs no image.
func directionGlyph(dir string) (glyph, words string) {
	switch dir {
	case calls.DirectionIncoming:
		return "↙", "incoming"
	case calls.DirectionOutgoing:
		return "↗", "outgoing"
	default:
		return "·", "direction unknown"
	}
}

// modality words and glyphs, in the order Graph documents them.
func modality(m string) (glyph, words string) {
	switch m {
	case "audio":
		return "♪", "audio"
	case "video":
		return "▶", "video"
	case "videoBasedScreenSharing":
		return "▣", "screen sharing"
	case "data":
		return "⇄", "data"
	default:
		return "•", m
	}
}

// endedBy says who ended a call when a person or Switchboard did:
// "hung up by alice", "transferred by alice to +14255550100".
//
// A rejected call names the reason it was rejected with: "rejected by
// alice (busy)". A call Switchboard reconciled was ended by Switchboard.
func endedBy(c calls.Call) string {
	switch {
	case c.Reconciled:
		return "ended by Switchboard (reconciled)"
	case c.EndedBy == "" || !c.Ended():
		return ""
	case c.EndAction == "":
		return "ended by " + c.EndedBy
	}
	s := c.EndAction.Done() + " by " + c.EndedBy
	if c.EndTarget != "" {
		s += " to " + c.EndTarget
	}
	if why := reasons.RejectReason(c); why != "" {
		if why == "none" {
			why = "no reason"
		}
		s += " (" + why + ")"
	}
	return s
}

// capitalise puts the first letter of s in upper case.
func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// count formats n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// timeOfDay formats an instant for tables, in the browser's zone.
func timeOfDay(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("15:04:05")
}
