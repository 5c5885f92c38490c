package history

import (
	"slices"
	"testing"

	"switchboard/app/calls"
)

func TestTellAlerts(t *testing.T) {
	alert := func(n calls.AlertNote) calls.Event {
		return calls.Event{Kind: calls.KindAlert, CallID: "g1", At: t0, Alert: &n}
	}
	lines := Tell(entries(
		graph(calls.Change{ChangeType: "created", Resource: calls.ResourceCall, State: calls.Incoming}),
		alert(calls.AlertNote{Op: calls.AlertRaised, Rule: "ring", Words: "Ringing over 30 s", Detail: "incoming for 31 s"}),
		alert(calls.AlertNote{Op: calls.AlertAcknowledged, Rule: "ring", Words: "Ringing over 30 s", Actor: "bob"}),
		alert(calls.AlertNote{Op: calls.AlertCleared, Rule: "ring", Words: "Ringing over 30 s", Detail: "the call ended"}),
		alert(calls.AlertNote{Op: calls.AlertRaised, Rule: "x"}),
	))
	var got []string
	for _, l := range lines[1:] {
		got = append(got, l.Kind+": "+l.Text)
	}
	want := []string{
		"alert: alert raised: Ringing over 30 s (incoming for 31 s)",
		"alert: alert acknowledged by bob: Ringing over 30 s",
		"alert: alert cleared: Ringing over 30 s (the call ended)",
		"alert: alert raised: rule x",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("lines\n%q\nwant\n%q", got, want)
	}
}
