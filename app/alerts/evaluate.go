package alerts

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
)

// Breach is one call breaching one rule at a time.
type Breach struct {
	CallID string
	Rule   Rule
	// Detail is what was measured: "ringing for 31 s", "4 timeout
	// failures in 10 min".
	Detail string
}

// Change is one alert event that brings a call's alerts in line with what
// it breaches: raised for a new breach, cleared for a breach that is over.
type Change struct {
	CallID string
	Note   calls.AlertNote
}

// Breaches says which calls breach which rules at now, ordered by call id
// and then by the rules' order.
//
// A per-call rule is breached by every live call over its threshold. A
// failure-rate rule is breached by one call: while more than Count calls
// of its category ended within the window, the call that already carries
// its alert keeps it, and otherwise the latest of those calls takes it.
func Breaches(rules []Rule, cs []calls.Call, now time.Time) []Breach {
	var out []Breach
	for _, c := range cs {
		if c.Ended() {
			continue
		}
		for _, r := range rules {
			if d, ok := perCall(r, c, now); ok {
				out = append(out, Breach{CallID: c.ID, Rule: r, Detail: d})
			}
		}
	}
	var failing map[string]reasons.Category
	for _, r := range rules {
		if r.Kind != Failures {
			continue
		}
		if failing == nil {
			failing = categories(cs, now, rules)
		}
		if b, ok := failureBreach(r, cs, failing, now); ok {
			out = append(out, b)
		}
	}
	order := make(map[string]int, len(rules))
	for i, r := range rules {
		order[r.ID] = i
	}
	slices.SortStableFunc(out, func(a, b Breach) int {
		return cmp.Or(cmp.Compare(a.CallID, b.CallID), cmp.Compare(order[a.Rule.ID], order[b.Rule.ID]))
	})
	return out
}

// perCall checks a live call against a per-call rule.
func perCall(r Rule, c calls.Call, now time.Time) (string, bool) {
	limit := time.Duration(r.Seconds) * time.Second
	switch r.Kind {
	case Ringing:
		if (c.State == calls.Incoming || c.State == calls.Ringing) && c.InStateFor(now) > limit {
			return fmt.Sprintf("%s for %s", c.State, Span(c.InStateFor(now))), true
		}
	case Hold:
		if c.State == calls.Hold && c.InStateFor(now) > limit {
			return "on hold for " + Span(c.InStateFor(now)), true
		}
	case Duration:
		if d := c.Duration(now); d > limit {
			return "lasting " + Span(d), true
		}
	}
	return "", false
}

// categories gives the reason category of every call that ended within the
// longest failure window of the rules, by call id.
func categories(cs []calls.Call, now time.Time, rules []Rule) map[string]reasons.Category {
	longest := 0
	for _, r := range rules {
		if r.Kind == Failures {
			longest = max(longest, r.Minutes)
		}
	}
	since := now.Add(-time.Duration(longest) * time.Minute)
	out := make(map[string]reasons.Category)
	for _, c := range cs {
		if c.Ended() && c.EndedAt.After(since) && !c.EndedAt.After(now) {
			out[c.ID] = reasons.ForCall(c).Category
		}
	}
	return out
}

// failureBreach checks a failure-rate rule, and picks the call that carries
// its alert.
func failureBreach(r Rule, cs []calls.Call, failing map[string]reasons.Category, now time.Time) (Breach, bool) {
	since := now.Add(-time.Duration(r.Minutes) * time.Minute)
	n := 0
	var latest, holder *calls.Call
	for i := range cs {
		c := &cs[i]
		if _, ok := c.Alert(r.ID); ok && (holder == nil || c.ID < holder.ID) {
			holder = c
		}
		if cat, ok := failing[c.ID]; !ok || cat != r.Category || !c.EndedAt.After(since) {
			continue
		}
		n++
		if latest == nil || c.EndedAt.After(latest.EndedAt) || (c.EndedAt.Equal(latest.EndedAt) && c.ID > latest.ID) {
			latest = c
		}
	}
	if n <= r.Count {
		return Breach{}, false
	}
	on := latest
	if holder != nil {
		on = holder
	}
	return Breach{CallID: on.ID, Rule: r, Detail: failureWords(n, r)}, true
}

func failureWords(n int, r Rule) string {
	noun := "failures"
	if n == 1 {
		noun = "failure"
	}
	return fmt.Sprintf("%d %s %s in %s", n, r.Category.Label(), noun, Span(time.Duration(r.Minutes)*time.Minute))
}

// Evaluate compares what the calls breach at now with the alerts they
// carry, and returns the alert events that bring them in line: a raise for
// each new breach, a clear (saying why) for each alert whose breach is
// over, whose call ended, or whose rule is gone. It is pure: the same
// rules, calls and time give the same changes, ordered by call id, clears
// before raises.
func Evaluate(rules []Rule, cs []calls.Call, now time.Time) []Change {
	breaches := Breaches(rules, cs, now)
	breached := make(map[[2]string]bool, len(breaches))
	for _, b := range breaches {
		breached[[2]string{b.CallID, b.Rule.ID}] = true
	}
	byID := make(map[string]Rule, len(rules))
	for _, r := range rules {
		byID[r.ID] = r
	}
	var out []Change
	active := make(map[[2]string]bool)
	for _, c := range cs {
		for _, a := range c.Alerts {
			active[[2]string{c.ID, a.Rule}] = true
			if !breached[[2]string{c.ID, a.Rule}] {
				out = append(out, Change{CallID: c.ID, Note: calls.AlertNote{Op: calls.AlertCleared, Rule: a.Rule, Words: a.Words,
					Detail: clearWords(byID, a.Rule, c, cs, now)}})
			}
		}
	}
	for _, b := range breaches {
		if !active[[2]string{b.CallID, b.Rule.ID}] {
			out = append(out, Change{CallID: b.CallID, Note: calls.AlertNote{Op: calls.AlertRaised, Rule: b.Rule.ID, Words: b.Rule.Words, Detail: b.Detail}})
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int { return cmp.Compare(a.CallID, b.CallID) })
	return out
}

// clearWords says why an alert is over.
func clearWords(rules map[string]Rule, id string, c calls.Call, cs []calls.Call, now time.Time) string {
	r, ok := rules[id]
	switch {
	case !ok:
		return "the rule was removed"
	case r.Kind == Failures:
		n := 0
		failing := categories(cs, now, []Rule{r})
		for _, cat := range failing {
			if cat == r.Category {
				n++
			}
		}
		return fmt.Sprintf("%s now, no more than %d", failureWords(n, r), r.Count)
	case c.Ended():
		return "the call ended"
	case r.Kind == Ringing && c.State != calls.Incoming && c.State != calls.Ringing:
		return "the call is " + string(c.State) + " now"
	case r.Kind == Hold && c.State != calls.Hold:
		return "the call is off hold"
	default:
		return "under the threshold of " + r.Threshold()
	}
}
