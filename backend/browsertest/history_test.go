package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/backend/graphsim"
)

// TestHistoryFindsAnEndedCallAndExportsIt: a call that ended is found in
// the History view by its number, its whole history opens on a click, and
// the CSV link of the filters returns it.
func TestHistoryFindsAnEndedCallAndExportsIt(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "victor") // a viewer: history is for every role that sees calls
	ctx := testContext(t)
	const number = "+14255550177"
	id, err := s.sim.StartIncoming(ctx, graphsim.CallSpec{Source: graphsim.Party{Kind: graphsim.PartyPhone, ID: number}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.sim.StartIncoming(ctx, graphsim.CallSpec{Source: graphsim.Party{Kind: graphsim.PartyPhone, ID: "+14255550999"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{id, other} {
		if err := s.sim.RemoteHangUp(ctx, c, 200, 5001); err != nil {
			t.Fatal(err)
		}
	}
	p.waitJS("the calls in Recently ended", fmt.Sprintf(`document.querySelector(%q) && document.querySelector(%q)`,
		endedSel(id), endedSel(other)), stepTimeout)

	p.click("#nav-history")
	p.waitJS("the History view", `location.pathname === "/history" && document.querySelector("#history-filters")`, loadTimeout)
	p.do("type the number as people write it",
		chromedp.SendKeys(chromedp.CSS("#history-party"), "425 555 0177"),
		chromedp.Click(chromedp.CSS("#history-search"), chromedp.NodeVisible),
	)
	// The writer archives ended calls a few times a second: search again
	// until the call is there.
	found := fmt.Sprintf(`document.querySelectorAll("#history-table tbody tr").length === 1 &&
		document.querySelector("#history-table tbody tr")?.dataset.callId === %q`, id)
	for range 40 {
		var ok bool
		p.eval("!!("+found+")", &ok)
		if ok {
			break
		}
		time.Sleep(250 * time.Millisecond)
		p.click("#history-search")
	}
	p.waitJS("the call found by its number, alone", found, stepTimeout)
	p.screenshot(t.Name())

	p.click(fmt.Sprintf(`#history-table button[data-action=history][data-call-id=%q]`, id))
	p.waitJS("the call's whole history", `document.querySelector("#history-events")?.textContent.includes("ended")`, stepTimeout)

	var csv struct {
		Status int
		Body   string
	}
	p.eval(`fetch(document.querySelector("#history-csv").href, {credentials: "same-origin"}).
		then(async r => ({status: r.status, body: await r.text()}))`, &csv)
	lines := strings.Split(strings.TrimSpace(csv.Body), "\n")
	if csv.Status != 200 || len(lines) != 2 || !strings.Contains(lines[1], id) || !strings.Contains(lines[1], "'"+number) {
		t.Fatalf("the CSV link answered %d:\n%s", csv.Status, csv.Body)
	}
	p.click("#nav-live")
	p.waitConsole("victor")
}
