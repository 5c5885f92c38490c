package ui

import (
	"context"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/verbs"
)

// Controller is what the components ask of the page. Every method runs on
// the UI goroutine, from an event handler; *Page implements it. Components
// pass the call id they read from their own props at the moment of the
// event, never one captured when they were first rendered.
type Controller interface {
	// Request starts an action on a call: what the action contract says
	// the action asks first (a reason, a target, a confirmation) opens a
	// dialog; an action that asks nothing goes at once. An action the
	// contract does not know fails on the row, in words.
	Request(ctx app.Context, id string, verb verbs.Verb)
	// RequestParticipant starts an action on one participant of a call.
	RequestParticipant(ctx app.Context, id, participant string, verb verbs.Verb)
	// Confirm sends the confirmed action; choice is the reject reason or
	// the target, as the dialog asked.
	Confirm(ctx app.Context, id string, verb verbs.Verb, choice string)
	// Dismiss closes the confirmation, the detail panel's error, or a
	// row's error.
	Dismiss(ctx app.Context, id string)
	// Select opens the detail panel on a call ("" closes it).
	Select(ctx app.Context, id string)
	// SetFilter changes the live table's filter (and its sort).
	SetFilter(ctx app.Context, f console.Filter)
	// SetEndedFilter changes the ended list's filter.
	SetEndedFilter(ctx app.Context, f console.Filter)
	// FilterState keeps only the live calls in state (on), or calls in
	// every state again (off); the rest of the filter stays.
	FilterState(ctx app.Context, state calls.State, on bool)
	// ShowPage moves a table's window: ended selects the ended list.
	ShowPage(ctx app.Context, ended bool, offset int)
	// Install asks the browser to install the app.
	Install(ctx app.Context)
	// Reload loads the newer version.
	Reload(ctx app.Context)
	// Logout ends the session.
	Logout(ctx app.Context)
	// ToggleAudit opens or closes the admin's audit panel, loading it.
	ToggleAudit(ctx app.Context)
	// Pick picks a live call for a bulk action (on) or unpicks it; with
	// shift, every call the table shows between it and the last one
	// clicked.
	Pick(ctx app.Context, id string, on, shift bool)
	// PickAll picks every live call the filter keeps (on), or none.
	PickAll(ctx app.Context, on bool)
	// OpenBulk asks to confirm the bulk action on the picked calls;
	// CloseBulk closes that confirmation, and ConfirmBulk sends it.
	OpenBulk(ctx app.Context)
	CloseBulk(ctx app.Context)
	ConfirmBulk(ctx app.Context)
	// Override lets the open dialog offer its action on a call someone
	// else has claimed: the supervisor chose to act anyway.
	Override(ctx app.Context, id string)
	// Acknowledge acknowledges the alert of rule on a call.
	Acknowledge(ctx app.Context, id, rule string)
}

// Request implements Controller.
func (p *Page) Request(ctx app.Context, id string, verb verbs.Verb) {
	if p.ops[id].InFlight || p.stale() {
		return // a stale row's buttons are disabled; a key press may still come
	}
	spec, err := verbs.Lookup(verb)
	switch {
	case err != nil:
		p.ops[id] = Op{Verb: verb, Error: "Could not act on the call: " + err.Error()}
	case spec.Input == verbs.AskNothing:
		if why := p.whyNot(id, verb); why != "" {
			p.ops[id] = Op{Verb: verb, Error: "Could not " + spec.Words + ": " + why}
			return
		}
		if _, claimed := p.otherClaim(id); claimed {
			// Someone else is acting on the call: ask first.
			p.dialog = dialog{Verb: verb, CallID: id, Opener: focusKey{CallID: id, Action: string(verb)}}
			return
		}
		p.send(ctx, console.Act{Verb: verb, CallID: id})
	case spec.Input == verbs.AskParticipant:
		p.ops[id] = Op{Verb: verb, Error: "Could not " + spec.Words + ": pick a participant in the call's details"}
	default:
		p.dialog = dialog{Verb: verb, CallID: id, Opener: focusKey{CallID: id, Action: string(verb)}}
		if spec.Scope == verbs.OnCall {
			p.takeClaim(id, verb)
		}
	}
}

// whyNot says why verb may not be taken on call id as the console knows
// it now, or "" when it may.
func (p *Page) whyNot(id string, verb verbs.Verb) string {
	c, ok := p.store.Get(id)
	if !ok {
		return "the call is no longer shown"
	}
	return c.Why(verb)
}

// stale reports whether the view may be out of date: the feed is not
// live, or the page shows a view saved by an earlier load.
func (p *Page) stale() bool {
	return p.restored || p.conn.State != console.Live && p.conn.State != console.Connecting
}

// RequestParticipant implements Controller.
func (p *Page) RequestParticipant(ctx app.Context, id, participant string, verb verbs.Verb) {
	if p.ops[id].InFlight || p.stale() {
		return
	}
	spec, err := verbs.Lookup(verb)
	if err != nil || spec.Scope != verbs.OnParticipant {
		msg := "is not an action on a participant"
		if err != nil {
			msg = err.Error()
		}
		p.ops[id] = Op{Verb: verb, Participant: participant, Error: "Could not act on the participant: " + msg}
		return
	}
	p.send(ctx, console.Act{Verb: verb, CallID: id, Participant: participant})
}

// Confirm implements Controller.
func (p *Page) Confirm(ctx app.Context, id string, verb verbs.Verb, choice string) {
	opener := p.dialog.Opener
	if p.dialog.CallID != id || p.dialog.Verb != verb {
		return // a dialog that is no longer open
	}
	if why := p.whyNot(id, verb); why != "" || p.stale() {
		return // the dialog says why and offers only to close
	}
	_, claimed := p.otherClaim(id)
	if claimed && !p.dialog.Override {
		return // the dialog asks to act anyway first
	}
	p.dialog = dialog{}
	returnFocus(p.ctxFor(ctx), opener)
	a := console.Act{Verb: verb, CallID: id, Override: claimed}
	spec, err := verbs.Lookup(verb)
	switch {
	case err != nil:
	case spec.Input == verbs.AskReason:
		a.Reason = choice
	case spec.Input == verbs.AskTarget:
		a.Target = choice
	}
	p.send(ctx, a)
}

// Dismiss implements Controller.
func (p *Page) Dismiss(ctx app.Context, id string) {
	if p.dialog.CallID != "" && (p.dialog.CallID == id || id == "") {
		returnFocus(p.ctxFor(ctx), p.dialog.Opener)
		p.releaseClaim(p.dialog.CallID)
		p.dialog = dialog{}
	}
	if op, ok := p.ops[id]; ok && !op.InFlight {
		delete(p.ops, id)
	}
}

// send runs one action in the background; its button is disabled until the
// answer comes, and a failure stays on the row in words. An action the
// contract does not know fails at once: nothing is sent, nothing succeeds.
func (p *Page) send(ctx app.Context, a console.Act) {
	id := a.CallID
	if p.ops[id].InFlight || p.env == nil || p.env.API == nil {
		return
	}
	spec, err := verbs.Lookup(a.Verb)
	if err != nil {
		p.ops[id] = Op{Verb: a.Verb, Error: "Could not act on the call: " + err.Error()}
		return
	}
	p.ops[id] = Op{Verb: a.Verb, Participant: a.Participant, InFlight: true}
	api := p.env.API
	p.background(func(bg context.Context) func(app.Context) {
		err := api.Act(bg, a)
		return func(ctx app.Context) {
			p.releaseClaim(id) // the action is sent
			switch {
			case console.IsUnauthorized(err):
				goTo(ctx, "/auth/login")
			case err != nil:
				// The server's refusal may repeat the verb ("cannot reject: …").
				why := strings.TrimPrefix(err.Error(), "cannot "+spec.Words+": ")
				p.ops[id] = Op{Verb: a.Verb, Participant: a.Participant, Error: "Could not " + spec.Words + ": " + why}
			default:
				delete(p.ops, id)
				if spec.Input == verbs.AskTarget {
					p.rememberTarget(ctx, a.Target)
				}
			}
		}
	})
}

// Select implements Controller. The panel is a drawer fixed beside the
// tables, below the header: opening it neither scrolls the page nor puts
// its Close button under anything. The keyboard goes into it, and back to
// the call's Details button when it closes.
func (p *Page) Select(ctx app.Context, id string) {
	if id == p.detail.CallID {
		if id != "" {
			focusID(p.ctxFor(ctx), "detail-close")
		}
		return
	}
	prev := p.detail.CallID
	p.detail = detail{CallID: id}
	if id == "" {
		returnFocus(p.ctxFor(ctx), focusKey{CallID: prev, Action: "details"})
		return
	}
	p.loadEvents(ctx)
	focusID(p.ctxFor(ctx), "detail-close")
}

// refreshDetail reloads the selected call's history when the call changed.
func (p *Page) refreshDetail(ctx app.Context) {
	id := p.detail.CallID
	if id == "" {
		return
	}
	c, ok := p.store.Get(id)
	if !ok || c.Seq == p.detail.Seq || p.detail.Loading {
		return
	}
	p.loadEvents(ctx)
}

func (p *Page) loadEvents(ctx app.Context) {
	if p.env == nil || p.env.API == nil {
		return
	}
	id, api := p.detail.CallID, p.env.API
	c, _ := p.store.Get(id)
	p.detail.Loading = true
	p.background(func(bg context.Context) func(app.Context) {
		events, err := api.Events(bg, id)
		return func(ctx app.Context) {
			if p.detail.CallID != id {
				return // another call was selected meanwhile
			}
			p.detail.Loading = false
			p.detail.Seq = c.Seq
			if err != nil {
				p.detail.Error = "Could not load the history: " + err.Error()
				return
			}
			p.detail.Events, p.detail.Error = events, ""
			if now, ok := p.store.Get(id); ok && now.Seq != c.Seq {
				p.loadEvents(ctx) // it changed while loading
			}
		}
	})
}

// SetFilter implements Controller.
func (p *Page) SetFilter(ctx app.Context, f console.Filter) {
	f.Ended = false
	p.filter = f
	p.liveOffset = 0
	p.afterRender(ctx)
}

// FilterState implements Controller.
func (p *Page) FilterState(ctx app.Context, state calls.State, on bool) {
	f := p.filter
	f.States = nil
	if on {
		f.States = []calls.State{state}
	}
	p.SetFilter(ctx, f)
}

// SetEndedFilter implements Controller.
func (p *Page) SetEndedFilter(ctx app.Context, f console.Filter) {
	f.Ended = true
	p.endedFilter = f
	p.endedOffset = 0
	p.afterRender(ctx)
}

// ShowPage implements Controller.
func (p *Page) ShowPage(ctx app.Context, ended bool, offset int) {
	if ended {
		p.endedOffset = max(0, offset)
	} else {
		p.liveOffset = max(0, offset)
	}
	p.clampOffsets()
	p.afterRender(ctx)
}

// Install implements Controller.
func (p *Page) Install(ctx app.Context) {
	ctx.ShowAppInstallPrompt()
}

// Reload implements Controller.
func (p *Page) Reload(ctx app.Context) {
	ctx.Reload()
}

// Logout implements Controller.
func (p *Page) Logout(ctx app.Context) {
	if p.env == nil || p.env.API == nil {
		return
	}
	api := p.env.API
	p.leaving = true
	p.forget() // the saved view is personal data: it goes with the session
	p.background(func(bg context.Context) func(app.Context) {
		next, err := api.Logout(bg)
		return func(ctx app.Context) {
			if err != nil && !console.IsUnauthorized(err) {
				p.leaving = false
				p.conn.Reason = "Could not log out: " + err.Error()
				return
			}
			if next == "" {
				next = "/"
			}
			goTo(ctx, next)
		}
	})
}

// ToggleAudit implements Controller.
func (p *Page) ToggleAudit(ctx app.Context) {
	p.auditOpen = !p.auditOpen
	if !p.auditOpen || p.env == nil || p.env.API == nil {
		return
	}
	api := p.env.API
	p.background(func(bg context.Context) func(app.Context) {
		entries, err := api.Audit(bg, auditLimit)
		return func(ctx app.Context) {
			if err != nil {
				p.auditError = "Could not load the audit log: " + err.Error()
				return
			}
			p.audit, p.auditError = entries, ""
		}
	})
}

// background runs work off the UI goroutine and applies the function it
// returns on the UI goroutine, re-rendering the page. Work runs in the
// page's context, not the clicked element's: that one ends as soon as a
// re-render removes the element (an Answer button disappears when the call
// is answered), which would abort the request it started.
func (p *Page) background(work func(ctx context.Context) func(app.Context)) {
	ctx := p.mounted
	if ctx == nil {
		return
	}
	ctx.Async(func() {
		ctx.Dispatch(work(ctx))
	})
}
