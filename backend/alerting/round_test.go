package alerting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"switchboard/app/alerts"
	"switchboard/app/calls"
	"switchboard/backend/alerting"
)

// recordingView is a view of fixed calls that remembers the slices a
// round asked it to fill.
type recordingView struct {
	calls []calls.Call
	given [][]calls.Call // dst of each Unordered, as handed in
	made  [][]calls.Call // what each Unordered returned
}

func (v *recordingView) Unordered(dst []calls.Call) []calls.Call {
	v.given = append(v.given, dst)
	out := append(dst, v.calls...)
	v.made = append(v.made, out)
	return out
}
func (v *recordingView) ActiveAlerts() int { return 0 }
func (v *recordingView) Get(id string) (calls.Call, bool) {
	for _, c := range v.calls {
		if c.ID == id {
			return c, true
		}
	}
	return calls.Call{}, false
}
func (v *recordingView) Writer() bool { return true }

// fixedRules is a rule store that always has the same rules.
type fixedRules []alerts.Rule

func (r fixedRules) Load(context.Context) (alerts.Document, error) {
	return alerts.Document{Rules: r}, nil
}

func fixedView(n int) *recordingView {
	v := &recordingView{}
	for i := range n {
		v.calls = append(v.calls, calls.Call{ID: fmt.Sprintf("c%03d", i), State: calls.Established, StartedAt: time.Now()})
	}
	return v
}

// TestARoundWithoutRulesCopiesNothing: with no rule and no alert to
// clear, the writer's round does not copy the view at all.
func TestARoundWithoutRulesCopiesNothing(t *testing.T) {
	v := fixedView(100)
	w := &alerting.Watcher{Rules: fixedRules(nil), View: v}
	w.Round(context.Background())
	w.Round(context.Background())
	if len(v.given) != 0 {
		t.Fatalf("rounds without rules copied the view %d times", len(v.given))
	}
}

// TestARoundReusesItsCopyOfTheView: the writer's alert round copies the
// view into the slice the round before used, so a big view is not a new
// slice of tens of megabytes every second for the collector; and the slice
// keeps no call between rounds.
func TestARoundReusesItsCopyOfTheView(t *testing.T) {
	v := fixedView(100)
	w := &alerting.Watcher{Rules: fixedRules{{ID: "ringing-long", Kind: alerts.Ringing, Seconds: 3600}}, View: v}
	ctx := context.Background()
	w.Round(ctx)
	first := v.made[0]
	for i, c := range first {
		if c.ID != "" {
			t.Fatalf("after the round its copy still holds call %d (%s)", i, c.ID)
		}
	}
	w.Round(ctx)
	if dst := v.given[1]; cap(dst) < len(v.calls) || &dst[:1][0] != &first[0] {
		t.Fatalf("the second round handed the view a new slice (cap %d), not the first round's", cap(dst))
	}
}
