package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/backend/graphsim"
)

func TestLoginShowsTheConsole(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)

	// Signed out, the console sends the browser to /auth/login, which sends
	// it to the provider with an authorization request.
	p.navigate(s.url + "/")
	p.waitJS("the identity provider's sign-in form",
		`location.pathname.startsWith("/idp/") && new URLSearchParams(location.search).get("authRequestID") &&
			document.querySelector("input[name=username]") && document.querySelector("input[name=password]")`, loadTimeout)
	p.do("fill in the sign-in form",
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), "alice"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), "alice"),
	)
	p.click("#login")
	p.waitConsole("alice")

	var got struct{ Name, Role, Conn, Path string }
	p.eval(`({name: document.querySelector(".who .user").firstChild.textContent,
		role: document.querySelector(".who .user .role").textContent,
		conn: document.querySelector("#conn .conn-word").textContent,
		path: location.pathname})`, &got)
	want := struct{ Name, Role, Conn, Path string }{"alice", "supervisor", "Live", "/"}
	if got != want {
		t.Fatalf("after signing in the console shows %+v, want %+v", got, want)
	}
}

func TestCallsAppear(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)

	tests := []struct {
		subject string
		start   func(spec graphsim.CallSpec) (string, error)
		want    string // the state word on the row
	}{
		{"Ringing for the bot", func(spec graphsim.CallSpec) (string, error) {
			return s.sim.StartIncoming(ctx, spec)
		}, "incoming"},
		{"Answered", func(spec graphsim.CallSpec) (string, error) {
			id, err := s.sim.StartIncoming(ctx, spec)
			if err != nil {
				return "", err
			}
			return id, s.sim.Establish(ctx, id)
		}, "established"},
		{"Placed by the bot", func(spec graphsim.CallSpec) (string, error) {
			return s.sim.StartOutgoing(ctx, spec)
		}, "established"},
		{"On hold", func(spec graphsim.CallSpec) (string, error) {
			id, err := s.sim.StartOutgoing(ctx, spec)
			if err != nil {
				return "", err
			}
			return id, s.sim.Hold(ctx, id, true)
		}, "hold"},
	}
	want := map[string]shownRow{}
	for _, tt := range tests {
		id, err := tt.start(graphsim.CallSpec{Subject: tt.subject})
		if err != nil {
			t.Fatalf("%s: %v", tt.subject, err)
		}
		want[id] = shownRow{State: tt.want, Subject: tt.subject}
	}
	p.waitJS("every call's row with its state", liveStatesAre(want), stepTimeout)
	got := p.liveRows()
	if len(got) != len(want) {
		t.Errorf("the live table shows %d rows, want %d", len(got), len(want))
	}
	for _, r := range got {
		if w := want[r.ID]; r.State != w.State || r.Subject != w.Subject {
			t.Errorf("row %s shows %q %q, want %q %q", r.ID, r.State, r.Subject, w.State, w.Subject)
		}
	}
	// The incoming call counts down Graph's 15 seconds; it never shows more.
	var countdown struct {
		Label string
		Meter float64
	}
	p.eval(`({label: document.querySelector("tr.row[data-state=incoming] .countdown").getAttribute("aria-label"),
		meter: document.querySelector("tr.row[data-state=incoming] .countdown meter").value})`, &countdown)
	var secs int
	if _, err := fmt.Sscanf(countdown.Label, "answer within %d seconds", &secs); err != nil || secs < 1 || secs > 15 || countdown.Meter != float64(secs) {
		t.Errorf("the incoming call's countdown says %q (meter %v), want between 1 and 15 seconds", countdown.Label, countdown.Meter)
	}
	// States show as colours too: the stylesheet's, which the
	// Content-Security-Policy allows (it refuses inline styles).
	colours := map[string]string{}
	p.eval(`Object.fromEntries(["incoming", "established", "hold"].map(s =>
		[s, getComputedStyle(document.querySelector("tr.row[data-state=" + s + "] .state")).backgroundColor]))`, &colours)
	for state, want := range map[string]string{"incoming": "rgb(245, 158, 11)", "established": "rgb(34, 197, 94)", "hold": "rgb(167, 139, 250)"} {
		if colours[state] != want {
			t.Errorf("the %s badge is %q, want %q", state, colours[state], want)
		}
	}
}

func TestRejectBusy(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)

	id, err := s.sim.StartIncoming(ctx, graphsim.CallSpec{Subject: "Reject me"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.sim.StartIncoming(ctx, graphsim.CallSpec{Subject: "Leave me ringing"})
	if err != nil {
		t.Fatal(err)
	}
	p.waitJS("both incoming rows", liveStatesAre(map[string]shownRow{
		id: {State: "incoming", Subject: "Reject me"}, other: {State: "incoming", Subject: "Leave me ringing"}}), stepTimeout)

	mark := len(s.sim.Requests())
	p.openDialog("reject", id)
	p.click(`#dialog button[data-reason=busy]`)

	req := s.waitAction(http.MethodPost, id, "/reject")
	var body struct{ Reason string }
	if err := json.Unmarshal(req.Body, &body); err != nil || !strings.EqualFold(body.Reason, "busy") {
		t.Fatalf("Graph was asked to reject with %s, want reason busy (%v)", req.Body, err)
	}
	// The ended row names who rejected it and why.
	p.waitJS("the call in Recently ended, rejected by alice as busy", fmt.Sprintf(
		`!document.querySelector(%q) && document.querySelector(%q)?.textContent === "rejected by alice (busy)" &&
		document.querySelector(%q)?.textContent.startsWith("Rejected as busy")`,
		rowSel(id), endedSel(id)+" .ended-by", endedSel(id)+" .reason .why"), stepTimeout)
	if acts := s.actions(mark); len(acts) != 1 {
		t.Errorf("Graph was asked %d things, want only the reject: %v", len(acts), describe(acts))
	}
	var state string
	p.eval(fmt.Sprintf(`document.querySelector(%q)?.dataset.state ?? "gone"`, rowSel(other)), &state)
	if state != "incoming" {
		t.Errorf("the other call's row shows %q, want it still incoming", state)
	}
}

func TestHangUp(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)

	id, err := s.sim.StartIncoming(ctx, graphsim.CallSpec{Subject: "Hang me up"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sim.Establish(ctx, id); err != nil {
		t.Fatal(err)
	}
	p.waitJS("the established row", liveStatesAre(map[string]shownRow{id: {State: "established", Subject: "Hang me up"}}), stepTimeout)

	// Graph sends terminating, then deleted a few milliseconds later; the
	// relay holds the deleted notification so the test can see terminating.
	release := s.relay.holdWhere(func(body []byte) bool { return endsCall(body, id) })
	defer release()
	p.openDialog("hangup", id)
	p.click("#dialog-first")
	s.waitAction(http.MethodDelete, id, "")
	p.waitJS("the row in state terminating", fmt.Sprintf(
		`document.querySelector(%q)?.textContent === "terminating"`, rowSel(id)+" .c-state .state"), stepTimeout)
	if c, _ := s.srv().View().Get(id); c.Ended() {
		t.Fatal("the call ended on the server while the relay held its deleted notification: the hold did not match")
	}
	p.screenshot(t.Name() + "-terminating")
	release()

	p.waitJS("the call in Recently ended with its reason", fmt.Sprintf(
		`!document.querySelector(%q) && document.querySelector(%q)?.textContent.includes("The conversation has ended.")`,
		rowSel(id), endedSel(id)+" .reason"), stepTimeout)
	var raw string
	p.eval(fmt.Sprintf(`document.querySelector(%q).textContent`, endedSel(id)+" .raw"), &raw)
	if raw != "200/5001" {
		t.Errorf("the ended call shows code %q, want 200/5001", raw)
	}
	p.waitJS("who hung up", fmt.Sprintf(`document.querySelector(%q)?.textContent === "hung up by alice"`, endedSel(id)+" .ended-by"), stepTimeout)
}

// TestRowActionsTargetTheirOwnCall guards against go-app's pitfall: rows
// are diffed by position, and a button keeps the handler it was first bound
// with while its element stays; a handler that captured its row's call at
// that time acts on whichever call held the row before. Each step moves
// the target into a row that showed another call with the same button
// (calls start or end above it, each change rendered before the next),
// then acts on the target with the mouse and checks what Graph was asked.
func TestRowActionsTargetTheirOwnCall(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)

	var live []string // live calls, oldest first; the table shows newest first
	start := func(incoming bool, subject string) string {
		t.Helper()
		spec := graphsim.CallSpec{Subject: subject}
		var id string
		var err error
		if incoming {
			id, err = s.sim.StartIncoming(ctx, spec)
		} else {
			id, err = s.sim.StartOutgoing(ctx, spec)
		}
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, id)
		p.waitLiveOrder(live)
		return id
	}
	end := func(id string) {
		t.Helper()
		if err := s.sim.RemoteHangUp(ctx, id, 200, 5002); err != nil {
			t.Fatal(err)
		}
		live = slices.DeleteFunc(live, func(x string) bool { return x == id })
		p.waitLiveOrder(live)
	}
	start(true, "incoming 1")
	o1, o2, o3 := start(false, "outgoing 1"), start(false, "outgoing 2"), start(false, "outgoing 3")
	var n1, n2, a, b, c, d string
	start(false, "outgoing 4")

	steps := []struct {
		name   string
		change func() // moves the target
		target *string
		verb   string // the row's button
		reason string // the dialog's choice for reject; "" for its first button
		gone   bool   // the action ends the call
	}{
		{"two calls start above", func() { n1, n2 = start(false, "new 1"), start(false, "new 2") }, &o2, "hangup", "", true},
		{"two calls above end", func() { end(n2); end(o3) }, &o1, "hangup", "", true},
		// The first incoming call takes the top row and its Answer button;
		// the second pushes it down and shows in the same row.
		{"a newer incoming call arrives above", func() { a, b = start(true, "incoming A"), start(true, "incoming B") }, &b, "answer", "", false},
		{"and another, after one above ended", func() { end(n1); c, d = start(true, "incoming C"), start(true, "incoming D") }, &d, "reject", "forbidden", true},
	}
	for _, st := range steps {
		st.change()
		target := *st.target
		mark := len(s.sim.Requests())
		if st.verb == "answer" {
			p.click(button(st.verb, target))
		} else {
			p.openDialog(st.verb, target)
			if st.reason == "" {
				p.click("#dialog-first")
			} else {
				p.click(fmt.Sprintf("#dialog button[data-reason=%s]", st.reason))
			}
		}
		method, suffix := http.MethodPost, "/"+st.verb
		if st.verb == "hangup" {
			method, suffix = http.MethodDelete, ""
		}
		s.waitAction(method, target, suffix)
		if st.gone {
			live = slices.DeleteFunc(live, func(x string) bool { return x == target })
		} else {
			p.waitJS(st.name+": the answered row", fmt.Sprintf(`document.querySelector(%q)?.dataset.state === "established"`, rowSel(target)), stepTimeout)
		}
		p.waitLiveOrder(live)
		if acts := s.actions(mark); len(acts) != 1 || acts[0].CallID != target {
			t.Errorf("%s: clicking %s on %s asked Graph %s, want only that call", st.name, st.verb, target, describe(acts))
		}
	}
	// The bystanders are as they were.
	for id, want := range map[string]string{a: "incoming", c: "incoming"} {
		var state string
		p.eval(fmt.Sprintf(`document.querySelector(%q)?.dataset.state ?? "gone"`, rowSel(id)), &state)
		if state != want {
			t.Errorf("call %s shows %q, want %q", id, state, want)
		}
	}
}

// ringingAndTalking starts an incoming call (subject "Ringing") and an
// established outgoing one ("Talking").
func ringingAndTalking(ctx context.Context, t *testing.T, s *stack) (ringing, talking string) {
	t.Helper()
	ringing, err := s.sim.StartIncoming(ctx, graphsim.CallSpec{Subject: "Ringing"})
	if err != nil {
		t.Fatal(err)
	}
	talking, err = s.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: "Talking"})
	if err != nil {
		t.Fatal(err)
	}
	return ringing, talking
}

func TestRestartUnderAnOpenPage(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)

	ringing, talking := ringingAndTalking(ctx, t, s)
	ended, err := s.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: "Ended"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sim.RemoteHangUp(ctx, ended, 200, 5002); err != nil {
		t.Fatal(err)
	}
	p.waitJS("the calls before the restart", fmt.Sprintf(`%s && document.querySelector(%q)`,
		liveStatesAre(map[string]shownRow{ringing: {"incoming", "Ringing"}, talking: {"established", "Talking"}}), endedSel(ended)), stepTimeout)
	// The server's last sequence must be on the page before comparing.
	last, err := s.srv().Log().LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.waitJS("the page at the server's sequence", fmt.Sprintf(`document.querySelector("#switchboard").dataset.seq === "%d"`, last), stepTimeout)
	p.eval(`window.__sameDocument = "yes"`, new(string))
	before := p.table()

	s.stop()
	p.waitJS("the indicator reconnecting or offline", `["reconnecting", "offline"].includes(document.querySelector("#switchboard").dataset.conn) &&
		document.querySelector("#conn.conn-reconnecting, #conn.conn-offline")`, stepTimeout)
	p.screenshot(t.Name() + "-down")
	s.restart()
	p.waitJS("the indicator live again", `document.querySelector("#switchboard[data-conn=live] #conn.conn-live")`, loadTimeout)

	if after := p.table(); !reflect.DeepEqual(after, before) {
		t.Errorf("after the restart the page shows\n%+v\nbefore it showed\n%+v", after, before)
	}
	var same string
	p.eval(`window.__sameDocument ?? "reloaded"`, &same)
	if same != "yes" {
		t.Fatal("the page was reloaded; it should have reconnected in place")
	}

	// Events after the restart reach the page.
	if err := s.sim.Establish(ctx, ringing); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.sim.StartIncoming(ctx, graphsim.CallSpec{Subject: "After the restart"})
	if err != nil {
		t.Fatal(err)
	}
	p.waitJS("the events made after the restart", liveStatesAre(map[string]shownRow{
		ringing: {"established", "Ringing"}, talking: {"established", "Talking"}, fresh: {"incoming", "After the restart"}}), stepTimeout)
}

func TestViewerSeesNoActions(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "victor")
	ctx := testContext(t)

	ringing, talking := ringingAndTalking(ctx, t, s)
	p.waitJS("the rows", liveStatesAre(map[string]shownRow{ringing: {"incoming", "Ringing"}, talking: {"established", "Talking"}}), stepTimeout)

	var got struct {
		Role    string
		Details int
		Actions []string
	}
	p.eval(`({role: document.querySelector(".who .user .role").textContent,
		details: document.querySelectorAll("#live-calls button[data-action=details]").length,
		actions: Array.from(document.querySelectorAll("button[data-action=answer], button[data-action=reject], button[data-action=hangup]"),
			b => b.dataset.action + " " + b.dataset.callId)})`, &got)
	if got.Role != "viewer" {
		t.Errorf("the header shows the role %q, want viewer", got.Role)
	}
	if got.Details != 2 {
		t.Errorf("the rows show %d Details buttons, want 2 (the rows' buttons did not render)", got.Details)
	}
	if len(got.Actions) != 0 {
		t.Errorf("a viewer is offered %v", got.Actions)
	}
}

// TestLogoutClosesTheFeed logs out in one tab while a second tab of the
// same session watches: the server must close both feeds (the second tab
// does not navigate by itself), and the second tab must notice and leave.
func TestLogoutClosesTheFeed(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	other := p.newTab()
	other.navigate(s.url + "/")
	other.waitConsole("alice")
	hub := s.srv().Hub()
	waitFor(t, "both tabs' feeds on the server", stepTimeout, func() bool { return hub.Clients() == 2 })

	p.click("#logout")
	const signedOut = `(location.pathname === "/auth/logged-out") ||
		(location.pathname.startsWith("/idp/") && document.querySelector("input[name=username]"))`
	// The tab that logged out went through the provider's end-session
	// endpoint (ending the provider's session too) back to Switchboard's
	// signed-out page.
	p.waitJS("the signed-out page, by way of the provider's end-session endpoint", `location.pathname === "/auth/logged-out"`, stepTimeout)
	waitFor(t, "the server to close both feeds", stepTimeout, func() bool { return hub.Clients() == 0 })
	other.waitJS("the other tab, told its session ended, on a signed-out page or the sign-in form", signedOut, stepTimeout)
	other.screenshot(t.Name() + "-other-tab")

	var status int
	p.eval(`fetch("/api/me", {credentials: "same-origin"}).then(r => r.status)`, &status)
	if status != http.StatusUnauthorized {
		t.Errorf("after logging out /api/me answers %d, want 401: the session is still alive", status)
	}
}

// endsCall reports whether a commsNotifications body holds a deleted
// notification for call id.
func endsCall(body []byte, id string) bool {
	var env struct {
		Value []struct{ ChangeType, ResourceURL string }
	}
	if json.Unmarshal(body, &env) != nil {
		return false
	}
	for _, n := range env.Value {
		if n.ChangeType == "deleted" && strings.HasSuffix(n.ResourceURL, "/"+id) {
			return true
		}
	}
	return false
}

// testContext is a context for the simulator's scripted calls, which wait
// for their notifications to be delivered.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// rowSel selects the live row of call id.
func rowSel(id string) string { return fmt.Sprintf(`tr.row[data-call-id=%q]`, id) }

// endedSel selects the "Recently ended" entry of call id.
func endedSel(id string) string { return fmt.Sprintf(`li.ended-row[data-call-id=%q]`, id) }

// button selects a row's action button.
func button(action, id string) string {
	return fmt.Sprintf(`button[data-action=%q][data-call-id=%q]`, action, id)
}

// openDialog clicks the row's button for verb and checks that the
// confirmation opened for that call and verb.
func (p *page) openDialog(verb, id string) {
	p.tb.Helper()
	p.click(button(verb, id))
	p.waitJS("the "+verb+" dialog", `document.querySelector("#dialog")`, stepTimeout)
	var got struct{ Verb, CallID string }
	p.eval(`({verb: document.querySelector("#dialog").dataset.verb, callID: document.querySelector("#dialog").dataset.callId})`, &got)
	if got.Verb != verb || got.CallID != id {
		p.tb.Fatalf("clicking %s on the row of %s opened a %s dialog for %s", verb, id, got.Verb, got.CallID)
	}
}

// shownRow is what a live row shows of its call.
type shownRow struct{ State, Subject string }

// liveStatesAre is a JavaScript condition: every call in want has its row,
// showing the wanted state word and subject.
func liveStatesAre(want map[string]shownRow) string {
	var conds []string
	for id, w := range want {
		conds = append(conds, fmt.Sprintf(`document.querySelector(%q)?.textContent === %q && document.querySelector(%q)?.textContent === %q`,
			rowSel(id)+" .c-state .state", w.State, rowSel(id)+" .c-subject", w.Subject))
	}
	return strings.Join(conds, " && ")
}

// liveRow is one row of the live table as the page shows it.
type liveRow struct{ ID, State, Subject string }

// liveRows reads the live table, top to bottom.
func (p *page) liveRows() []liveRow {
	p.tb.Helper()
	var rows []liveRow
	p.eval(`Array.from(document.querySelectorAll("#live-calls tr.row"), r => ({id: r.dataset.callId,
		state: r.querySelector(".c-state .state").textContent, subject: r.querySelector(".c-subject").textContent}))`, &rows)
	return rows
}

// waitLiveOrder waits until the live table lists exactly the calls of
// oldestFirst, newest at the top.
func (p *page) waitLiveOrder(oldestFirst []string) {
	p.tb.Helper()
	want := slices.Clone(oldestFirst)
	slices.Reverse(want)
	js, _ := json.Marshal(want)
	p.waitJS(fmt.Sprintf("the live table to list %s", js), fmt.Sprintf(
		`JSON.stringify(Array.from(document.querySelectorAll("#live-calls tr.row"), r => r.dataset.callId)) === %q`, js), stepTimeout)
}

// shownTable is what the page shows of the calls: the sequence it is at,
// and the call sequence each row (live or ended) shows.
type shownTable struct {
	Seq   string
	Live  map[string]string
	Ended map[string]string
}

func (p *page) table() shownTable {
	p.tb.Helper()
	var t shownTable
	p.eval(`({seq: document.querySelector("#switchboard").dataset.seq,
		live: Object.fromEntries(Array.from(document.querySelectorAll("#live-calls tr.row"), r => [r.dataset.callId, r.dataset.seq])),
		ended: Object.fromEntries(Array.from(document.querySelectorAll("li.ended-row"), r => [r.dataset.callId, r.dataset.seq]))})`, &t)
	return t
}

// describe lists Graph requests for a failure message.
func describe(reqs []graphsim.Request) string {
	if len(reqs) == 0 {
		return "nothing"
	}
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+r.Path)
	}
	return strings.Join(out, ", ")
}
