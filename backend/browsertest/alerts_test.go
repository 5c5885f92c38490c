package browsertest

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"switchboard/backend/graphsim"
)

// TestAlertOnARingingCall: an admin sets a rule in the console's rule
// editor (a call ringing over 2 s), turns browser notifications on (the
// permission granted beforehand, as a supervisor who allowed them once);
// a call left ringing gets its row highlighted with the rule's words, the
// live region says so, the service worker shows a notification, and
// Acknowledge marks the alert acknowledged on the row.
func TestAlertOnARingingCall(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.do("grant notifications", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: s.url})
		return err
	}))
	p.signIn(s, "ada")

	words := "Caller waiting over 2 s"
	p.click("#alert-rules-toggle")
	p.waitJS("the rule editor", `document.querySelector("#alert-rule-add")`, stepTimeout)
	p.click("#alert-rule-add")
	p.waitJS("a new rule", `document.querySelector("#alert-rule-0-seconds")`, stepTimeout)
	setField := func(id, value string) {
		var ok bool
		p.eval(fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q;
			e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, id, value), &ok)
	}
	setField("alert-rule-0-seconds", "2")
	setField("alert-rule-0-words", words)
	p.click("#alert-rules-save")
	p.waitJS("the rules saved", `document.querySelector("#alert-rules-status")?.textContent === "Saved: 1 rule."`, stepTimeout)

	p.waitJS("the notifications control", `document.querySelector("#alert-notify")`, stepTimeout)
	p.click("#alert-notify")
	p.waitJS("notifications on", `document.querySelector("#alert-notify")?.getAttribute("aria-pressed") === "true"`, stepTimeout)

	// Notifications go through the service worker's registration: a
	// fresh profile installs the worker (and caches the console) first.
	var active bool
	p.eval(`navigator.serviceWorker.ready.then((r) => !!r.active)`, &active)
	if !active {
		t.Fatal("the service worker is not active")
	}

	id, err := s.sim.StartIncoming(testContext(t), graphsim.CallSpec{Subject: "Waiting"})
	if err != nil {
		t.Fatal(err)
	}
	row := rowSel(id)
	p.waitJS("the row highlighted with the rule's words", fmt.Sprintf(
		`document.querySelector(%q)?.classList.contains("alerted") && document.querySelector(%q)?.textContent.includes(%q)`,
		row, row+" .alert-words", words), stepTimeout)
	p.waitJS("the alert announced", fmt.Sprintf(`document.querySelector("#alert-live")?.textContent.includes(%q)`, words), stepTimeout)

	// The page asks the worker's registration which notifications it
	// shows, twice a second for up to 15 s. It first lets Chromium store
	// the notification: asked within milliseconds of showNotification,
	// headless Chromium was seen to answer "none" from then on.
	var shown bool
	p.eval(fmt.Sprintf(`(async () => {
		const r = await navigator.serviceWorker.ready;
		await new Promise((ok) => setTimeout(ok, 2000));
		for (let i = 0; i < 30; i++) {
			if ((await r.getNotifications()).some((n) => n.title === %q)) return true;
			await new Promise((ok) => setTimeout(ok, 500));
		}
		return false;
	})()`, words), &shown)
	if !shown {
		t.Fatal("no notification of the alert was shown through the service worker")
	}

	p.click(button("ack", id))
	p.waitJS("the alert acknowledged on the row", fmt.Sprintf(
		`document.querySelector(%q)?.textContent === "acknowledged by ada" && !document.querySelector(%q)`,
		row+" .acked-by", button("ack", id)), stepTimeout)
	var state string
	p.eval(fmt.Sprintf(`document.querySelector(%q)?.dataset.state ?? "gone"`, row), &state)
	if state != "incoming" {
		t.Fatalf("the call is %q, want still incoming: acknowledging must not act on it", state)
	}
}
