package console

import (
	"testing"
	"time"

	"switchboard/app/calls"
)

func TestAlertWatch(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var w AlertWatch
	w.Reset(t0)
	old := calls.Alert{Rule: "old", Words: "Ringing over 10 s", Since: t0.Add(-time.Minute)}
	ring := calls.Alert{Rule: "ring", Words: "Ringing over 10 s", Since: t0.Add(time.Second)}
	justBefore := calls.Alert{Rule: "hold", Words: "On hold", Since: t0.Add(-2 * time.Second)}
	c := calls.Call{ID: "c1", Alerts: []calls.Alert{old}}
	if got := w.News(c); len(got) != 0 {
		t.Fatalf("an alert raised before the console watched is news: %+v", got)
	}
	c.Alerts = []calls.Alert{old, ring}
	if got := w.News(c); len(got) != 1 || got[0].Rule != "ring" {
		t.Fatalf("news = %+v, want the ring alert", got)
	}
	if got := w.News(c); len(got) != 0 {
		t.Fatalf("the same alert is news twice: %+v", got)
	}
	acked := ring
	acked.AckedBy = "bob"
	c.Alerts = []calls.Alert{old, acked}
	if got := w.News(c); len(got) != 0 {
		t.Fatalf("an acknowledgement is news: %+v", got)
	}
	c.Alerts = []calls.Alert{justBefore}
	if got := w.News(c); len(got) != 1 {
		t.Fatalf("an alert raised while the snapshot travelled is not news: %+v", got)
	}
	c.Alerts = nil
	w.News(c)
	again := ring
	again.Since = t0.Add(time.Minute) // cleared, then raised again
	c.Alerts = []calls.Alert{again}
	if got := w.News(c); len(got) != 1 {
		t.Fatalf("an alert raised again is not news: %+v", got)
	}
	w.Gone("c1")
	if len(w.told) != 0 {
		t.Fatalf("a call gone is remembered: %+v", w.told)
	}
	w.News(calls.Call{ID: "quiet"})
	if len(w.told) != 0 {
		t.Fatalf("a call without alerts is remembered: %+v", w.told)
	}
}
