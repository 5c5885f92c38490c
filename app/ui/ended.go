package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/reasons"
	"switchboard/app/verbs"
)

// EndedList shows one page of the recently ended calls, each with why it
// ended in words and who ended it.
type EndedList struct {
	app.Compo

	Calls []calls.Call
	// Reasons holds why each of Calls ended, in the same order.
	Reasons              []reasons.Reason
	Total, Offset, Limit int
	// Admin shows the Delete button.
	Admin bool
	// CanAct shows Acknowledge on an alert (a failure-rate alert is
	// carried by an ended call).
	CanAct bool
	Stale  bool
	// Bot is the bot's own identity, which rows do not repeat.
	Bot calls.Party
	// Filtered says the list keeps one category (from the summary).
	Filtered bool
	Ops      map[string]Op
	// Progressive draws the first rows a few per frame (see grower).
	Progressive bool
	Ctl         Controller

	rows grower
}

// OnMount starts drawing the rows.
func (l *EndedList) OnMount(ctx app.Context) { l.rows.grow(ctx, l.Progressive, l.Limit) }

// OnUpdate goes on drawing them.
func (l *EndedList) OnUpdate(ctx app.Context) { l.rows.grow(ctx, l.Progressive, l.Limit) }

// Render draws the list.
func (l *EndedList) Render() app.UI {
	if len(l.Calls) == 0 {
		text := "No call ended recently."
		if l.Filtered {
			text = "No recently ended call of this kind."
		}
		return app.P().Class("empty").ID("ended-empty").Text(text)
	}
	items := make([]app.UI, l.rows.limit(len(l.Calls), l.Progressive))
	for i, c := range l.Calls[:len(items)] {
		var r reasons.Reason
		if i < len(l.Reasons) {
			r = l.Reasons[i]
		}
		items[i] = &EndedRow{Call: c, Reason: r, Admin: l.Admin, CanAct: l.CanAct, Stale: l.Stale, Bot: l.Bot, Op: l.Ops[c.ID], Ctl: l.Ctl}
	}
	cls := "ended-list"
	if l.Stale {
		cls += " stale"
	}
	return app.Div().Body(
		app.Ol().ID("ended-calls").Class(cls).Body(items...),
		&Pager{Ended: true, ID: "ended-range", Offset: l.Offset, Limit: l.Limit, Total: l.Total, Ctl: l.Ctl},
	)
}

// EndedRow is one ended call in two short lines: when, who and how long;
// then why (decoded, with its category and raw code) and who ended it.
// Graph's own message (with its DiagCode) is in the detail view only.
type EndedRow struct {
	app.Compo

	Call   calls.Call
	Reason reasons.Reason
	Admin  bool
	CanAct bool
	Stale  bool
	Bot    calls.Party
	Op     Op
	Ctl    Controller
}

// Render draws the row.
func (r *EndedRow) Render() app.UI {
	c := r.Call
	who := callWho(c, r.Bot)
	buttons := []app.UI{}
	if r.Admin && c.Why(verbs.Delete) == "" {
		buttons = append(buttons, &ActionButton{CallID: c.ID, Verb: verbs.Delete, Who: "the conversation with " + who, Op: r.Op, Stale: r.Stale, Ctl: r.Ctl})
	}
	buttons = append(buttons, actionButton(c.ID, "details", "Details", "Details of ended call from "+who, false, r.onDetails))
	by := endedBy(c)
	cls := "ended-row cat-" + string(r.Reason.Category)
	if len(c.Alerts) > 0 {
		cls += " alerted"
	}
	return app.Li().ID("ended-"+c.ID).Class(cls).TabIndex(-1).
		DataSet("call-id", c.ID).DataSet("seq", c.Seq).DataSet("category", string(r.Reason.Category)).
		Body(
			app.Div().Class("ended-head").Body(
				app.Time().Class("when").Text(timeOfDay(c.EndedAt)),
				app.Span().Class("parties").Title(partyWords(c.Source)+" → "+targetsWords(c.Targets)).Body(
					renderParty(c.Source, r.Bot), app.Text(" → "), renderTargets(c.Targets, r.Bot),
				),
				app.Span().Class("duration").Aria("label", "lasted "+clock(c.Duration(c.EndedAt))).Text(clock(c.Duration(c.EndedAt))),
				app.Div().Class("actions").Role("group").Aria("label", "Actions on the ended call from "+who).Body(buttons...),
			),
			app.P().Class("reason").Title(r.Reason.String()).Body(
				app.Span().Class("cat cat-"+string(r.Reason.Category)).Text(r.Reason.Category.Label()),
				app.Text(" "),
				app.Span().Class("why").Text(r.Reason.Text),
				app.If(r.Reason.Raw() != "", app.Code().Class("raw").Title("resultInfo code/subcode, or terminationReason").Text(r.Reason.Raw())),
				app.If(by != "", app.Span().Class("ended-by").Text(by)),
				app.If(c.MarkedForDeletion, app.Span().Class("flag").Text("marked for deletion")),
			),
			app.If(len(c.Alerts) > 0, app.P().Class("reason").Body(renderAlerts(c, who, r.CanAct && !r.Stale, r.Op, r.onAck))),
			renderOpError(c.ID, r.Op, r.onDismiss),
		)
}

// onAck acknowledges the rule's alert of the row's call, read at click time.
func (r *EndedRow) onAck(rule string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if r.Stale || r.Ctl == nil {
			return
		}
		r.Ctl.Acknowledge(ctx, r.Call.ID, rule)
	}
}

func (r *EndedRow) onDetails(ctx app.Context, e app.Event) { r.Ctl.Select(ctx, r.Call.ID) }

func (r *EndedRow) onDismiss(ctx app.Context, e app.Event) { r.Ctl.Dismiss(ctx, r.Call.ID) }
