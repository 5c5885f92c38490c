// Package privacy masks external parties for people who must not see them:
// with masking on, a viewer reads a caller's number as "•••• 1234" (its
// last four digits) and any external name as "External caller", the way
// Teams shows external numbers as unavailable to some roles.
//
// External parties are phone (PSTN) parties, guests, and any party whose
// id is a phone number. Teams users of the tenant and applications (the
// bot) are shown as they are.
//
// The server masks what it sends a viewer (the feed, the REST reads,
// history and its CSV) with these functions, so masked data never reaches
// a viewer's browser. They never change their argument: every slice or
// pointer they mask is copied first. The package is pure Go.
package privacy

import (
	"slices"
	"strings"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
)

// ExternalName replaces an external party's name.
const ExternalName = "External caller"

// hidden replaces a number's hidden digits.
const hidden = "••••"

// shownDigits is how many last digits of a long number stay readable;
// minDigits is how long a number must be for any to show.
const (
	shownDigits = 4
	minDigits   = 7
)

// External reports whether p is an external party.
func External(p calls.Party) bool {
	switch strings.ToLower(p.Kind) {
	case "phone", "guest":
		return true
	case "application", "applicationinstance":
		return false
	}
	return p.Phone != "" || isNumber(p.ID)
}

// isNumber reports whether s is written like a phone number.
func isNumber(s string) bool {
	s = strings.TrimSpace(s)
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-.() ", r):
		default:
			return false
		}
	}
	return digits >= 3
}

// Number masks a phone number: "+14255550123" reads "•••• 0123"; a number
// too short to keep any digit private reads "••••".
func Number(s string) string {
	var digits []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	if len(digits) < minDigits {
		return hidden
	}
	return hidden + " " + string(digits[len(digits)-shownDigits:])
}

// Party masks p if it is external: its number (or a number id) keeps its
// last digits, its name and any other id are replaced.
func Party(p calls.Party) calls.Party {
	if !External(p) {
		return p
	}
	out := calls.Party{Kind: p.Kind}
	if p.Phone != "" {
		out.Phone = Number(p.Phone)
	}
	if isNumber(p.ID) {
		out.ID = Number(p.ID)
	}
	if p.DisplayName != "" || out.Phone == "" && out.ID == "" {
		out.DisplayName = ExternalName
	}
	return out
}

func parties(ps []calls.Party) []calls.Party {
	if ps == nil {
		return nil
	}
	out := make([]calls.Party, len(ps))
	for i, p := range ps {
		out[i] = Party(p)
	}
	return out
}

func roster(ps []calls.Participant) []calls.Participant {
	if ps == nil {
		return nil
	}
	out := slices.Clone(ps)
	for i := range out {
		out[i].Party = Party(out[i].Party)
	}
	return out
}

// target masks where an action sent a call: a number keeps its last
// digits.
func target(s string) string {
	if isNumber(s) {
		return Number(s)
	}
	return s
}

func action(a *calls.Action, external func(participant string) bool) *calls.Action {
	if a == nil {
		return nil
	}
	out := *a
	if isNumber(out.Target) {
		out.Target, out.TargetName = Number(out.Target), ""
	}
	if out.ParticipantName != "" && external(out.Participant) {
		out.ParticipantName = ExternalName
	}
	return &out
}

func operation(op *calls.Operation) *calls.Operation {
	if op == nil {
		return nil
	}
	out := *op
	out.Participants = parties(op.Participants)
	return &out
}

// Call masks the external parties of c: source, targets, roster, and
// where an action sent it.
func Call(c calls.Call) calls.Call {
	external := externalIn(c.Roster)
	c.Source = Party(c.Source)
	c.Targets = parties(c.Targets)
	c.Roster = roster(c.Roster)
	c.LastAction = action(c.LastAction, external)
	c.LastOperation = operation(c.LastOperation)
	c.EndTarget = target(c.EndTarget)
	return c
}

// externalIn tells which participants of a roster are external. A
// participant the roster does not hold is taken as external: a name is
// never shown when it cannot be told.
func externalIn(r []calls.Participant) func(string) bool {
	return func(id string) bool {
		for _, p := range r {
			if p.ID == id {
				return External(p.Party)
			}
		}
		return true
	}
}

// Event masks the external parties an event names.
func Event(e calls.Event) calls.Event {
	if ch := e.Change; ch != nil {
		out := *ch
		if ch.Source != nil {
			p := Party(*ch.Source)
			out.Source = &p
		}
		out.Targets = parties(ch.Targets)
		out.Roster = roster(ch.Roster)
		out.Operation = operation(ch.Operation)
		e.Change = &out
	}
	e.Action = action(e.Action, func(string) bool { return true })
	return e
}

// Row masks a history row's parties.
func Row(r historyquery.Row) historyquery.Row {
	r.Source = Party(r.Source)
	r.Targets = parties(r.Targets)
	return r
}

// Needed reports whether c names anything Call would mask: the feed
// encodes a masked copy only of such calls.
func Needed(c calls.Call) bool {
	if External(c.Source) || slices.ContainsFunc(c.Targets, External) || isNumber(c.EndTarget) {
		return true
	}
	if slices.ContainsFunc(c.Roster, func(p calls.Participant) bool { return External(p.Party) }) {
		return true
	}
	if a := c.LastAction; a != nil && (isNumber(a.Target) || a.ParticipantName != "") {
		return true
	}
	return c.LastOperation != nil && slices.ContainsFunc(c.LastOperation.Participants, External)
}
