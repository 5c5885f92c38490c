package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
)

// Dialog asks for confirmation before an action that cannot be undone:
// the reject reason (none, busy, forbidden), hanging up, deleting a
// conversation. It carries the id of the call it was opened for, so a
// table that moves underneath cannot change its target. Escape cancels.
type Dialog struct {
	app.Compo

	// Verb is calls.VerbReject, calls.VerbHangUp or "delete".
	Verb string
	Call calls.Call
	// Now is the server's clock, for an incoming call's countdown.
	Now time.Time
	Ctl Controller
}

// OnMount moves the keyboard focus into the dialog.
func (d *Dialog) OnMount(ctx app.Context) {
	ctx.Defer(func(app.Context) {
		if el := app.Window().GetElementByID("dialog-first"); el.Truthy() {
			el.Call("focus")
		}
	})
}

// Render draws the dialog over the page.
func (d *Dialog) Render() app.UI {
	c := d.Call
	who := orDash(c.Source.Label())
	var title string
	var choices []app.UI
	switch d.Verb {
	case calls.VerbReject:
		title = "Reject the call from " + who + "?"
		choices = []app.UI{
			d.choice("dialog-first", "Reject", "Reject without a reason", console.RejectNone, d.onRejectNone),
			d.choice("", "Busy", "Reject as busy", console.RejectBusy, d.onRejectBusy),
			d.choice("", "Forbidden", "Reject as forbidden", console.RejectForbidden, d.onRejectForbidden),
		}
	case calls.VerbHangUp:
		title = "Hang up the call from " + who + "?"
		choices = []app.UI{d.choice("dialog-first", "Hang up", "Hang up the call from "+who, "", d.onConfirm)}
	default:
		title = "Delete the conversation with " + who + " everywhere?"
		choices = []app.UI{d.choice("dialog-first", "Delete", "Delete the conversation with "+who, "", d.onConfirm)}
	}
	return app.Div().Class("backdrop").Body(
		app.Div().ID("dialog").Class("dialog").Role("dialog").Aria("modal", "true").
			Aria("labelledby", "dialog-title").DataSet("call-id", c.ID).DataSet("verb", d.Verb).
			OnKeyDown(d.onKey).Body(
			app.H2().ID("dialog-title").Text(title),
			app.P().Class("dialog-call").Body(
				app.Span().Class(stateClass(c.State)).Text(orDash(string(c.State))),
				app.Text(" "+orDash(c.Subject)+" · "+c.ID),
			),
			app.If(needsAnswer(c) && !d.Now.IsZero(), renderCountdown(c, d.Now)),
			app.Div().Class("choices").Body(choices...),
			app.Button().Type("button").Class("btn").ID("dialog-cancel").OnClick(d.onCancel).Text("Cancel"),
		),
	)
}

func (d *Dialog) choice(id, text, label, reason string, h app.EventHandler) app.UI {
	b := app.Button().Type("button").Class("btn", "btn-danger").DataSet("action", d.Verb).
		DataSet("call-id", d.Call.ID).Aria("label", label).OnClick(h).Text(text)
	if reason != "" {
		b = b.DataSet("reason", reason)
	}
	if id != "" {
		b = b.ID(id)
	}
	return b
}

func (d *Dialog) onRejectNone(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, calls.VerbReject, console.RejectNone)
}

func (d *Dialog) onRejectBusy(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, calls.VerbReject, console.RejectBusy)
}

func (d *Dialog) onRejectForbidden(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, calls.VerbReject, console.RejectForbidden)
}

func (d *Dialog) onConfirm(ctx app.Context, e app.Event) {
	d.Ctl.Confirm(ctx, d.Call.ID, d.Verb, "")
}

func (d *Dialog) onCancel(ctx app.Context, e app.Event) {
	d.Ctl.Dismiss(ctx, d.Call.ID)
}

func (d *Dialog) onKey(ctx app.Context, e app.Event) {
	if e.Get("key").String() == "Escape" {
		d.Ctl.Dismiss(ctx, d.Call.ID)
	}
}
