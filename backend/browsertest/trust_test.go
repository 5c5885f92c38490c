package browsertest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"switchboard/backend/graphsim"
)

// The trust points of the console: what a supervisor with one hand on the
// keyboard relies on.

// TestCloseKeepsYouSignedIn: the detail panel opens without moving the
// page, its Close button is never under the header, and a mouse click on
// it closes the panel and nothing else.
func TestCloseKeepsYouSignedIn(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)
	var ids []string
	for i := range 25 { // more than a screen, so the page could scroll
		id, err := s.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: fmt.Sprintf("Call %02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	p.waitJS("the rows", fmt.Sprintf(`document.querySelectorAll("#live-calls tr.row").length === %d`, len(ids)), stepTimeout)
	target := ids[3] // near the bottom of the page
	p.eval(`window.scrollTo(0, document.body.scrollHeight); true`, new(bool))
	var before float64
	p.eval(`scrollY`, &before)
	p.click(button("details", target))
	p.waitJS("the detail panel of the call", fmt.Sprintf(`document.querySelector("#detail")?.dataset.callId === %q &&
		document.activeElement?.id === "detail-close"`, target), stepTimeout)
	var got struct {
		Scroll float64
		OnTop  bool // the Close button is what a click at its centre hits
		Below  bool // it is below the header
	}
	p.eval(`(() => { const b = document.querySelector("#detail-close").getBoundingClientRect();
		const h = document.querySelector("header.top").getBoundingClientRect();
		return {scroll: scrollY, onTop: document.elementFromPoint(b.x + b.width/2, b.y + b.height/2)?.id === "detail-close",
			below: b.top >= h.bottom}; })()`, &got)
	if got.Scroll != before {
		t.Errorf("opening the details scrolled the page from %v to %v", before, got.Scroll)
	}
	if !got.OnTop || !got.Below {
		t.Errorf("the Close button is covered (on top %v) or under the header (below it %v)", got.OnTop, got.Below)
	}
	p.click("#detail-close")
	p.waitJS("the panel closed, the focus back on the call's Details", fmt.Sprintf(`!document.querySelector("#detail") &&
		document.activeElement?.dataset.callId === %q && document.activeElement?.dataset.action === "details"`, target), stepTimeout)
	var status int
	p.eval(`fetch("/api/me", {credentials: "same-origin"}).then(r => r.status)`, &status)
	var where string
	p.eval(`location.pathname + " " + document.querySelector("#switchboard").dataset.conn`, &where)
	if status != http.StatusOK || where != "/ live" {
		t.Errorf("after Close: /api/me %d, page %q; want a signed-in, live console", status, where)
	}
}

// TestFocusStaysWithItsCall: a focused button keeps acting on its call
// while newer calls push its row down, and Enter acts on that call.
func TestFocusStaysWithItsCall(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)
	var live []string
	start := func(subject string) string {
		t.Helper()
		id, err := s.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, id)
		p.waitLiveOrder(live)
		return id
	}
	start("older")
	target := start("the one in focus")
	p.eval(fmt.Sprintf(`document.querySelector(%q).focus(); true`, button("hangup", target)), new(bool))
	for i := range 3 { // each pushes the focused row down one place
		start(fmt.Sprintf("newer %d", i))
		var focused struct{ CallID, Action string }
		p.eval(`({callID: document.activeElement?.dataset.callId ?? "", action: document.activeElement?.dataset.action ?? ""})`, &focused)
		if focused.CallID != target || focused.Action != "hangup" {
			t.Fatalf("after a newer call arrived the focus is on %s of %q, want hangup of %q", focused.Action, focused.CallID, target)
		}
	}
	mark := len(s.sim.Requests())
	p.do("press Enter", chromedp.KeyEvent(kb.Enter))
	p.waitJS("the hang-up dialog of the focused call", fmt.Sprintf(`document.querySelector("#dialog")?.dataset.callId === %q`, target), stepTimeout)
	p.do("confirm with Enter", chromedp.KeyEvent(kb.Enter))
	s.waitAction(http.MethodDelete, target, "")
	if acts := s.actions(mark); len(acts) != 1 || acts[0].CallID != target {
		t.Errorf("Enter asked Graph %s, want only the hang-up of %s", describe(acts), target)
	}
}

// TestDialogsTrapFocusAndReturnIt: Tab and Shift+Tab never leave an open
// dialog, the page behind is inert, Escape closes it, and the focus goes
// back to the button that opened it.
func TestDialogsTrapFocusAndReturnIt(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)
	ringing, _ := ringingAndTalking(ctx, t, s)
	p.waitJS("the ringing row", liveStatesAre(map[string]shownRow{ringing: {"incoming", "Ringing"}}), stepTimeout)

	p.eval(fmt.Sprintf(`document.querySelector(%q).focus(); true`, button("reject", ringing)), new(bool))
	p.do("open the dialog with the keyboard", chromedp.KeyEvent(kb.Enter))
	p.waitJS("the reject dialog, focused", `document.querySelector("#dialog") && document.querySelector("#dialog").contains(document.activeElement)`, stepTimeout)
	var inert bool
	p.eval(`document.querySelector(".shell").inert === true`, &inert)
	if !inert {
		t.Error("the page behind the dialog is not inert")
	}
	var seen []string
	for i := range 12 { // six Tabs, then six Shift+Tabs
		if i < 6 {
			p.do("Tab", chromedp.KeyEvent(kb.Tab))
		} else {
			p.do("Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		}
		var where string
		p.eval(`document.querySelector("#dialog").contains(document.activeElement) ?
			(document.activeElement.id || document.activeElement.dataset.reason || document.activeElement.textContent) : "OUTSIDE " + document.activeElement?.outerHTML.slice(0, 80)`, &where)
		if strings.HasPrefix(where, "OUTSIDE") {
			t.Fatalf("after %d Tab presses the focus left the dialog: %s", i+1, where)
		}
		seen = append(seen, where)
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(seen))); len(distinct) < 3 {
		t.Errorf("Tab did not move through the dialog's controls: %v", seen)
	}
	p.do("press Escape", chromedp.KeyEvent(kb.Escape))
	p.waitJS("the dialog closed, the focus back on the Reject button", fmt.Sprintf(`!document.querySelector("#dialog") &&
		document.activeElement?.dataset.callId === %q && document.activeElement?.dataset.action === "reject"`, ringing), stepTimeout)
}

// TestADialogFollowsItsCall: a reject dialog whose call is answered
// elsewhere says so and sends nothing.
func TestADialogFollowsItsCall(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)
	ringing, talking := ringingAndTalking(ctx, t, s)
	// Both rows first: the talking call's row, newer, comes in above the
	// ringing one and would move it under the pointer.
	p.waitJS("both rows", liveStatesAre(map[string]shownRow{ringing: {"incoming", "Ringing"}, talking: {"established", "Talking"}}), stepTimeout)
	p.openDialog("reject", ringing)
	mark := len(s.sim.Requests())
	if err := s.sim.Establish(ctx, ringing); err != nil { // answered elsewhere
		t.Fatal(err)
	}
	p.waitJS("the dialog saying the call changed", `document.querySelector("#dialog-gone")?.textContent.includes("changed meanwhile") &&
		!document.querySelector("#dialog button[data-reason]")`, stepTimeout)
	p.click("#dialog-first")
	p.waitJS("the dialog closed", `!document.querySelector("#dialog")`, stepTimeout)
	if acts := s.actions(mark); len(acts) != 0 {
		t.Errorf("Graph was asked %s", describe(acts))
	}
}

// TestOfflineReloadShowsTheLastRowsStale: reloaded while the server is
// down, the console shows the rows it last saw, marked stale with their
// actions off; it goes live again by itself; logging out forgets them.
func TestOfflineReloadShowsTheLastRowsStale(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)
	ringing, talking := ringingAndTalking(ctx, t, s)
	p.waitJS("the rows", liveStatesAre(map[string]shownRow{ringing: {"incoming", "Ringing"}, talking: {"established", "Talking"}}), stepTimeout)
	p.waitJS("the view saved in the browser and the service worker in charge", fmt.Sprintf(
		`(localStorage.getItem("switchboard.view") || "").includes(%q) && navigator.serviceWorker.controller`, talking), loadTimeout)

	s.stop()
	p.navigate(s.url + "/")
	p.waitJS("the saved rows, marked stale", fmt.Sprintf(`!document.getElementById("app-wasm-loader") &&
		document.querySelector("#switchboard")?.dataset.stale === "true" && document.querySelector(%q) && document.querySelector(%q)`,
		rowSel(ringing), rowSel(talking)), loadTimeout)
	var shown struct {
		Notice   string
		Disabled bool
		Conn     string
	}
	p.eval(fmt.Sprintf(`({notice: document.querySelector("#stale-notice").textContent,
		disabled: Array.from(document.querySelectorAll(%q)).every(b => b.disabled),
		conn: document.querySelector("#conn").textContent})`, `#live-calls button[data-action]:not([data-action=details])`), &shown)
	if !strings.Contains(shown.Notice, "may be out of date") || !shown.Disabled {
		t.Errorf("the offline copy says %q with actions disabled %v", shown.Notice, shown.Disabled)
	}
	p.screenshot(t.Name() + "-offline")

	s.restart()
	p.waitJS("the console live again", `document.querySelector("#switchboard")?.dataset.conn === "live" &&
		document.querySelector("#switchboard").dataset.stale === "false"`, loadTimeout)
	p.click("#logout")
	p.waitJS("the signed-out page", `location.pathname === "/auth/logged-out"`, stepTimeout)
	var kept bool
	p.eval(`localStorage.getItem("switchboard.view") !== null`, &kept)
	if kept {
		t.Error("logging out kept the saved view in the browser")
	}
}

// TestRowHeights: single-line rows on a desktop, compact cards on a phone.
func TestRowHeights(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)
	for i := range 24 {
		var err error
		if i%4 == 0 {
			_, err = s.sim.StartIncoming(ctx, graphsim.CallSpec{Subject: fmt.Sprintf("Ringing %d with a long subject that must not wrap", i)})
		} else {
			_, err = s.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: fmt.Sprintf("Talking %d", i)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	p.waitJS("the rows", `document.querySelectorAll("#live-calls tr.row").length === 24`, stepTimeout)
	for _, vp := range []struct {
		w, h       int64
		most       float64
		aboveFold  int
		screenName string
	}{
		{1440, 900, 44, 20, "desktop"},
		{390, 844, 120, 5, "phone"},
	} {
		p.do("size the screen", chromedp.EmulateViewport(vp.w, vp.h))
		time.Sleep(300 * time.Millisecond)
		var got struct {
			Median float64
			Fold   int
		}
		p.eval(`(() => { const rs = Array.from(document.querySelectorAll("#live-calls tr.row"));
			const hs = rs.map(r => r.getBoundingClientRect().height).sort((a, b) => a - b);
			return {median: hs[Math.floor(hs.length / 2)], fold: rs.filter(r => r.getBoundingClientRect().bottom <= innerHeight).length}; })()`, &got)
		if got.Median > vp.most || got.Fold < vp.aboveFold {
			t.Errorf("%s %dx%d: median row %.1f px (want ≤ %.0f), %d rows above the fold (want ≥ %d)",
				vp.screenName, vp.w, vp.h, got.Median, vp.most, got.Fold, vp.aboveFold)
		}
		p.screenshot(fmt.Sprintf("%s-%s", t.Name(), vp.screenName))
	}
}
