package ui

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/verbs"
)

// run runs fn on the page's UI goroutine, as an event handler would, and
// renders.
func (f *fixture) run(fn func(ctx app.Context)) {
	f.t.Helper()
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: fn})
	f.disp.Consume()
}

// textOf is the text of the only element with the given id.
func (f *fixture) textOf(id string) string {
	f.t.Helper()
	found := find(f.page, map[string]string{"id": id})
	if len(found) != 1 {
		f.t.Fatalf("%d elements with id %q, want 1:\n%s", len(found), id, f.html())
	}
	return innerText(app.HTMLString(found[0].ui))
}

// innerText drops the tags of an HTML fragment.
func innerText(html string) string {
	var b strings.Builder
	in := false
	for _, r := range html {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// pickedBoxes are the calls whose checkboxes are checked, as rendered.
func (f *fixture) pickedBoxes() []string {
	var out []string
	for _, e := range find(f.page, map[string]string{"data-action": "pick"}) {
		if e.attrs["checked"] == "true" {
			out = append(out, e.attrs["data-call-id"])
		}
	}
	slices.Sort(out)
	return out
}

func TestBulkHangUpPicksConfirmsAndShowsOutcomes(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.api.bulkFail = map[string]verbs.BulkOutcome{
		"b4": {CallID: "b4", Status: http.StatusConflict, Code: "conflict", Message: "cannot hang up: the call has already ended"},
	}
	f.snapshot(call("b1", calls.Established, t0.Add(-4*time.Minute)), call("b2", calls.Established, t0.Add(-3*time.Minute)),
		call("b3", calls.Hold, t0.Add(-2*time.Minute)), call("b4", calls.Incoming, t0.Add(-time.Second)),
		endedCall("e1", 200, 5001))
	if got := f.textOf("bulk-count"); got != "No call selected" {
		t.Fatalf("the bar says %q before any pick", got)
	}
	if b := find(f.page, map[string]string{"id": "bulk-hangup"}); b[0].attrs["disabled"] != "true" {
		t.Fatal("Hang up is offered with nothing picked")
	}
	if boxes := find(f.page, map[string]string{"data-action": "pick"}); len(boxes) != 4 ||
		boxes[0].attrs["aria-label"] != "Select the call from +15550b4" {
		t.Fatalf("want a named checkbox on each of the 4 live rows, got %d: %v", len(boxes), boxes)
	}

	// Newest first: b4, b3, b2, b1. A click on b3, a shift-click on b1.
	f.run(func(ctx app.Context) { f.page.Pick(ctx, "b3", true, false); f.page.Pick(ctx, "b1", true, true) })
	if got := f.pickedBoxes(); !slices.Equal(got, []string{"b1", "b2", "b3"}) {
		t.Fatalf("picked %v after a shift-click from b3 to b1", got)
	}
	if got := f.textOf("bulk-count"); got != "3 calls selected (2 established, 1 on hold)" {
		t.Errorf("the bar says %q", got)
	}
	// A shift-click that unpicks: from b1 (the last clicked) to b2.
	f.run(func(ctx app.Context) { f.page.Pick(ctx, "b2", false, true) })
	if got := f.pickedBoxes(); !slices.Equal(got, []string{"b3"}) {
		t.Fatalf("picked %v after unpicking b1 to b2", got)
	}
	// Select all filtered: the filter keeps the established calls.
	f.run(func(ctx app.Context) { f.page.FilterState(ctx, calls.Established, true) })
	click(t, f.disp, f.page, map[string]string{"id": "pick-all"})
	if got := f.pickedBoxes(); !slices.Equal(got, []string{"b1", "b2"}) {
		t.Fatalf("select all filtered picked %v", got)
	}
	if got := f.textOf("bulk-count"); got != "2 calls selected (2 established)" {
		t.Errorf("after select all filtered the bar says %q", got)
	}
	// Picks the filter hides are counted as such.
	f.run(func(ctx app.Context) {
		f.page.FilterState(ctx, calls.Established, false)
		f.page.Pick(ctx, "b4", true, false)
	})
	f.run(func(ctx app.Context) { f.page.FilterState(ctx, calls.Established, true) })
	if got := f.textOf("bulk-count"); got != "3 calls selected (2 established, 1 incoming), 1 hidden by the filter" {
		t.Errorf("the bar says %q", got)
	}
	f.run(func(ctx app.Context) {
		f.page.FilterState(ctx, calls.Established, false)
		f.page.Pick(ctx, "b3", true, false)
	})

	// One confirmation, then one request; the failure shows on its row.
	click(t, f.disp, f.page, map[string]string{"id": "bulk-hangup"})
	if got := f.textOf("dialog-title"); got != "Hang up 4 calls?" {
		t.Fatalf("the dialog asks %q", got)
	}
	if got := f.textOf("dialog-call"); got != "4 calls: 2 established, 1 on hold, 1 incoming." {
		t.Errorf("the dialog says %q", got)
	}
	if got := f.api.actions(); len(got) != 0 {
		t.Fatalf("sent %q before the confirmation", got)
	}
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	if got := f.api.actions(); !slices.Equal(got, []string{`POST /api/calls/bulk/hangup {"calls":["b1","b2","b3","b4"]}`}) {
		t.Fatalf("sent %q, want one bulk hang-up, oldest first", got)
	}
	if len(find(f.page, map[string]string{"role": "dialog"})) != 0 {
		t.Error("the dialog stayed open")
	}
	errs := find(f.page, map[string]string{"class": "op-error", "data-call-id": "b4"})
	if len(errs) != 1 || !strings.Contains(app.HTMLString(errs[0].ui), "Could not hang up: the call has already ended") {
		t.Errorf("b4's row does not say why:\n%s", f.html())
	}
	if got := f.textOf("bulk-result"); got != "Hung up 3 calls; 1 could not be: each says why on its row" {
		t.Errorf("the bar says %q", got)
	}
	if got := f.pickedBoxes(); len(got) != 0 {
		t.Errorf("still picked: %v", got)
	}
}

func TestBulkPicksForgetEndedCallsAndViewersHaveNone(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	c := call("p1", calls.Established, t0.Add(-time.Minute))
	f.snapshot(c, call("p2", calls.Established, t0.Add(-2*time.Minute)))
	f.run(func(ctx app.Context) { f.page.PickAll(ctx, true) })
	c.State, c.EndedAt = calls.Terminated, t0
	f.update(c)
	if got := f.textOf("bulk-count"); got != "1 call selected (1 established)" {
		t.Errorf("after p1 ended the bar says %q", got)
	}
	// A confirmation whose calls all ended meanwhile sends nothing.
	click(t, f.disp, f.page, map[string]string{"id": "bulk-hangup"})
	p2 := call("p2", calls.Terminated, t0.Add(-2*time.Minute))
	p2.EndedAt = t0
	f.update(p2)
	if got := f.textOf("dialog-gone"); !strings.Contains(got, "ended meanwhile. Nothing was sent.") {
		t.Errorf("the dialog says %q", got)
	}
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	if got := f.api.actions(); len(got) != 0 {
		t.Errorf("sent %q", got)
	}

	v := newFixture(t, console.Viewer)
	v.snapshot(call("v1", calls.Established, t0.Add(-time.Minute)))
	if n := len(find(v.page, map[string]string{"data-action": "pick"})) + len(find(v.page, map[string]string{"id": "bulk-bar"})); n != 0 {
		t.Errorf("a viewer sees %d checkboxes and bars", n)
	}
}
