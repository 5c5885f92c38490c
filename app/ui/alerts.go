package ui

import (
	"context"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/alerts"
	"switchboard/app/calls"
	"switchboard/app/console"
)

// notifyKey remembers in the browser that its supervisor turned alert
// notifications on.
const notifyKey = "switchboard.alertNotifications"

// verbAcknowledge names an acknowledgement in a row's operation: it is no
// Graph action, so the action contract does not list it.
const verbAcknowledge = "acknowledge"

// alertState is what the page keeps about alerts: which are news, what
// it last announced, browser notifications, and the admin's rule editor.
type alertState struct {
	watch console.AlertWatch
	// said is the last announcement, shown and read out.
	said string
	// notify is the state of browser notifications.
	notify notifyState
	rules  rulesState
}

// notifyState is whether this browser shows alert notifications.
type notifyState struct {
	// Supported: the browser has the Notification API and a service worker.
	Supported bool
	// Permission is the browser's: "default", "granted" or "denied".
	Permission string
	// On: the supervisor asked for them here.
	On bool
}

// rulesState is the admin's rule editor: the stored set and the draft.
type rulesState struct {
	Open     bool
	Loading  bool
	Saving   bool
	Revision uint64
	Stored   alerts.Document
	Draft    []alerts.Rule
	Error    string
	Status   string
}

// AlertControl is what the alert components ask of the page (*Page).
type AlertControl interface {
	// ToggleNotifications asks the browser for permission to notify (only
	// ever from this click), or turns notifications on or off.
	ToggleNotifications(ctx app.Context)
	// ToggleAlertRules opens or closes the admin's rule editor, loading it.
	ToggleAlertRules(ctx app.Context)
	// EditAlertRule sets one field of the draft's rule i.
	EditAlertRule(ctx app.Context, i int, field, value string)
	// AddAlertRule adds a rule to the draft; RemoveAlertRule removes one.
	AddAlertRule(ctx app.Context)
	RemoveAlertRule(ctx app.Context, i int)
	// SaveAlertRules stores the draft.
	SaveAlertRules(ctx app.Context)
}

// initNotifications reads what the browser allows, asking nothing.
func (p *Page) initNotifications(ctx app.Context) {
	n := app.Window().Get("Notification")
	sw := app.Window().Get("navigator").Get("serviceWorker")
	if !n.Truthy() || !sw.Truthy() {
		return
	}
	var on bool
	_ = ctx.LocalStorage().Get(notifyKey, &on)
	perm := n.Get("permission").String()
	p.alerting.notify = notifyState{Supported: true, Permission: perm, On: on && perm == "granted"}
}

// ToggleNotifications implements AlertControl.
func (p *Page) ToggleNotifications(ctx app.Context) {
	st := p.alerting.notify
	switch {
	case !st.Supported:
		return
	case st.On:
		p.setNotify(ctx, false)
	case st.Permission == "granted":
		p.setNotify(ctx, true)
	case st.Permission == "default":
		p.requestPermission(ctx)
	}
}

func (p *Page) setNotify(ctx app.Context, on bool) {
	p.alerting.notify.On = on
	if err := ctx.LocalStorage().Set(notifyKey, on); err != nil {
		app.Log("switchboard: saving the notification choice: " + err.Error())
	}
}

// requestPermission asks the browser, from the supervisor's click.
func (p *Page) requestPermission(ctx app.Context) {
	if p.mounted != nil {
		ctx = p.mounted // the answer may come after the button is gone
	}
	var done app.Func
	done = app.FuncOf(func(this app.Value, args []app.Value) any {
		perm := "default"
		if len(args) > 0 {
			perm = args[0].String()
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.alerting.notify.Permission = perm
			p.setNotify(ctx, perm == "granted")
		})
		done.Release()
		return nil
	})
	app.Window().Get("Notification").Call("requestPermission").Call("then", done)
}

// showNotification shows one through the service worker's registration,
// which works whether or not the console's tab is in front.
func showNotification(title, body, tag string) {
	sw := app.Window().Get("navigator").Get("serviceWorker")
	if !sw.Truthy() {
		return
	}
	opts := app.Window().Get("Object").New()
	opts.Set("body", body)
	opts.Set("tag", tag)
	opts.Set("icon", "/web/icon-192.png")
	// An alert asks for someone: it stays until dismissed or clicked.
	opts.Set("requireInteraction", true)
	var show, failed app.Func
	failed = app.FuncOf(func(this app.Value, args []app.Value) any {
		msg := "unknown error"
		if len(args) > 0 && args[0].Truthy() {
			msg = args[0].Call("toString").String()
		}
		app.Log("switchboard: showing an alert notification: " + msg)
		failed.Release()
		return nil
	})
	show = app.FuncOf(func(this app.Value, args []app.Value) any {
		show.Release()
		if len(args) == 0 {
			failed.Release()
			return nil
		}
		args[0].Call("showNotification", title, opts).Call("catch", failed)
		return nil
	})
	sw.Get("ready").Call("then", show)
}

// noticeAlerts announces the alerts a flush brought that are news, and
// notifies them when the supervisor asked for it.
func (p *Page) noticeAlerts(ch console.Changes) {
	if ch.Reset {
		p.alerting.watch.Reset(p.store.Now())
	}
	var said []string
	for _, id := range ch.IDs {
		switch n, ok := p.store.Alerts(id); {
		case !ok:
			p.alerting.watch.Gone(id)
			continue
		case n == 0: // most calls: no need to decode the call
			p.alerting.watch.Quiet(id)
			continue
		}
		c, _ := p.store.Get(id)
		for _, a := range p.alerting.watch.News(c) {
			who := callWho(c, p.bot)
			said = append(said, "Alert: "+a.Words+", call from "+who)
			if p.alerting.notify.On && p.alerting.notify.Permission == "granted" {
				body := "Call from " + who
				if a.Detail != "" {
					body += ": " + a.Detail
				}
				showNotification(a.Words, body, "alert-"+c.ID+"-"+a.Rule)
			}
		}
	}
	if len(said) > 0 {
		p.alerting.said = strings.Join(said, ". ") + "."
	}
}

// Acknowledge implements Controller.
func (p *Page) Acknowledge(ctx app.Context, id, rule string) {
	if p.ops[id].InFlight || p.stale() || p.env == nil || p.env.API == nil {
		return
	}
	p.ops[id] = Op{Verb: verbAcknowledge, InFlight: true}
	api := p.env.API
	p.background(func(bg context.Context) func(app.Context) {
		err := api.Acknowledge(bg, id, rule)
		return func(ctx app.Context) {
			switch {
			case console.IsUnauthorized(err):
				goTo(ctx, "/auth/login")
			case err != nil:
				p.ops[id] = Op{Verb: verbAcknowledge, Error: "Could not acknowledge the alert: " + err.Error()}
			default:
				delete(p.ops, id)
			}
		}
	})
}

// renderAlerts shows a call's alerts in words on its row: what the rule
// says, since when, who acknowledged it, and, for supervisors, the control
// that acknowledges it.
func renderAlerts(c calls.Call, who string, canAck bool, op Op, onAck func(rule string) app.EventHandler) app.UI {
	if len(c.Alerts) == 0 {
		return nil
	}
	items := make([]app.UI, 0, len(c.Alerts))
	for _, a := range c.Alerts {
		title := a.Words
		if a.Detail != "" {
			title += " (" + a.Detail + ")"
		}
		title += ", since " + timeOfDay(a.Since)
		chip := app.Span().Class("alert-words").Title(title).Body(
			app.Span().Aria("hidden", "true").Text("⚠ "),
			app.Span().Class("sr-only").Text("Alert: "),
			app.Text(a.Words),
		)
		var ack app.UI
		switch {
		case a.AckedBy != "":
			title += ", acknowledged by " + a.AckedBy
			chip = chip.Class("acked").Title(title)
			ack = app.Span().Class("acked-by").Text("acknowledged by " + a.AckedBy)
		case canAck:
			label := "Acknowledge the alert “" + a.Words + "” on the call from " + who
			b := app.Button().Type("button").Class("btn", "btn-small", "btn-ack").
				DataSet("action", "ack").DataSet("call-id", c.ID).DataSet("rule", a.Rule).
				Aria("label", label).Title(label).OnClick(onAck(a.Rule), c.ID, a.Rule).Text("Acknowledge")
			if op.InFlight {
				b = b.Disabled(true)
			}
			ack = b
		}
		items = append(items, app.Span().Class("alert").DataSet("rule", a.Rule).Body(chip, ack))
	}
	return app.Span().Class("alerts").Body(items...)
}

// AlertBar says what the console last announced about alerts and offers
// browser notifications. Its live region is always in the page (a region
// added with its text is not read out).
type AlertBar struct {
	app.Compo

	Said   string
	Notify notifyState
	Ctl    AlertControl
}

// Render draws the bar.
func (b *AlertBar) Render() app.UI {
	return app.Div().Class("alert-bar").Body(
		app.P().ID("alert-live").Class("alert-said").Aria("live", "assertive").Aria("atomic", "true").Text(b.Said),
		b.control(),
	)
}

func (b *AlertBar) control() app.UI {
	n := b.Notify
	switch {
	case !n.Supported:
		return nil
	case n.Permission == "denied":
		return app.Span().Class("hint").ID("alert-notify-state").Text("Alert notifications are blocked in this browser's settings.")
	case n.On:
		return app.Button().Type("button").Class("btn", "btn-small").ID("alert-notify").Aria("pressed", true).
			OnClick(b.onToggle).Text("Alert notifications on")
	default:
		return app.Button().Type("button").Class("btn", "btn-small").ID("alert-notify").Aria("pressed", false).
			Title("Show a browser notification when an alert fires").OnClick(b.onToggle).Text("Notify me of alerts")
	}
}

func (b *AlertBar) onToggle(ctx app.Context, e app.Event) { b.Ctl.ToggleNotifications(ctx) }
