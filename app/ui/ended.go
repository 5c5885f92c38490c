package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/reasons"
	"switchboard/app/verbs"
)

// EndedList shows one page of the recently ended calls, each with why it
// ended in words.
type EndedList struct {
	app.Compo

	Calls []calls.Call
	// Reasons holds why each of Calls ended, in the same order.
	Reasons              []reasons.Reason
	Total, Offset, Limit int
	// Admin shows the Delete button.
	Admin bool
	Stale bool
	Ops   map[string]Op
	Ctl   Controller
}

// Render draws the list.
func (l *EndedList) Render() app.UI {
	if len(l.Calls) == 0 {
		return app.P().Class("empty").ID("ended-empty").Text("No call ended recently.")
	}
	items := make([]app.UI, len(l.Calls))
	for i, c := range l.Calls {
		var r reasons.Reason
		if i < len(l.Reasons) {
			r = l.Reasons[i]
		}
		items[i] = &EndedRow{Call: c, Reason: r, Admin: l.Admin, Op: l.Ops[c.ID], Ctl: l.Ctl}
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

// EndedRow is one ended call: when, who, why (decoded, with its category
// and raw code/subcode), who ended it, and how long it lasted.
type EndedRow struct {
	app.Compo

	Call   calls.Call
	Reason reasons.Reason
	Admin  bool
	Op     Op
	Ctl    Controller
}

// Render draws the row.
func (r *EndedRow) Render() app.UI {
	c := r.Call
	raw := r.Reason.Raw()
	if raw == "" {
		raw = "no resultInfo"
	}
	who := c.Source.Label()
	buttons := []app.UI{
		actionButton(c.ID, "details", "Details", "Show details of the ended call from "+who, false, r.onDetails),
	}
	if r.Admin && c.Why(verbs.Delete) == "" {
		buttons = append(buttons, &ActionButton{CallID: c.ID, Verb: verbs.Delete, Who: "the conversation with " + who, Op: r.Op, Ctl: r.Ctl})
	}
	return app.Li().ID("ended-"+c.ID).Class("ended-row cat-"+string(r.Reason.Category)).
		DataSet("call-id", c.ID).DataSet("seq", c.Seq).DataSet("category", string(r.Reason.Category)).
		Body(
			app.Div().Class("ended-head").Body(
				app.Time().Class("when").Text(timeOfDay(c.EndedAt)),
				app.Span().Class("parties").Text(orDash(who)+" → "+callees(c)),
				app.Span().Class("duration").Aria("label", "lasted "+clock(c.Duration(c.EndedAt))).Text(clock(c.Duration(c.EndedAt))),
			),
			app.P().Class("reason").Body(
				app.Span().Class("cat cat-"+string(r.Reason.Category)).Text(r.Reason.Category.Label()),
				app.Text(" "+r.Reason.Text+" "),
				app.Code().Class("raw").Title("resultInfo code/subcode, or terminationReason").Text(raw),
			),
			app.If(c.Result != nil && c.Result.Message != "" && c.Result.Message != r.Reason.Text,
				app.P().Class("graph-message").Text("Graph said: "+resultMessage(c)),
			),
			app.If(endedBy(c) != "", app.P().Class("ended-by").Text(endedBy(c))),
			app.If(c.MarkedForDeletion, app.P().Class("flag").Text("marked for deletion")),
			app.Div().Class("actions").Body(buttons...),
			renderOpError(c.ID, r.Op, r.onDismiss),
		)
}

func resultMessage(c calls.Call) string {
	if c.Result == nil {
		return ""
	}
	return c.Result.Message
}

func (r *EndedRow) onDetails(ctx app.Context, e app.Event) { r.Ctl.Select(ctx, r.Call.ID) }

func (r *EndedRow) onDismiss(ctx app.Context, e app.Event) { r.Ctl.Dismiss(ctx, r.Call.ID) }
