package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/verbs"
)

// memSaved keeps a saved view in memory, as the browser's storage would.
type memSaved struct{ data []byte }

func (m *memSaved) Load() ([]byte, error) {
	if m.data == nil {
		return nil, errNothingSaved
	}
	return m.data, nil
}
func (m *memSaved) Save(data []byte) error { m.data = data; return nil }
func (m *memSaved) Clear()                 { m.data = nil }

func rowOrder(f *fixture) []string {
	var out []string
	for _, r := range find(f.page, map[string]string{"class": "row"}) {
		out = append(out, r.attrs["data-call-id"])
	}
	return out
}

func TestHeadersSortTheTable(t *testing.T) {
	f := newFixture(t, console.Viewer)
	a := call("a", calls.Established, t0.Add(-3*time.Minute))
	a.Source.DisplayName = "Zoe"
	b := call("b", calls.Incoming, t0.Add(-time.Second))
	b.Source.DisplayName = "Adam"
	c := call("c", calls.Hold, t0.Add(-2*time.Minute))
	c.Source.DisplayName = "Mia"
	f.snapshot(a, b, c)
	if got := rowOrder(f); !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Fatalf("default order %v, want newest first", got)
	}
	click(t, f.disp, f.page, map[string]string{"data-sort": "caller"})
	if got := rowOrder(f); !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Errorf("by caller: %v, want Adam, Mia, Zoe", got)
	}
	if th := find(f.page, map[string]string{"aria-sort": "ascending"}); len(th) != 1 || th[0].attrs["class"] != "c-from" {
		t.Errorf("aria-sort ascending on %v, want the caller column alone", th)
	}
	click(t, f.disp, f.page, map[string]string{"data-sort": "caller"})
	if got := rowOrder(f); !slices.Equal(got, []string{"a", "c", "b"}) || len(find(f.page, map[string]string{"aria-sort": "descending"})) != 1 {
		t.Errorf("by caller, descending: %v", got)
	}
	click(t, f.disp, f.page, map[string]string{"data-sort": "state"})
	if got := rowOrder(f); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Errorf("by state: %v, want incoming, established, hold", got)
	}
}

func TestASearchWithNoMatchSaysSo(t *testing.T) {
	f := newFixture(t, console.Viewer)
	f.snapshot(call("a", calls.Established, t0.Add(-time.Minute)), call("b", calls.Hold, t0.Add(-time.Minute)))
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) {
		f.page.SetFilter(ctx, console.Filter{Search: "nobody"})
	}})
	f.disp.Consume()
	html := f.html()
	if strings.Contains(html, "No live calls.") || !strings.Contains(html, "No live call matches “nobody” (2 live calls in all).") {
		t.Errorf("a search without a match does not say so:\n%s", html)
	}
}

func TestSummaryLegendFilters(t *testing.T) {
	f := newFixture(t, console.Viewer)
	ghost := endedCall("g", 404, 8522)
	ghost.Reconciled = true
	f.snapshot(call("a", calls.Established, t0.Add(-time.Minute)), call("b", calls.Incoming, t0.Add(-time.Second)),
		endedCall("x", 408, 8537), ghost)
	click(t, f.disp, f.page, map[string]string{"data-filter": "incoming", "class": "legend-item"})
	if got := rowOrder(f); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after a click on incoming: %v", got)
	}
	if len(find(f.page, map[string]string{"data-filter": "incoming", "aria-pressed": "true"})) != 1 {
		t.Errorf("the incoming entry is not shown pressed")
	}
	click(t, f.disp, f.page, map[string]string{"data-filter": "incoming", "class": "legend-item"})
	if got := rowOrder(f); len(got) != 2 {
		t.Errorf("a second click does not show all again: %v", got)
	}
	click(t, f.disp, f.page, map[string]string{"data-filter": "reconciled", "class": "legend-item"})
	ended := find(f.page, map[string]string{"class": "ended-row cat-reconciled"})
	if len(ended) != 1 || len(find(f.page, map[string]string{"class": "ended-row cat-timeout"})) != 0 {
		t.Errorf("the ended list does not keep the reconciled call alone:\n%s", f.html())
	}
}

// TestDialogFollowsItsCall: a reject dialog whose call was answered
// elsewhere says so, offers only Close, and sends nothing.
func TestDialogFollowsItsCall(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	c := call("r1", calls.Incoming, t0.Add(-time.Second))
	f.snapshot(c)
	click(t, f.disp, f.page, map[string]string{"data-action": "reject", "data-call-id": "r1"})
	c.State, c.AnsweredAt = calls.Established, t0
	f.update(c)
	html := f.html()
	if !strings.Contains(html, "The call changed meanwhile") || len(find(f.page, map[string]string{"data-reason": "busy"})) != 0 {
		t.Fatalf("the dialog does not say its call changed:\n%s", html)
	}
	if first := find(f.page, map[string]string{"id": "dialog-first"}); len(first) != 1 || !strings.Contains(app.HTMLString(first[0].ui), "Close") {
		t.Errorf("the dialog's first control is not Close")
	}
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) {
		f.page.Confirm(ctx, "r1", verbs.Reject, console.RejectBusy)
	}})
	f.disp.Consume()
	if got := f.api.actions(); len(got) != 0 {
		t.Errorf("a reject of an answered call was sent: %q", got)
	}
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	if len(find(f.page, map[string]string{"role": "dialog"})) != 0 {
		t.Errorf("Close did not close the dialog")
	}
}

func TestEndedRowNamesTheRejectReason(t *testing.T) {
	f := newFixture(t, console.Viewer)
	c := endedCall("r1", 0, 0)
	c.Result, c.EndedBy, c.EndAction = nil, "alice", verbs.Reject
	c.LastAction = &calls.Action{Verb: verbs.Reject, Reason: "busy", Actor: "alice", Status: 202}
	f.snapshot(c)
	html := app.HTMLString(find(f.page, map[string]string{"id": "ended-r1"})[0].ui)
	for _, want := range []string{"rejected by alice (busy)", "Rejected as busy"} {
		if !strings.Contains(html, want) {
			t.Errorf("the ended row lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "no resultInfo") || strings.Contains(html, "Graph said") {
		t.Errorf("the ended row carries noise:\n%s", html)
	}
}

// TestSavedViewRestoresStaleAndIsForgottenAtLogout: the view a page saved
// shows on the next load, marked stale with its actions off, and logging
// out deletes it.
func TestSavedViewRestoresStaleAndIsForgottenAtLogout(t *testing.T) {
	saved := &memSaved{}
	f := newFixture(t, console.Supervisor)
	f.page.env.Saved = saved
	f.snapshot(call("a", calls.Incoming, t0.Add(-time.Second)))
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) {
		f.page.user, f.page.userKnown = console.User{Name: "alice", Role: console.Supervisor}, true
		f.page.maybeSave(ctx)
	}})
	f.disp.Consume()
	if saved.data == nil {
		t.Fatal("the view was not saved")
	}

	now := func() time.Time { return t0.Add(time.Minute) }
	next := NewPage(&Env{API: f.page.env.API, Inbox: console.NewInbox(now), Now: now, Saved: saved})
	d := app.NewClientTester(next)
	defer d.Close()
	d.Consume()
	if got := len(find(next, map[string]string{"class": "row", "data-call-id": "a"})); got != 1 {
		t.Fatalf("the reloaded page shows %d rows of the saved call, want 1", got)
	}
	if len(find(next, map[string]string{"id": "switchboard", "data-stale": "true"})) != 1 || !strings.Contains(app.HTMLString(next), "Offline copy") {
		t.Errorf("the restored view is not marked stale:\n%s", app.HTMLString(next))
	}
	if b := find(next, map[string]string{"data-action": "answer", "data-call-id": "a"}); len(b) != 1 || b[0].attrs["disabled"] != "true" {
		t.Errorf("the restored row's Answer is not disabled: %v", b)
	}
	d.Dispatch(app.Dispatch{Mode: app.Update, Source: next, Function: func(ctx app.Context) { next.Logout(ctx) }})
	d.Consume()
	if saved.data != nil {
		t.Error("logging out kept the saved view")
	}
}
