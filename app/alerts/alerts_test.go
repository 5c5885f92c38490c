package alerts

import (
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/app/reasons"
)

func TestValidate(t *testing.T) {
	ok := Rule{ID: "ring", Kind: Ringing, Seconds: 30, Words: "Caller waiting"}
	fail := Rule{ID: "timeouts", Kind: Failures, Count: 3, Category: reasons.Timeout, Minutes: 10, Words: "Timeouts"}
	many := make([]Rule, MaxRules+1)
	for i := range many {
		many[i] = ok
		many[i].ID = "r" + strings.Repeat("x", i)
	}
	with := func(r Rule, f func(*Rule)) []Rule { f(&r); return []Rule{r} }
	tests := []struct {
		name  string
		rules []Rule
		want  string // in the error; "" for valid
	}{
		{"valid", []Rule{ok, fail}, ""},
		{"none", nil, ""},
		{"too many", many, "at most 20"},
		{"no id", with(ok, func(r *Rule) { r.ID = "" }), "is not 1 to 32"},
		{"upper-case id", with(ok, func(r *Rule) { r.ID = "Ring" }), "is not 1 to 32"},
		{"long id", with(ok, func(r *Rule) { r.ID = strings.Repeat("a", 33) }), "is not 1 to 32"},
		{"unknown kind", with(ok, func(r *Rule) { r.Kind = "parked" }), `the kind "parked"`},
		{"no threshold", with(ok, func(r *Rule) { r.Seconds = 0 }), "seconds must be between 1 and 86400, not 0"},
		{"threshold over a day", with(ok, func(r *Rule) { r.Seconds = MaxSeconds + 1 }), "seconds must be between"},
		{"no words", with(ok, func(r *Rule) { r.Words = "" }), "words shown on a breaching row are empty"},
		{"long words", with(ok, func(r *Rule) { r.Words = strings.Repeat("é", MaxWords+1) }), "longer than 80"},
		{"control character", with(ok, func(r *Rule) { r.Words = "a\x07b" }), "control character"},
		{"no window", with(fail, func(r *Rule) { r.Minutes = 0 }), "minutes must be between 1 and 60"},
		{"window over an hour", with(fail, func(r *Rule) { r.Minutes = 61 }), "minutes must be between 1 and 60"},
		{"negative count", with(fail, func(r *Rule) { r.Count = -1 }), "count must be between 0"},
		{"unknown category", with(fail, func(r *Rule) { r.Category = "boredom" }), `the category "boredom" is not one of normal, bot,`},
		{"same id twice", []Rule{ok, ok}, `rule 2: the id "ring" is used twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.rules)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want an error saying %q", err, tt.want)
			case tt.want != "" && !errors.Is(err, ErrInvalid):
				t.Fatalf("Validate = %v, not ErrInvalid", err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	in := []Rule{
		{Kind: Ringing, Seconds: 30},
		{ID: " Ringing-1 ", Kind: Hold, Seconds: 150, Words: "  Held   too long "},
		{Kind: " failures ", Count: 3, Category: reasons.Timeout, Minutes: 10, Seconds: 9},
		{Kind: Duration, Seconds: 300, Count: 4, Category: reasons.Timeout, Minutes: 2},
		{Kind: Ringing, Seconds: 3600},
	}
	got := Normalize(in)
	want := []Rule{
		{ID: "ringing-2", Kind: Ringing, Seconds: 30, Words: "Ringing over 30 s"},
		{ID: "ringing-1", Kind: Hold, Seconds: 150, Words: "Held too long"},
		{ID: "failures-1", Kind: Failures, Count: 3, Category: reasons.Timeout, Minutes: 10, Words: "More than 3 timeout failures in 10 min"},
		{ID: "duration-1", Kind: Duration, Seconds: 300, Words: "Longer than 5 min"},
		{ID: "ringing-3", Kind: Ringing, Seconds: 3600, Words: "Ringing over 1 h"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rule %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := Validate(got); err != nil {
		t.Fatalf("normalized rules are invalid: %v", err)
	}
	if in[0].ID != "" {
		t.Fatal("Normalize changed its input")
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 45 * time.Second: "45 s", 2 * time.Minute: "2 min", 150 * time.Second: "2 min 30 s",
		time.Hour: "1 h", 65 * time.Minute: "1 h 5 min", 1500 * time.Millisecond: "1 s",
	} {
		if got := Span(d); got != want {
			t.Errorf("Span(%v) = %q, want %q", d, got, want)
		}
	}
}
