package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
)

func alerted(c calls.Call, a ...calls.Alert) calls.Call {
	c.Alerts = a
	return c
}

var ringAlert = calls.Alert{Rule: "ring", Words: "Caller waiting over 10 s", Detail: "incoming for 11 s", Since: t0.Add(-time.Minute)}

func TestAlertedRowByRole(t *testing.T) {
	acked := ringAlert
	acked.AckedBy, acked.AckedAt = "bob", t0
	tests := []struct {
		name   string
		role   console.Role
		alert  calls.Alert
		button bool
		says   string
	}{
		{"supervisor", console.Supervisor, ringAlert, true, "Caller waiting over 10 s"},
		{"viewer", console.Viewer, ringAlert, false, "Caller waiting over 10 s"},
		{"acknowledged", console.Supervisor, acked, false, "acknowledged by bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.role)
			f.snapshot(alerted(call("a", calls.Incoming, t0.Add(-11*time.Second)), tt.alert), call("b", calls.Incoming, t0))
			rows := find(f.page, map[string]string{"data-call-id": "a", "data-state": "incoming"})
			if len(rows) != 1 || !strings.Contains(rows[0].attrs["class"], "alerted") {
				t.Fatalf("row a: %v", rows)
			}
			html := app.HTMLString(rows[0].ui)
			if !strings.Contains(html, tt.says) || !strings.Contains(html, "Alert: ") {
				t.Fatalf("row a does not say %q in words:\n%s", tt.says, html)
			}
			quiet := find(f.page, map[string]string{"data-call-id": "b", "data-state": "incoming"})
			if strings.Contains(quiet[0].attrs["class"], "alerted") {
				t.Fatal("a call without alerts is highlighted")
			}
			acks := find(f.page, map[string]string{"data-action": "ack"})
			if (len(acks) == 1) != tt.button {
				t.Fatalf("Acknowledge controls: %d, want shown %v", len(acks), tt.button)
			}
			if !tt.button {
				return
			}
			if l := acks[0].attrs["aria-label"]; l != "Acknowledge the alert “Caller waiting over 10 s” on the call from +15550a" {
				t.Fatalf("Acknowledge is labelled %q", l)
			}
			fire(t, f.disp, acks[0], "click")
			if got := f.api.actions(); !slices.Equal(got, []string{"POST /api/calls/a/alerts/ring/acknowledge"}) {
				t.Fatalf("the server was asked %q", got)
			}
		})
	}
}

func TestAcknowledgeFailureIsShownOnTheRow(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.api.fail["POST /api/calls/a/alerts/ring/acknowledge"] = apiFailure{409, "conflict", "bob acknowledged this alert already"}
	f.snapshot(alerted(call("a", calls.Incoming, t0.Add(-11*time.Second)), ringAlert))
	click(t, f.disp, f.page, map[string]string{"data-action": "ack"})
	errs := find(f.page, map[string]string{"class": "op-error", "data-call-id": "a"})
	if len(errs) != 1 || !strings.Contains(app.HTMLString(errs[0].ui), "Could not acknowledge the alert: bob acknowledged this alert already") {
		t.Fatalf("no error on the row:\n%s", f.html())
	}
}

func liveText(t *testing.T, f *fixture) string {
	t.Helper()
	regions := find(f.page, map[string]string{"id": "alert-live"})
	if len(regions) != 1 || regions[0].attrs["aria-live"] != "assertive" {
		t.Fatalf("live region: %v", regions)
	}
	html := app.HTMLString(regions[0].ui)
	return strings.TrimSpace(html[strings.Index(html, ">")+1 : strings.LastIndex(html, "<")])
}

func TestNewAlertsAreAnnouncedOnce(t *testing.T) {
	f := newFixture(t, console.Viewer)
	a := call("a", calls.Incoming, t0.Add(-20*time.Second))
	f.snapshot(alerted(a, ringAlert), call("b", calls.Incoming, t0.Add(-20*time.Second)))
	if got := liveText(t, f); got != "" {
		t.Fatalf("an alert the snapshot brought is announced: %q", got)
	}
	fresh := calls.Alert{Rule: "long", Words: "Longer than 15 s", Since: t0}
	f.update(alerted(call("b", calls.Incoming, t0.Add(-20*time.Second)), fresh))
	if got := liveText(t, f); got != "Alert: Longer than 15 s, call from +15550b." {
		t.Fatalf("announced %q", got)
	}
	f.update(alerted(a, ringAlert, calls.Alert{Rule: "long", Words: "Longer than 15 s", Since: t0}))
	if got := liveText(t, f); got != "Alert: Longer than 15 s, call from +15550a." {
		t.Fatalf("announced %q", got)
	}
	f.update(alerted(call("b", calls.Established, t0.Add(-20*time.Second)), fresh)) // news of b, not of its alert
	if got := liveText(t, f); got != "Alert: Longer than 15 s, call from +15550a." {
		t.Fatalf("an alert announced again: %q", got)
	}
}

func TestNotificationsNeedTheBrowser(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.snapshot()
	if n := find(f.page, map[string]string{"id": "alert-notify"}); len(n) != 0 {
		t.Fatal("a browser without the Notification API is offered notifications")
	}
	f.page.alerting.notify = notifyState{Supported: true, Permission: "denied"}
	f.update(call("x", calls.Incoming, t0))
	if n := find(f.page, map[string]string{"id": "alert-notify-state"}); len(n) != 1 {
		t.Fatalf("a refusal is not said:\n%s", f.html())
	}
}

func TestAlertRulesPanel(t *testing.T) {
	f := newFixture(t, console.Admin)
	f.snapshot()
	if len(find(f.page, map[string]string{"id": "alert-rules-editor"})) != 0 {
		t.Fatal("the editor is open before it is asked for")
	}
	click(t, f.disp, f.page, map[string]string{"id": "alert-rules-toggle"})
	if len(find(f.page, map[string]string{"data-rule": "ring", "class": "rule"})) != 1 {
		t.Fatalf("the stored rule is not shown:\n%s", f.html())
	}
	if !strings.Contains(f.html(), "Last changed by ada") {
		t.Fatalf("who changed the rules is not said")
	}
	click(t, f.disp, f.page, map[string]string{"id": "alert-rule-add"})
	edit := func(i int, field, value string) {
		f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) { f.page.EditAlertRule(ctx, i, field, value) }})
		f.disp.Consume()
	}
	edit(1, "kind", "hold")
	edit(1, "seconds", "0")
	click(t, f.disp, f.page, map[string]string{"id": "alert-rules-save"})
	if errs := find(f.page, map[string]string{"id": "alert-rules-error"}); len(errs) != 1 ||
		!strings.Contains(app.HTMLString(errs[0].ui), "Not saved: rule 2 (hold-1): seconds must be between 1 and 86400, not 0") {
		t.Fatalf("a bad rule is not refused in words:\n%s", f.html())
	}
	for _, got := range f.api.actions() {
		t.Fatalf("a bad rule was sent: %q", got)
	}
	edit(1, "seconds", "90")
	click(t, f.disp, f.page, map[string]string{"id": "alert-rules-save"})
	want := `PUT /api/alert-rules {"rules":[{"id":"ring","kind":"ringing","seconds":30,"words":"Ringing over 30 s"},{"id":"hold-1","kind":"hold","seconds":90,"words":"On hold over 1 min 30 s"}],"revision":4}`
	if got := f.api.actions(); !slices.Equal(got, []string{want}) {
		t.Fatalf("sent %q\nwant %q", got, want)
	}
	if st := find(f.page, map[string]string{"id": "alert-rules-status"}); len(st) != 1 || !strings.Contains(app.HTMLString(st[0].ui), "Saved: 2 rules.") {
		t.Fatalf("saving is not confirmed:\n%s", f.html())
	}
	click(t, f.disp, f.page, map[string]string{"data-action": "remove-rule", "aria-label": "Remove rule 1: Ringing over 30 s"})
	if len(find(f.page, map[string]string{"class": "rule"})) != 1 {
		t.Fatalf("the rule was not removed from the draft")
	}
}

// TestFailureRateAlertOnAnEndedCall: a failure-rate alert is carried by an
// ended call; its entry in Recently ended says so and offers Acknowledge.
func TestFailureRateAlertOnAnEndedCall(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	ended := alerted(endedCall("gone1", 408, 1106), calls.Alert{Rule: "timeouts", Words: "More than 3 timeout failures in 5 min", Since: t0})
	f.snapshot(ended)
	items := find(f.page, map[string]string{"id": "ended-gone1"})
	if len(items) != 1 || !strings.Contains(items[0].attrs["class"], "alerted") ||
		!strings.Contains(app.HTMLString(items[0].ui), "More than 3 timeout failures in 5 min") {
		t.Fatalf("the ended call does not show its alert:\n%s", f.html())
	}
	click(t, f.disp, f.page, map[string]string{"data-action": "ack", "data-call-id": "gone1"})
	if got := f.api.actions(); !slices.Equal(got, []string{"POST /api/calls/gone1/alerts/timeouts/acknowledge"}) {
		t.Fatalf("the server was asked %q", got)
	}
}
