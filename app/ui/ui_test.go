package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/verbs"
)

func TestRowButtonsByRoleAndState(t *testing.T) {
	incoming := call("in", calls.Incoming, t0.Add(-3*time.Second))
	established := call("est", calls.Established, t0.Add(-time.Minute))
	terminating := call("term", calls.Terminating, t0.Add(-time.Minute))
	tests := []struct {
		name   string
		call   calls.Call
		canAct bool
		want   []string // data-action values of the row's controls: its checkbox, then its buttons
	}{
		{"incoming, supervisor", incoming, true, []string{"pick", "answer", "reject", "redirect", "hangup", "details"}},
		{"incoming, viewer", incoming, false, []string{"details"}},
		{"established, supervisor", established, true, []string{"pick", "transfer", "hangup", "details"}},
		{"established, viewer", established, false, []string{"details"}},
		{"terminating, supervisor", terminating, true, []string{"pick", "hangup", "details"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := &Row{Call: tt.call, Now: t0, CanAct: tt.canAct}
			d := app.NewClientTester(row)
			defer d.Close()
			var got []string
			for _, e := range elements(row) {
				if e.attrs["data-action"] != "" && e.attrs["data-call-id"] == tt.call.ID {
					got = append(got, e.attrs["data-action"])
					if e.attrs["aria-label"] == "" {
						t.Errorf("button %s has no aria-label", e.attrs["data-action"])
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("buttons = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRowShowsTheCall(t *testing.T) {
	c := call("c1", calls.Incoming, t0.Add(-4*time.Second))
	c.Source = calls.Party{Kind: "user", ID: "u-1", DisplayName: "Ada Lovelace"}
	c.Modalities = []string{"audio", "video", "videoBasedScreenSharing"}
	c.MarkedForDeletion = true
	row := &Row{Call: c, Now: t0, CanAct: true}
	d := app.NewClientTester(row)
	defer d.Close()
	html := app.HTMLString(row)
	for _, want := range []string{
		`data-call-id="c1"`, `class="state state-incoming"`, ">incoming<", // state as colour and word
		`aria-label="incoming"`,             // direction icon, labelled
		"Ada Lovelace", "u-1", "Front desk", // caller and callee
		"audio", "video", "screen sharing", "subject c1", // modalities, subject
		"answer within 11 seconds", "11 s", // 15 s deadline countdown
		"0:04", // duration on the server's clock
		"marked for deletion",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("row lacks %q:\n%s", want, html)
		}
	}
	late := &Row{Call: call("c2", calls.Incoming, t0.Add(-20*time.Second)), Now: t0}
	d2 := app.NewClientTester(late)
	defer d2.Close()
	if html := app.HTMLString(late); !strings.Contains(html, "deadline passed") {
		t.Errorf("a call past Graph's deadline does not say so:\n%s", html)
	}
}

func TestRowInFlightAndError(t *testing.T) {
	c := call("c1", calls.Established, t0.Add(-time.Minute))
	busy := &Row{Call: c, Now: t0, CanAct: true, Op: Op{Verb: verbs.HangUp, InFlight: true}}
	d := app.NewClientTester(busy)
	defer d.Close()
	b := find(busy, map[string]string{"data-action": "hangup"})
	if len(b) != 1 || b[0].attrs["disabled"] != "true" || !strings.Contains(app.HTMLString(busy), "Hanging up…") {
		t.Errorf("an in-flight hang up is not disabled: %v\n%s", b, app.HTMLString(busy))
	}
	failed := &Row{Call: c, Now: t0, CanAct: true, Op: Op{Verb: verbs.HangUp, Error: "Could not hang up: Graph refused: call not found"}}
	d2 := app.NewClientTester(failed)
	defer d2.Close()
	html := app.HTMLString(failed)
	if !strings.Contains(html, `role="alert"`) || !strings.Contains(html, "Graph refused: call not found") {
		t.Errorf("the failure is not shown on the row:\n%s", html)
	}
}

func TestEndedRowDecodesWhyTheCallEnded(t *testing.T) {
	hungUp := endedCall("h1", 200, 5001)
	hungUp.EndedBy, hungUp.EndAction = "alice", verbs.HangUp
	rejected := endedCall("r1", 200, 7000)
	rejected.EndedBy, rejected.EndAction = "bob", verbs.Reject
	ghost := endedCall("g1", 404, 8522)
	ghost.Reconciled = true
	marked := endedCall("m1", 408, 8537)
	marked.MarkedForDeletion = true
	tests := []struct {
		name string
		call calls.Call
		want []string
	}{
		{"hung up by a supervisor", hungUp, []string{"The conversation has ended.", "200/5001", "hung up by alice", "ended by the bot or a supervisor", "3:00"}},
		{"rejected", rejected, []string{"rejected by bob", "200/7000"}},
		{"ghost", ghost, []string{"Switchboard ended the call: Graph no longer knew it.", "ended by Switchboard (reconciled)", "404/8522", ">reconciled<"}},
		{"keep-alive timeout, marked", marked, []string{"Keep Alive timeout, cleaned up inactive call.", "408/8537", "timeout", "marked for deletion"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, console.Viewer)
			f.snapshot(tt.call)
			html := f.html()
			for _, w := range tt.want {
				if !strings.Contains(html, w) {
					t.Errorf("ended list lacks %q:\n%s", w, html)
				}
			}
		})
	}
}

func TestHiddenByRole(t *testing.T) {
	tests := []struct {
		role                   console.Role
		wantHangUp, wantDelete bool
		wantAudit              bool
	}{
		{console.Viewer, false, false, false},
		{console.Supervisor, true, false, false},
		{console.Admin, true, true, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			f := newFixture(t, tt.role)
			f.snapshot(call("live1", calls.Established, t0.Add(-time.Minute)), endedCall("gone1", 200, 4097))
			if got := len(find(f.page, map[string]string{"data-action": "hangup"})) == 1; got != tt.wantHangUp {
				t.Errorf("hang up shown = %v, want %v", got, tt.wantHangUp)
			}
			if got := len(find(f.page, map[string]string{"data-action": "delete"})) == 1; got != tt.wantDelete {
				t.Errorf("delete shown = %v, want %v", got, tt.wantDelete)
			}
			if got := len(find(f.page, map[string]string{"id": "audit"})) == 1; got != tt.wantAudit {
				t.Errorf("audit panel shown = %v, want %v", got, tt.wantAudit)
			}
		})
	}
}

// many returns n live calls started a second apart, newest last.
func many(n int) []calls.Call {
	out := make([]calls.Call, n)
	for i := range n {
		out[i] = call(fmt.Sprintf("c%05d", i), calls.Established, t0.Add(-time.Duration(n-i)*time.Second))
	}
	return out
}

func TestLiveTableMountsOnlyAWindow(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.snapshot(many(5000)...)
	rows := find(f.page, map[string]string{"class": "row"})
	if len(rows) != liveRows {
		t.Fatalf("%d rows mounted for 5,000 calls, want a window of %d", len(rows), liveRows)
	}
	if rows[0].attrs["data-call-id"] != "c04999" {
		t.Errorf("first row = %s, want the newest call", rows[0].attrs["data-call-id"])
	}
	if html := f.html(); !strings.Contains(html, fmt.Sprintf("1–%d of 5,000", liveRows)) {
		t.Errorf("the pager does not say where the window is")
	}
	click(t, f.disp, f.page, map[string]string{"data-action": "next", "aria-label": "Next page of live calls"})
	rows = find(f.page, map[string]string{"class": "row"})
	if want := fmt.Sprintf("c%05d", 4999-liveRows); len(rows) != liveRows || rows[0].attrs["data-call-id"] != want {
		t.Errorf("after Next: %d rows from %s, want %d from %s", len(rows), rows[0].attrs["data-call-id"], liveRows, want)
	}
}

func TestFilterAndSearch(t *testing.T) {
	f := newFixture(t, console.Viewer)
	in := call("in1", calls.Incoming, t0.Add(-2*time.Second))
	out := call("out1", calls.Established, t0.Add(-time.Minute))
	out.Direction = calls.DirectionOutgoing
	out.Subject = "Quarterly review"
	f.snapshot(in, out)
	tests := []struct {
		filter console.Filter
		want   []string
	}{
		{console.Filter{}, []string{"in1", "out1"}},
		{console.Filter{Direction: calls.DirectionOutgoing}, []string{"out1"}},
		{console.Filter{States: []calls.State{calls.Incoming}}, []string{"in1"}},
		{console.Filter{Search: "quarterly"}, []string{"out1"}},
		{console.Filter{Search: "nobody"}, nil},
	}
	for _, tt := range tests {
		f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) { f.page.SetFilter(ctx, tt.filter) }})
		f.disp.Consume()
		var got []string
		for _, r := range find(f.page, map[string]string{"class": "row"}) {
			got = append(got, r.attrs["data-call-id"])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %+v shows %v, want %v", tt.filter, got, tt.want)
		}
	}
}

// TestRowHandlersFollowTheirCall checks that a row's buttons act on the
// call the row shows when clicked, after calls were inserted above it and
// removed: go-app reuses row components by position.
func TestRowHandlersFollowTheirCall(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	a := call("a", calls.Incoming, t0.Add(-3*time.Second))
	b := call("b", calls.Incoming, t0.Add(-4*time.Second))
	c := call("c", calls.Incoming, t0.Add(-5*time.Second))
	f.snapshot(a, b, c) // rows: a, b, c
	answers := func() []element { return find(f.page, map[string]string{"data-action": "answer"}) }
	if got := answers(); len(got) != 3 || got[1].attrs["data-call-id"] != "b" {
		t.Fatalf("answer buttons = %v", got)
	}
	// Two newer calls arrive above; then "a" is answered elsewhere and ends.
	f.update(call("new1", calls.Incoming, t0.Add(-1*time.Second)))
	f.update(call("new2", calls.Incoming, t0.Add(-2*time.Second)))
	gone := a
	gone.State, gone.EndedAt = calls.Terminated, t0
	f.update(gone) // rows: new1, new2, b, c
	btn := answers()[1]
	if btn.attrs["data-call-id"] != "new2" {
		t.Fatalf("second row shows %s, want new2", btn.attrs["data-call-id"])
	}
	fire(t, f.disp, btn, "click")
	// The hang-up dialog opened from the fourth row targets "c", and keeps
	// targeting it while the table moves underneath.
	hang := find(f.page, map[string]string{"data-action": "hangup"})[3]
	fire(t, f.disp, hang, "click")
	f.update(call("new3", calls.Incoming, t0))
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	want := []string{"POST /api/calls/new2/answer", "DELETE /api/calls/c"}
	if got := f.api.actions(); !slices.Equal(got, want) {
		t.Errorf("the server was asked %q, want %q", got, want)
	}
}

func TestRejectAsksForAReason(t *testing.T) {
	tests := []struct {
		choice string
		want   string
	}{
		{"none", `POST /api/calls/r1/reject {"reason":"none"}`},
		{"busy", `POST /api/calls/r1/reject {"reason":"busy"}`},
		{"forbidden", `POST /api/calls/r1/reject {"reason":"forbidden"}`},
	}
	for _, tt := range tests {
		t.Run(tt.choice, func(t *testing.T) {
			f := newFixture(t, console.Supervisor)
			f.snapshot(call("r1", calls.Incoming, t0.Add(-time.Second)))
			click(t, f.disp, f.page, map[string]string{"data-action": "reject", "data-call-id": "r1", "class": "btn btn-small btn-reject"})
			if len(f.api.actions()) != 0 {
				t.Fatalf("reject was sent before a reason was chosen")
			}
			if html := f.html(); !strings.Contains(html, `role="dialog"`) || !strings.Contains(html, "14 s") {
				t.Fatalf("no reject dialog with the countdown:\n%s", html)
			}
			click(t, f.disp, f.page, map[string]string{"data-reason": tt.choice})
			if got := f.api.actions(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
			if len(find(f.page, map[string]string{"role": "dialog"})) != 0 {
				t.Errorf("the dialog stayed open")
			}
		})
	}
}

func TestHangUpNeedsConfirmation(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.snapshot(call("h1", calls.Established, t0.Add(-time.Minute)))
	click(t, f.disp, f.page, map[string]string{"data-action": "hangup", "class": "btn btn-small btn-hangup"})
	click(t, f.disp, f.page, map[string]string{"id": "dialog-cancel"})
	if got := f.api.actions(); len(got) != 0 {
		t.Fatalf("cancelled hang up sent %q", got)
	}
	click(t, f.disp, f.page, map[string]string{"data-action": "hangup", "class": "btn btn-small btn-hangup"})
	fire(t, f.disp, find(f.page, map[string]string{"role": "dialog"})[0], "keydown") // a key that is not Escape
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	if got := f.api.actions(); !slices.Equal(got, []string{"DELETE /api/calls/h1"}) {
		t.Errorf("sent %q", got)
	}
}

func TestFailuresAreShownOnTheRow(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.api.fail["POST /api/calls/x1/answer"] = apiFailure{http.StatusConflict, "conflict", "the call was already answered"}
	f.api.fail["DELETE /api/calls/x2"] = apiFailure{http.StatusBadGateway, "graph", "Graph refused: 8522 Call not found"}
	f.snapshot(call("x1", calls.Incoming, t0.Add(-time.Second)), call("x2", calls.Established, t0.Add(-time.Minute)))
	click(t, f.disp, f.page, map[string]string{"data-action": "answer", "data-call-id": "x1"})
	click(t, f.disp, f.page, map[string]string{"data-action": "hangup", "data-call-id": "x2", "class": "btn btn-small btn-hangup"})
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	for id, want := range map[string]string{
		"x1": "Could not answer: the call was already answered",
		"x2": "Could not hang up: Graph refused: 8522 Call not found",
	} {
		errs := find(f.page, map[string]string{"class": "op-error", "data-call-id": id})
		if len(errs) != 1 || !strings.Contains(app.HTMLString(errs[0].ui), want) {
			t.Errorf("row %s does not say %q:\n%s", id, want, f.html())
		}
	}
	if b := find(f.page, map[string]string{"data-action": "answer", "data-call-id": "x1"}); b[0].attrs["disabled"] == "true" {
		t.Errorf("the button stays disabled after the failure")
	}
}

func TestActionInFlightDisablesItsButton(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.snapshot(call("x1", calls.Incoming, t0.Add(-time.Second)))
	btn := find(f.page, map[string]string{"data-action": "answer", "data-call-id": "x1"})[0]
	h := handler(t, btn, "click")
	// Run the handler and render before the answer comes back.
	f.disp.Dispatch(app.Dispatch{Mode: app.Next, Source: btn.ui, Function: func(ctx app.Context) {
		h(ctx, app.Event{Value: app.Null()})
		if op := f.page.ops["x1"]; !op.InFlight || op.Verb != verbs.Answer {
			t.Errorf("op right after the click = %+v, want answer in flight", op)
		}
		h(ctx, app.Event{Value: app.Null()}) // a second click while in flight
	}})
	f.disp.Consume()
	if got := f.api.actions(); !slices.Equal(got, []string{"POST /api/calls/x1/answer"}) {
		t.Errorf("sent %q, want one answer", got)
	}
	if _, ok := f.page.ops["x1"]; ok {
		t.Errorf("op still held after success: %+v", f.page.ops["x1"])
	}
}

func TestDetailPanelShowsTheWholeCall(t *testing.T) {
	f := newFixture(t, console.Viewer)
	c := call("d1", calls.Established, t0.Add(-2*time.Minute))
	c.ChainID, c.MeetingID, c.MyParticipantID = "chain-9", "meet-7", "me-3"
	c.Targets = append(c.Targets, calls.Party{Kind: "phone", ID: "+4930123", Phone: "+4930123"})
	f.api.events["d1"] = []console.EventEntry{
		{Seq: 3, Event: calls.Event{Kind: calls.KindNotification, CallID: "d1", At: t0, Change: &calls.Change{ChangeType: "created", State: calls.Incoming}}},
		{Seq: 4, Event: calls.Event{Kind: calls.KindAction, CallID: "d1", At: t0, Action: &calls.Action{Verb: verbs.Answer, Actor: "alice", Status: 202}}},
	}
	f.snapshot(c)
	click(t, f.disp, f.page, map[string]string{"data-action": "details", "data-call-id": "d1"})
	html := app.HTMLString(find(f.page, map[string]string{"id": "detail"})[0].ui)
	for _, want := range []string{"chain-9", "meet-7", "me-3", "+4930123", "Front desk", "incoming call", "answer by alice: accepted"} {
		if !strings.Contains(html, want) {
			t.Errorf("detail lacks %q:\n%s", want, html)
		}
	}
	click(t, f.disp, f.page, map[string]string{"id": "detail-close"})
	if len(find(f.page, map[string]string{"id": "detail"})) != 0 {
		t.Errorf("the detail panel did not close")
	}
}

func TestStaleWhenNotLive(t *testing.T) {
	f := newFixture(t, console.Viewer)
	f.snapshot(call("s1", calls.Established, t0.Add(-time.Minute)))
	if html := f.html(); !strings.Contains(html, `class="stale-notice quiet"`) || len(find(f.page, map[string]string{"id": "switchboard", "data-stale": "false"})) != 1 ||
		len(find(f.page, map[string]string{"data-action": "hangup", "disabled": "true"})) != 0 {
		t.Fatalf("a live console is marked stale:\n%s", html)
	}
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(app.Context) {
		f.page.conn = console.Status{State: console.Reconnecting, Reason: "the server is restarting", Retry: time.Second}
	}})
	f.disp.Consume()
	html := f.html()
	if len(find(f.page, map[string]string{"id": "switchboard", "data-stale": "true"})) != 1 {
		t.Errorf("the page is not marked stale")
	}
	for _, want := range []string{`class="stale-notice"`, `class="calls stale"`, "conn-reconnecting", "Reconnecting",
		`data-call-id="s1"`, "actions are off"} {
		if !strings.Contains(html, want) {
			t.Errorf("a reconnecting console lacks %q:\n%s", want, html[:min(len(html), 400)])
		}
	}
}

// TestStaleRowsDisableTheirActions: a supervisor's stale rows offer their
// buttons disabled, and a request that still comes (a key press) sends
// nothing.
func TestStaleRowsDisableTheirActions(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.snapshot(call("s1", calls.Incoming, t0.Add(-time.Second)))
	if b := find(f.page, map[string]string{"data-action": "answer", "data-call-id": "s1"}); len(b) != 1 || b[0].attrs["disabled"] != "" {
		t.Fatalf("a live row's Answer is missing or disabled: %v", b)
	}
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(app.Context) {
		f.page.conn = console.Status{State: console.Offline, Reason: "connection lost"}
	}})
	f.disp.Consume()
	for _, verb := range []string{"answer", "reject", "redirect", "hangup"} {
		b := find(f.page, map[string]string{"data-action": verb, "data-call-id": "s1"})
		if len(b) != 1 || b[0].attrs["disabled"] != "true" {
			t.Errorf("the stale row's %s button is not disabled: %v", verb, b)
		}
	}
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) { f.page.Request(ctx, "s1", verbs.Answer) }})
	f.disp.Consume()
	if got := f.api.actions(); len(got) != 0 {
		t.Errorf("a stale console sent %q", got)
	}
}

func TestProbeSeesRenderedRows(t *testing.T) {
	f := newFixture(t, console.Viewer)
	f.snapshot(many(60)...)
	f.update(call("c00059", calls.Hold, t0.Add(-time.Second)))    // on the first page
	f.update(call("c00001", calls.Hold, t0.Add(-59*time.Second))) // off the window
	last := f.probe.rows[len(f.probe.rows)-1]
	if f.probe.seq != f.seq || len(f.probe.rows) != 3 {
		t.Fatalf("probe at %d after %d flushes, want %d after 3", f.probe.seq, len(f.probe.rows), f.seq)
	}
	if len(last) != 0 {
		t.Errorf("an update off the window was reported rendered: %v", last)
	}
	if prev := f.probe.rows[1]; len(prev) != 1 || prev["c00059"] != f.seq-1 {
		t.Errorf("rendered rows = %v, want c00059 at %d", prev, f.seq-1)
	}
}

func TestSummaryBar(t *testing.T) {
	sum := console.Summary{Live: 3, ByState: []console.StateCount{{State: calls.Incoming, Count: 1}, {State: calls.Established, Count: 2}, {State: calls.Hold}},
		Ended: 1, EndedByCategory: []console.CategoryCount{{Category: "timeout", Count: 1}}}
	bar := &SummaryBar{Summary: sum}
	d := app.NewClientTester(bar)
	defer d.Close()
	html := app.HTMLString(bar)
	for _, want := range []string{"<svg", `aria-label="Live calls by state: incoming 1, established 2"`, `width="400.0"`,
		"3 live", "1 ended in the last hour", "timeout: 1", `data-filter="incoming"`, `aria-pressed="false"`} {
		if !strings.Contains(html, want) {
			t.Errorf("summary lacks %q:\n%s", want, html)
		}
	}
}

func TestPrerenderedShell(t *testing.T) {
	page := &Page{}
	d := app.NewServerTester(page)
	defer d.Close()
	html := app.HTMLString(page)
	for _, want := range []string{`id="switchboard"`, "Live calls", "Recently ended", "Connecting", "Waiting for the live calls…"} {
		if !strings.Contains(html, want) {
			t.Errorf("prerendered page lacks %q:\n%s", want, html)
		}
	}
	if !strings.Contains(html, `id="conn"`) || !strings.Contains(html, `id="logout"`) || !strings.Contains(html, `class="stale-notice quiet"`) {
		t.Errorf("the prerendered header or notice line is missing; the mounted page would move:\n%s", html)
	}
}

func TestHandlerServesAnInstallableApp(t *testing.T) {
	Routes()
	h := Handler("build-1234")
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (string, http.Header) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		if _, err := fmt.Fprint(&b, readAll(t, resp)); err != nil {
			t.Fatal(err)
		}
		return b.String(), resp.Header
	}
	manifest, hdr := get("/manifest.webmanifest")
	if hdr.Get("ETag") != `"build-1234"` {
		t.Errorf("ETag = %q, want the build version", hdr.Get("ETag"))
	}
	for _, want := range []string{`"name": "Switchboard"`, `"/web/icon-192.png"`, `"/web/icon-512.png"`, `"/web/icon.svg"`, `"theme_color": "` + themeColor} {
		if !strings.Contains(manifest, want) {
			t.Errorf("manifest lacks %s:\n%s", want, manifest)
		}
	}
	if strings.Contains(manifest, "githubusercontent") {
		t.Errorf("the manifest points to icons on the internet")
	}
	page, _ := get("/")
	for _, want := range []string{"Switchboard — live calls", "/web/app.css", `id="switchboard"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	worker, _ := get("/app-worker.js")
	if !strings.Contains(worker, "build-1234") || !strings.Contains(worker, "/web/app.wasm") {
		t.Errorf("the service worker does not cache this build's app")
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for range 1000 {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
