package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/verbs"
)

// Dialog asks what an action needs before it is sent, as the action
// contract says: a reject reason (none, busy, forbidden), a target for a
// redirect or a transfer (TargetForm), or a confirmation of what cannot be
// undone (hang up, delete). It carries the id of the call it was opened
// for, so a table that moves underneath cannot change its target. Escape
// cancels. A verb the contract does not know gets no prompt: the dialog
// says so and offers only Cancel.
type Dialog struct {
	app.Compo

	Verb verbs.Verb
	Call calls.Call
	// Now is the server's clock, for an incoming call's countdown.
	Now time.Time
	// Recent are targets used lately, for redirect and transfer.
	Recent []string
	Ctl    Controller
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
	title, body := d.content(who)
	return app.Div().Class("backdrop").Body(
		app.Div().ID("dialog").Class("dialog").Role("dialog").Aria("modal", "true").
			Aria("labelledby", "dialog-title").DataSet("call-id", c.ID).DataSet("verb", string(d.Verb)).
			OnKeyDown(d.onKey).Body(
			app.H2().ID("dialog-title").Text(title),
			app.P().Class("dialog-call").Body(
				app.Span().Class(stateClass(c.State)).Text(orDash(string(c.State))),
				app.Text(" "+orDash(c.Subject)+" · "+c.ID),
			),
			app.If(needsAnswer(c) && !d.Now.IsZero(), renderCountdown(c, d.Now)),
			body,
			app.Button().Type("button").Class("btn").ID("dialog-cancel").OnClick(d.onCancel).Text("Cancel"),
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
		return "Reject the call from " + who + "?", app.Div().Class("choices").Body(
			d.choice("dialog-first", "Reject", "Reject without a reason", console.RejectNone, d.onRejectNone),
			d.choice("", "Busy", "Reject as busy", console.RejectBusy, d.onRejectBusy),
			d.choice("", "Forbidden", "Reject as forbidden", console.RejectForbidden, d.onRejectForbidden),
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
		return capitalise(spec.Words) + " " + object + "?", app.Div().Class("choices").Body(
			d.choice("dialog-first", capitalise(spec.Words), capitalise(spec.Words)+" "+object, "", d.onConfirm),
		)
	}
}

func (d *Dialog) choice(id, text, label, reason string, h app.EventHandler) app.UI {
	b := app.Button().Type("button").Class("btn", "btn-danger").DataSet("action", string(d.Verb)).
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

func (d *Dialog) onKey(ctx app.Context, e app.Event) {
	if e.Get("key").String() == "Escape" {
		d.Ctl.Dismiss(ctx, d.Call.ID)
	}
}
