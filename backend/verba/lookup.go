package verba

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/app/calls"
)

// found is what a lookup decided: act on call, or (arm) wait for the next
// call of the extension.
type found struct {
	call calls.Call
	arm  bool
}

// find picks the one call a DeleteCall lookup is about, among all the calls
// the server holds. It reads nothing but its arguments.
//
// Identifiers other than extension match calls live or ended, letter case
// ignored. With extension, ongoing selects the live calls involving it and
// last the most recently ended one; a combination takes the union. next
// takes effect only when the other statuses listed match nothing: then the
// answer is to arm. No match is a 404 and more than one a 409.
func find(all []calls.Call, l lookup) (found, error) {
	var matches []calls.Call
	if l.by == paramExtension {
		matches = byExtension(all, l.value, l.status)
	} else {
		for _, c := range all {
			if strings.EqualFold(identifier(c, l.by), l.value) {
				matches = append(matches, c)
			}
		}
	}
	switch {
	case len(matches) == 1:
		return found{call: matches[0]}, nil
	case len(matches) > 1:
		return found{}, errorf(http.StatusConflict, "%d calls match %s; DeleteCall deletes one call only", len(matches), describe(l))
	case l.status.has(statusNext):
		return found{arm: true}, nil
	}
	return found{}, errorf(http.StatusNotFound, "no call matches %s", describe(l))
}

// identifier returns the call's value of an identifier parameter. The
// mapping is documented in the package documentation.
func identifier(c calls.Call, param string) string {
	switch param {
	case paramCallID:
		return c.ID
	case paramPlatformCallID:
		return c.ChainID
	case paramNativeID:
		return c.MyParticipantID
	case paramMeetingID:
		return c.MeetingID
	}
	return ""
}

// byExtension returns the calls involving ext that the statuses select:
// live ones for ongoing; for last, the ended one with the latest end (all of
// them if several ended at that same instant, which is ambiguous).
func byExtension(all []calls.Call, ext string, status statusSet) []calls.Call {
	var live, last []calls.Call
	var lastEnd time.Time
	for _, c := range all {
		if !c.Involves(ext) {
			continue
		}
		if !c.Ended() {
			live = append(live, c)
			continue
		}
		end := endOf(c)
		switch {
		case len(last) == 0 || end.After(lastEnd):
			last, lastEnd = []calls.Call{c}, end
		case end.Equal(lastEnd):
			last = append(last, c)
		}
	}
	var out []calls.Call
	if status.has(statusOngoing) {
		out = append(out, live...)
	}
	if status.has(statusLast) {
		out = append(out, last...)
	}
	return out
}

// endOf is when an ended call ended, falling back to its last update for a
// call whose end time was never recorded.
func endOf(c calls.Call) time.Time {
	if !c.EndedAt.IsZero() {
		return c.EndedAt
	}
	return c.UpdatedAt
}

// describe names a lookup for messages: "callID \"abc\"", or
// "extension \"8856\" with status ongoing,last".
func describe(l lookup) string {
	s := l.by + " " + quote(l.value)
	if l.by == paramExtension {
		s += " with status " + l.status.String()
	}
	return s
}

// quote quotes a client's value for a message, shortened if long.
func quote(v string) string {
	const limit = 80
	if len(v) > limit {
		return strconv.Quote(strings.ToValidUTF8(v[:limit], "")) + "…"
	}
	return strconv.Quote(v)
}
