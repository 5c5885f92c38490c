package traffic

import (
	"slices"
	"time"
)

// Stretch is a span of time during which every attempt failed.
type Stretch struct {
	// From is when the first failing attempt started; To when the next
	// accepted one started (or the end of the period looked at).
	From, To time.Time
	// Open is set when no attempt succeeded before the end.
	Open bool
	// Failures is how many attempts failed in it.
	Failures int
}

// Duration is the stretch's length.
func (s Stretch) Duration() time.Duration { return s.To.Sub(s.From) }

// Unavailable finds the stretches of attempts that started in [from, to)
// during which the webhook accepted nothing: on replica target, or on any
// replica when target is negative. A stretch still open at to ends there.
func Unavailable(attempts []Attempt, target int, from, to time.Time) []Stretch {
	var picked []Attempt
	for _, a := range attempts {
		if (target < 0 || a.Target == target) && !a.Start.Before(from) && a.Start.Before(to) {
			picked = append(picked, a)
		}
	}
	slices.SortStableFunc(picked, func(a, b Attempt) int { return a.Start.Compare(b.Start) })
	var out []Stretch
	var cur *Stretch
	for _, a := range picked {
		switch {
		case !a.OK() && cur == nil:
			cur = &Stretch{From: a.Start, Failures: 1}
		case !a.OK():
			cur.Failures++
		case cur != nil:
			cur.To = a.Start
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		cur.To, cur.Open = to, true
		out = append(out, *cur)
	}
	return out
}

// Longest is the longest of the stretches (zero when there is none).
func Longest(stretches []Stretch) Stretch {
	var best Stretch
	for _, s := range stretches {
		if s.Duration() > best.Duration() {
			best = s
		}
	}
	return best
}
