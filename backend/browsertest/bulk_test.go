package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"switchboard/backend/graphsim"
)

// pickSel selects a live row's checkbox.
func pickSel(id string) string { return fmt.Sprintf(`input.pick[data-call-id=%q]`, id) }

// shiftClick clicks, with the mouse and Shift held, the first visible
// element sel matches.
func (p *page) shiftClick(sel string) {
	p.tb.Helper()
	p.do("shift-click "+sel, chromedp.QueryAfter(chromedp.CSS(sel),
		func(ctx context.Context, t *chromedp.Target, nodes []*chromedp.Node) (chromedp.Void, error) {
			return chromedp.MouseClickNode(nodes[0], chromedp.ButtonModifiers(chromedp.ModifierShift))(ctx, t)
		}, chromedp.NodeVisible))
}

// picked lists the calls whose checkboxes are checked, top to bottom.
func (p *page) picked() []string {
	p.tb.Helper()
	var ids []string
	p.eval(`Array.from(document.querySelectorAll("#live-calls input.pick:checked"), b => b.dataset.callId)`, &ids)
	return ids
}

func TestBulkHangUpInTheConsole(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)

	var talking []string
	for i := range 5 {
		id, err := s.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: fmt.Sprintf("Talking %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		talking = append(talking, id)
	}
	// A call Switchboard heard of but Graph does not know: its hang-up
	// fails at Graph, and the row says so.
	const ghost = "6a0c4e2d-3b1f-4d5e-9a8b-7c6d5e4f3a2b"
	if err := s.post(ctx, http.DefaultClient, envelope([]notification{created(ghost, "Ghost")})); err != nil {
		t.Fatal(err)
	}
	want := map[string]shownRow{ghost: {"incoming", "Ghost"}}
	for i, id := range talking {
		want[id] = shownRow{"established", fmt.Sprintf("Talking %d", i)}
	}
	p.waitJS("six live rows", liveStatesAre(want), stepTimeout)

	// Each checkbox is named after its call.
	var label string
	p.eval(fmt.Sprintf(`document.querySelector(%q).getAttribute("aria-label")`, pickSel(ghost)), &label)
	if label != "Select the call from Caller 3a2b" {
		t.Errorf("the ghost's checkbox is named %q", label)
	}

	// A click, then a shift-click, picks every row between them.
	rows := p.liveRows()
	order := make([]string, len(rows))
	for i, r := range rows {
		order[i] = r.ID
	}
	from, to := slices.Index(order, talking[3]), slices.Index(order, talking[1])
	if from < 0 || to < 0 || from >= to {
		t.Fatalf("live rows in order %v: want talking 3 above talking 1 (newest first)", order)
	}
	p.click(pickSel(talking[3]))
	p.shiftClick(pickSel(talking[1]))
	p.waitJS("the range picked", fmt.Sprintf(`document.querySelectorAll("#live-calls input.pick:checked").length === %d`, to-from+1), stepTimeout)
	if got := p.picked(); !slices.Equal(got, order[from:to+1]) {
		t.Fatalf("picked %v after a shift-click, want the range %v", got, order[from:to+1])
	}
	// The keyboard picks too: Space on a focused checkbox.
	p.do("focus the ghost's checkbox", chromedp.Focus(chromedp.CSS(pickSel(ghost))))
	p.do("press Space", chromedp.KeyEvent(" "))
	p.waitJS("the ghost picked", fmt.Sprintf(`document.querySelector(%q).checked`, pickSel(ghost)), stepTimeout)
	p.waitJS("the bar counting four", `document.querySelector("#bulk-count").textContent === "4 calls selected (3 established, 1 incoming)"`, stepTimeout)

	// One confirmation, saying how many and in which states; Escape
	// closes it and gives the focus back.
	p.click("#bulk-hangup")
	p.waitJS("the bulk dialog", `document.querySelector("#dialog")?.dataset.verb === "bulk-hangup" &&
		document.querySelector("#dialog-title").textContent === "Hang up 4 calls?" &&
		document.querySelector("#dialog-call").textContent === "4 calls: 3 established, 1 incoming." &&
		document.activeElement?.id === "dialog-first" && document.querySelector(".shell").inert`, stepTimeout)
	p.do("press Escape", chromedp.KeyEvent(kb.Escape))
	p.waitJS("the dialog closed, the focus on the bar's button", `!document.querySelector("#dialog") &&
		document.activeElement?.id === "bulk-hangup"`, stepTimeout)
	if n := len(s.actions(0)); n != 0 {
		t.Fatalf("Graph was asked %d times before the confirmation", n)
	}

	p.click("#bulk-hangup")
	p.waitJS("the bulk dialog again", `document.activeElement?.id === "dialog-first"`, stepTimeout)
	p.click("#dialog-first")
	for _, id := range order[from : to+1] {
		s.waitAction(http.MethodDelete, id, "")
	}
	s.waitAction(http.MethodDelete, ghost, "")
	p.waitJS("the bar saying how it went", `document.querySelector("#bulk-result").textContent ===
		"Hung up 3 calls; 1 could not be: each says why on its row"`, stepTimeout)
	p.waitJS("the ghost's row saying why", fmt.Sprintf(`document.querySelector(%q)?.textContent.includes(
		"Could not hang up: Graph no longer knows this call; it has ended")`, rowSel(ghost)+" .op-error"), stepTimeout)
	for _, id := range order[from : to+1] {
		p.waitJS("a hung-up call in Recently ended", fmt.Sprintf(`!document.querySelector(%q) &&
			document.querySelector(%q)?.textContent === "hung up by alice"`, rowSel(id), endedSel(id)+" .ended-by"), stepTimeout)
	}
	for _, r := range s.actions(0) {
		if r.Method == http.MethodDelete && !slices.Contains(order[from:to+1], r.CallID) && r.CallID != ghost {
			t.Fatalf("Graph was asked to hang up %s, which was not picked", r.CallID)
		}
	}
	if got := p.picked(); len(got) != 0 {
		t.Fatalf("still picked after the hang-up: %v", got)
	}
	p.screenshot(t.Name() + "-outcomes")

	// "Select all filtered" picks what the search keeps, and only that.
	p.do("search", chromedp.SendKeys(`.filters input[type=search]`, "Talking"))
	p.waitJS("two rows kept", `document.querySelectorAll("#live-calls tr.row").length === 2`, stepTimeout)
	p.click("#pick-all")
	p.waitJS("both picked", `document.querySelectorAll("#live-calls input.pick:checked").length === 2 &&
		document.querySelector("#bulk-count").textContent === "2 calls selected (2 established)"`, stepTimeout)
	p.click("#pick-none")
	p.waitJS("none picked", `document.querySelector("#bulk-count").textContent === "No call selected" &&
		document.activeElement?.id === "pick-all"`, stepTimeout)
	if strings.Contains(fmt.Sprint(p.picked()), ghost) {
		t.Fatal("the ghost, hidden by the search, was picked")
	}
}
