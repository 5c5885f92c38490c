package liveview_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
)

// TestUnorderedHoldsEveryCallAndAlertsAreCounted: Unordered is the
// snapshot's calls in some order, and ActiveAlerts counts the alerts they
// hold, as alerts are raised and cleared, calls erased, and in a view
// that loads what another saved.
func TestUnorderedHoldsEveryCallAndAlertsAreCounted(t *testing.T) {
	log := openLog(t)
	v := runView(t, log, liveview.Options{})
	ctx := context.Background()
	raise := func(id, rule string) eventlog.Entry {
		return eventlog.Entry{Event: calls.Event{Kind: calls.KindAlert, CallID: id, At: time.Now().UTC(),
			Alert: &calls.AlertNote{Op: calls.AlertRaised, Rule: rule, Words: rule}}}
	}
	entries := []eventlog.Entry{event("a", calls.Incoming), event("b", calls.Established), event("c", calls.Hold),
		raise("a", "ringing"), raise("c", "hold"), raise("c", "duration")}
	if _, err := log.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the view applies the events", func() bool { return v.ActiveAlerts() == 3 })
	ids := func(list []calls.Call) []string {
		var out []string
		for _, c := range list {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	if got, want := ids(v.Unordered(nil)), ids(v.Calls()); !slices.Equal(got, want) || len(got) != 3 {
		t.Fatalf("Unordered holds %v, the snapshot %v", got, want)
	}

	clear := raise("c", "hold")
	clear.Event.Alert.Op = calls.AlertCleared
	if _, err := log.Append(ctx, []eventlog.Entry{clear}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the view counts the cleared alert", func() bool { return v.ActiveAlerts() == 2 })
	if again := runView(t, log, liveview.Options{}); again.ActiveAlerts() != 2 {
		t.Fatalf("a view that loads the saved state counts %d alerts, want 2", again.ActiveAlerts())
	}
	if err := log.Erase(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the view forgets the erased call's alert", func() bool { return v.ActiveAlerts() == 1 })
}
