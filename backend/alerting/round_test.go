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

type noRules struct{}

func (noRules) Load(context.Context) (alerts.Document, error) { return alerts.Document{}, nil }

// TestARoundReusesItsCopyOfTheView: the writer's alert round copies the
// view into the slice the round before used, so a big view is not a new
// slice of tens of megabytes every second for the collector; and the slice
// keeps no call between rounds.
func TestARoundReusesItsCopyOfTheView(t *testing.T) {
	v := &recordingView{}
	for i := range 100 {
		v.calls = append(v.calls, calls.Call{ID: fmt.Sprintf("c%03d", i), State: calls.Established, StartedAt: time.Now()})
	}
	w := &alerting.Watcher{Rules: noRules{}, View: v, Log: nil}
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
