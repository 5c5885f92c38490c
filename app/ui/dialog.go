package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

// Dialog asks what an action needs before it is sent, as the action
// contract says: a reject reason (none, busy, forbidden, each explained), a
// target for a redirect or a transfer (TargetForm), or a confirmation of
// what cannot be undone (hang up, delete). It carries the id of the call it
// was opened for, so a table that moves underneath cannot change its
// target.
//
// It is modal: the rest of the page is inert while it is open, Tab and
// Shift+Tab cycle inside it, Escape closes it, and the focus goes back to
// the control that opened it. When its call changes so that the action no
// longer applies (answered elsewhere, ended), it says so and offers only
// Close: a click meant for it never lands on the page behind.
type Dialog struct {
	app.Compo

	Verb verbs.Verb
	Call calls.Call
	// Now is the server's clock, for an incoming call's countdown.
	Now time.Time
	// Recent are targets used lately, for redirect and transfer.
	Recent []string
	// Gone says why the action no longer applies; empty while it does.
	Gone string
	// Claim is the claim someone else holds on the call: until Override,
	// the dialog says who and offers to act anyway instead of the action.
	Claim    feedwire.Claim
	Override bool
	Ctl      Controller
}

// OnMount moves the keyboard focus into the dialog.
func (d *Dialog) OnMount(ctx app.Context) {
	focusID(ctx, "dialog-first")
}

// OnUpdate keeps the focus inside when the content changed under it (the
// choices gave way to the notice that the call changed).
func (d *Dialog) OnUpdate(ctx app.Context) {
	ctx.Defer(func(app.Context) {
		dlg := app.Window().GetElementByID("dialog")
		active := app.Window().Get("document").Get("activeElement")
		if dlg.Truthy() && !dlg.Call("contains", active).Bool() {
			if first := app.Window().GetElementByID("dialog-first"); first.Truthy() {
				first.Call("focus", focusOptions())
			}
		}
	})
}

// Render draws the dialog over the page.
func (d *Dialog) Render() app.UI {
	c := d.Call
	who := orDash(c.Source.Label())
	title, body := d.content(who)
	switch {
	case d.Gone != "":
		body = app.P().ID("dialog-gone").Class("op-error").Role("alert").Text(d.Gone)
	case d.Claim.Holder != "" && !d.Override:
		body = d.renderClaimed()
	}
	cancel := app.Button().Type("button").Class("btn").ID("dialog-cancel").OnClick(d.onCancel)
	if d.Gone != "" {
		cancel = cancel.ID("dialog-first").Text("Close")
	} else {
		cancel = cancel.Text("Cancel")
	}
	return app.Div().Class("backdrop").Body(
		app.Div().ID("dialog").Class("dialog").Role("dialog").Aria("modal", "true").
			Aria("labelledby", "dialog-title").Aria("describedby", "dialog-call").
			DataSet("call-id", c.ID).DataSet("verb", string(d.Verb)).
			OnKeyDown(d.onKey).Body(
			app.H2().ID("dialog-title").Text(title),
			app.P().ID("dialog-call").Class("dialog-call").Body(
				app.Span().Class(stateClass(c.State)).Text(orDash(string(c.State))),
				app.Text(" "+who+" → "+callees(c)+" · "+orDash(c.Subject)),
				app.If(needsAnswer(c) && !d.Now.IsZero() && d.Gone == "", renderCountdown(c, d.Now)),
			),
			body,
			app.Div().Class("choices", "dialog-foot").Body(cancel),
		),
	)
}

// content is the dialog's title and what it asks.
func (d *Dialog) content(who string) (string, app.UI) {
	spec, err := verbs.Lookup(d.Verb)
	if err != nil {
		return "Unknown action", app.P().Class("op-error").Role("alert").
			Text("Switchboard does not know the action " + string(d.Verb) + "; nothing was sent.")
	}
	switch spec.Input {
	case verbs.AskReason:
		return "Reject the call from " + who + "?", app.Div().Class("reasons").Role("group").Aria("label", "Reject with").Body(
			d.choice("dialog-first", "Reject as busy", "The caller hears the bot is busy; they may try again later.", console.RejectBusy, d.onRejectBusy),
			d.choice("", "Reject as forbidden", "The caller hears they may not call this bot.", console.RejectForbidden, d.onRejectForbidden),
			d.choice("", "Reject, no reason", "The call is turned down without saying why.", console.RejectNone, d.onRejectNone),
		)
	case verbs.AskTarget:
		return capitalise(spec.Words) + " the call from " + who + " to…", &TargetForm{
			CallID: d.Call.ID, Verb: d.Verb, Recent: d.Recent, Ctl: d.Ctl,
		}
	default:
		object := "the call from " + who
		if spec.Scope == verbs.OnRecord {
			object = "the conversation with " + who + " everywhere"
		}
		return capitalise(spec.Words) + " " + object + "?", app.Div().Class("reasons").Body(
			d.choice("dialog-first", capitalise(spec.Words), spec.Help, "", d.onConfirm),
		)
	}
}

// choice is one way to confirm, with what it does in words (its
// description; its name is what it shows).
func (d *Dialog) choice(id, text, help, reason string, h app.EventHandler) app.UI {
	hintID := "dialog-hint-" + string(d.Verb) + "-" + reason
	b := app.Button().Type("button").Class("btn", "btn-danger").DataSet("action", string(d.Verb)).
		DataSet("call-id", d.Call.ID).Aria("describedby", hintID).OnClick(h, d.Call.ID).Text(text)
	if reason != "" {
		b = b.DataSet("reason", reason)
	}
	if id != "" {
		b = b.ID(id)
	}
	return app.Div().Class("reason-choice").Body(b, app.Span().ID(hintID).Class("hint").Text(help))
}

func (d *Dialog) onRejectNone(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, verbs.Reject, console.RejectNone)
}

func (d *Dialog) onRejectBusy(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, verbs.Reject, console.RejectBusy)
}

func (d *Dialog) onRejectForbidden(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, verbs.Reject, console.RejectForbidden)
}

func (d *Dialog) onConfirm(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, d.Verb, "")
}

func (d *Dialog) onCancel(ctx app.Context, e app.Event) {
	d.Ctl.Dismiss(ctx, d.Call.ID)
}

// onKey closes on Escape and keeps Tab inside the dialog.
func (d *Dialog) onKey(ctx app.Context, e app.Event) {
	switch e.Get("key").String() {
	case "Escape":
		e.PreventDefault()
		d.Ctl.Dismiss(ctx, d.Call.ID)
	case "Tab":
		trapTab(e)
	}
}

// trapTab wraps Tab from the dialog's last control to its first, and
// Shift+Tab from its first to its last.
func trapTab(e app.Event) {
	dlg := app.Window().GetElementByID("dialog")
	if !dlg.Truthy() {
		return
	}
	all := dlg.Call("querySelectorAll", `button:not([disabled]), input:not([disabled]), select:not([disabled]), [href], [tabindex]:not([tabindex="-1"])`)
	n := all.Get("length").Int()
	if n == 0 {
		e.PreventDefault()
		return
	}
	first, last := all.Index(0), all.Index(n-1)
	active := app.Window().Get("document").Get("activeElement")
	back := e.Get("shiftKey").Bool()
	switch {
	case back && (active.Equal(first) || !dlg.Call("contains", active).Bool()):
		e.PreventDefault()
		last.Call("focus")
	case !back && (active.Equal(last) || !dlg.Call("contains", active).Bool()):
		e.PreventDefault()
		first.Call("focus")
	}
}
