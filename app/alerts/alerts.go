// Package alerts is the contract of threshold alerts, shared by the server
// and the console: the rules an admin sets (a call ringing, on hold or
// lasting longer than a threshold; more than a number of failures of a
// reason category in a window), their checks, the words a breaching row
// shows, and the pure evaluator that says which calls breach which rules at
// a given time.
//
// Rules hold no clock and no state of their own: the evaluator reads the
// calls (each knows when it entered its state, and which alerts its event
// log raised) and a time, so tests run it on simulated time and every
// replica would reach the same answer from the same view.
//
// The package is pure Go: the console compiles it into the WebAssembly.
package alerts

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"switchboard/app/reasons"
)

// Kind is what a rule watches.
type Kind string

// The kinds of rule.
const (
	// Ringing: an incoming or ringing call not answered for longer than
	// Seconds.
	Ringing Kind = "ringing"
	// Hold: a call on hold for longer than Seconds.
	Hold Kind = "hold"
	// Duration: any live call lasting longer than Seconds (counted as its
	// row counts: from the answer, or from the start if never answered).
	Duration Kind = "duration"
	// Failures: more than Count calls ending with a reason of Category
	// within the last Minutes.
	Failures Kind = "failures"
)

// Kinds lists every kind, in the order the admin panel offers them.
func Kinds() []Kind { return []Kind{Ringing, Hold, Duration, Failures} }

// Label is the kind in words, for the admin panel.
func (k Kind) Label() string {
	switch k {
	case Ringing:
		return "Ringing or incoming longer than"
	case Hold:
		return "On hold longer than"
	case Duration:
		return "Any call longer than"
	case Failures:
		return "More than N failures of a category in M minutes"
	default:
		return string(k)
	}
}

// PerCall reports whether the kind is breached by one call on its own
// (every kind but Failures).
func (k Kind) PerCall() bool { return k == Ringing || k == Hold || k == Duration }

// Rule is one alert rule.
type Rule struct {
	// ID names the rule in alert events and metrics: lower-case letters,
	// digits and dashes, at most 32. Normalize gives one to a rule
	// without.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Seconds is the threshold of Ringing, Hold and Duration.
	Seconds int `json:"seconds,omitempty"`
	// Count, Category and Minutes are Failures' threshold: more than
	// Count failures of Category in the last Minutes.
	Count    int              `json:"count,omitempty"`
	Category reasons.Category `json:"category,omitempty"`
	Minutes  int              `json:"minutes,omitempty"`
	// Words is what a breaching row shows ("Caller waiting over 30 s");
	// Normalize writes the default words of a rule without.
	Words string `json:"words,omitempty"`
}

// Document is the stored rule set, as GET /api/alert-rules returns it
// and PUT takes it.
type Document struct {
	Rules []Rule `json:"rules"`
	// Revision is the stored set's revision. A PUT that gives one is
	// refused (409) when the rules changed since: two admins editing at
	// once do not overwrite each other unseen. Zero on a PUT means
	// "whatever is stored".
	Revision uint64 `json:"revision,omitempty"`
	// UpdatedBy and UpdatedAt say who stored the set last, and when.
	UpdatedBy string    `json:"updatedBy,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Limits of a rule set.
const (
	MaxRules   = 20
	MaxWords   = 80
	MaxSeconds = 24 * 60 * 60
	MaxMinutes = 60
	MaxCount   = 10000
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid alert rules")

// validID reports whether id is 1 to 32 lower-case letters, digits and
// dashes, not starting with a dash. A loop rather than a regular
// expression: a package-level pattern would be compiled when the console
// starts, on the browser's main thread.
func validID(id string) bool {
	if id == "" || len(id) > 32 || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Normalize trims the rules' text, gives a rule without an id one from its
// kind ("ringing-2"), and a rule without words its default words. It does
// not check them: Validate does.
func Normalize(rules []Rule) []Rule {
	out := make([]Rule, len(rules))
	taken := make(map[string]bool, len(rules))
	for i, r := range rules {
		r.ID = strings.ToLower(strings.TrimSpace(r.ID))
		r.Kind = Kind(strings.TrimSpace(string(r.Kind)))
		r.Category = reasons.Category(strings.TrimSpace(string(r.Category)))
		r.Words = strings.Join(strings.Fields(r.Words), " ")
		if !r.Kind.PerCall() {
			r.Seconds = 0
		} else {
			r.Count, r.Category, r.Minutes = 0, "", 0
		}
		taken[r.ID] = true
		out[i] = r
	}
	for i := range out {
		if out[i].ID == "" {
			out[i].ID = freeID(string(out[i].Kind), taken)
		}
		if out[i].Words == "" {
			out[i].Words = out[i].DefaultWords()
		}
	}
	return out
}

// freeID is the first of "prefix-1", "prefix-2"… nobody has taken, or ""
// when the prefix makes no valid id (Validate then says why).
func freeID(prefix string, taken map[string]bool) string {
	for n := 1; n <= 2*MaxRules; n++ {
		id := prefix + "-" + strconv.Itoa(n)
		if !validID(id) {
			return ""
		}
		if !taken[id] {
			taken[id] = true
			return id
		}
	}
	return ""
}

// Validate checks a rule set and says, in words, what is wrong with the
// first rule that is wrong. Every error wraps ErrInvalid.
func Validate(rules []Rule) error {
	if len(rules) > MaxRules {
		return fmt.Errorf("%w: %d rules; at most %d", ErrInvalid, len(rules), MaxRules)
	}
	seen := make(map[string]bool, len(rules))
	for i, r := range rules {
		if err := r.check(); err != nil {
			return fmt.Errorf("%w: rule %d (%s): %s", ErrInvalid, i+1, r.name(), err.Error())
		}
		if seen[r.ID] {
			return fmt.Errorf("%w: rule %d: the id %q is used twice", ErrInvalid, i+1, r.ID)
		}
		seen[r.ID] = true
	}
	return nil
}

func (r Rule) name() string {
	if r.ID != "" {
		return r.ID
	}
	return "without an id"
}

func (r Rule) check() error {
	switch {
	case !validID(r.ID):
		return fmt.Errorf("the id %q is not 1 to 32 lower-case letters, digits and dashes", r.ID)
	case !slices.Contains(Kinds(), r.Kind):
		return fmt.Errorf("the kind %q is not one of ringing, hold, duration, failures", r.Kind)
	case r.Words == "":
		return errors.New("the words shown on a breaching row are empty")
	case len([]rune(r.Words)) > MaxWords:
		return fmt.Errorf("the words are longer than %d characters", MaxWords)
	case strings.IndexFunc(r.Words, unicode.IsControl) >= 0:
		return errors.New("the words hold a control character")
	}
	if r.Kind.PerCall() {
		if r.Seconds < 1 || r.Seconds > MaxSeconds {
			return fmt.Errorf("seconds must be between 1 and %d, not %d", MaxSeconds, r.Seconds)
		}
		return nil
	}
	switch {
	case r.Count < 0 || r.Count > MaxCount:
		return fmt.Errorf("count must be between 0 and %d, not %d", MaxCount, r.Count)
	case r.Minutes < 1 || r.Minutes > MaxMinutes:
		return fmt.Errorf("minutes must be between 1 and %d, not %d", MaxMinutes, r.Minutes)
	case !slices.Contains(reasons.Categories(), r.Category):
		return fmt.Errorf("the category %q is not one of %s", r.Category, categoryList())
	}
	return nil
}

func categoryList() string {
	var s []string
	for _, c := range reasons.Categories() {
		s = append(s, string(c))
	}
	return strings.Join(s, ", ")
}

// DefaultWords is what a breaching row shows when the admin wrote nothing:
// "Ringing over 30 s", "On hold over 2 min", "Longer than 5 min", "More
// than 3 timeout failures in 10 min".
func (r Rule) DefaultWords() string {
	d := time.Duration(r.Seconds) * time.Second
	switch r.Kind {
	case Ringing:
		return "Ringing over " + Span(d)
	case Hold:
		return "On hold over " + Span(d)
	case Duration:
		return "Longer than " + Span(d)
	case Failures:
		return fmt.Sprintf("More than %d %s failures in %s", r.Count, r.Category.Label(), Span(time.Duration(r.Minutes)*time.Minute))
	}
	return string(r.Kind)
}

// Threshold is the rule's condition in words, for the admin panel.
func (r Rule) Threshold() string {
	if r.Kind.PerCall() {
		return Span(time.Duration(r.Seconds) * time.Second)
	}
	return fmt.Sprintf("more than %d %s in %s", r.Count, r.Category.Label(), Span(time.Duration(r.Minutes)*time.Minute))
}

// Span says a duration the way the rules do: "45 s", "2 min", "2 min
// 30 s", "1 h 5 min".
func Span(d time.Duration) string {
	s := int(d / time.Second)
	switch {
	case s < 60:
		return strconv.Itoa(s) + " s"
	case s < 3600 && s%60 == 0:
		return strconv.Itoa(s/60) + " min"
	case s < 3600:
		return strconv.Itoa(s/60) + " min " + strconv.Itoa(s%60) + " s"
	case s%3600 == 0:
		return strconv.Itoa(s/3600) + " h"
	default:
		return strconv.Itoa(s/3600) + " h " + strconv.Itoa(s%3600/60) + " min"
	}
}
