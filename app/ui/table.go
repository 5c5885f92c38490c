package ui

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/verbs"
)

// LiveTable shows one page of the live calls. It mounts at most Limit rows
// whatever the store holds: go-app freezes when one update mounts more than
// 4,096 components, and every row costs a diff on each render.
type LiveTable struct {
	app.Compo

	// Calls is the page to show, already filtered and sorted.
	Calls []calls.Call
	// Total is how many calls the filter keeps; Offset and Limit place the page.
	Total, Offset, Limit int
	// Now is the server's clock, to the second, for timers.
	Now time.Time
	// CanAct shows the action buttons (supervisors and admins).
	CanAct bool
	// Stale marks the rows as possibly out of date (the feed is not live).
	Stale bool
	// Selected is the call the detail panel shows.
	Selected string
	// Ops holds the actions in flight or failed, by call id.
	Ops map[string]Op
	Ctl Controller
}

// Render draws the table, or a sentence when there is nothing to show.
func (t *LiveTable) Render() app.UI {
	if len(t.Calls) == 0 {
		text := "No live calls."
		if t.Total > 0 {
			text = "No calls on this page."
		}
		return app.Div().Class("table-wrap").Body(
			app.P().Class("empty").ID("live-empty").Text(text),
		)
	}
	rows := make([]app.UI, len(t.Calls))
	for i, c := range t.Calls {
		rows[i] = &Row{Call: c, Now: t.Now, CanAct: t.CanAct, Op: t.Ops[c.ID], Selected: c.ID == t.Selected, Ctl: t.Ctl}
	}
	cls := "calls"
	if t.Stale {
		cls += " stale"
	}
	return app.Div().Class("table-wrap").Body(
		app.Table().ID("live-calls").Class(cls).Aria("describedby", "live-range").Body(
			app.Caption().Class("sr-only").Text("Live calls, newest first"),
			app.THead().Body(app.Tr().Body(
				app.Th().Scope("col").Text("State"),
				app.Th().Scope("col").Body(app.Span().Class("sr-only").Text("Direction")),
				app.Th().Scope("col").Text("Caller"),
				app.Th().Scope("col").Text("Callee"),
				app.Th().Scope("col").Text("Media"),
				app.Th().Scope("col").Text("Subject"),
				app.Th().Scope("col").Text("Duration"),
				app.Th().Scope("col").Text("Actions"),
			)),
			app.TBody().Body(rows...),
		),
		&Pager{Ended: false, ID: "live-range", Offset: t.Offset, Limit: t.Limit, Total: t.Total, Ctl: t.Ctl},
	)
}

// Row is one live call. Its handlers read the call id from the row's own
// Call field when the event fires: go-app reuses row components by
// position, so a row may show another call than when it was first drawn.
type Row struct {
	app.Compo

	Call     calls.Call
	Now      time.Time
	CanAct   bool
	Op       Op
	Selected bool
	Ctl      Controller
}

// Render draws the row.
func (r *Row) Render() app.UI {
	c := r.Call
	cls := "row"
	if r.Selected {
		cls += " selected"
	}
	if c.MarkedForDeletion {
		cls += " marked"
	}
	glyph, dir := directionGlyph(c.Direction)
	return app.Tr().
		ID("call-"+c.ID).
		Class(cls).
		DataSet("call-id", c.ID).
		DataSet("seq", c.Seq).
		DataSet("state", string(c.State)).
		Body(
			app.Td().Class("c-state").DataSet("label", "State").Body(
				app.Span().Class(stateClass(c.State)).Text(string(c.State)),
				app.If(needsAnswer(c), renderCountdown(c, r.Now)),
				app.If(c.MarkedForDeletion, app.Span().Class("flag").Text("marked for deletion")),
			),
			app.Td().Class("c-dir").DataSet("label", "Direction").Body(
				app.Span().Class("dir").Aria("label", dir).Title(dir).Text(glyph),
			),
			app.Td().Class("c-from").DataSet("label", "Caller").Body(renderParty(c.Source)),
			app.Td().Class("c-to").DataSet("label", "Callee").Body(renderTargets(c.Targets)...),
			app.Td().Class("c-media").DataSet("label", "Media").Body(renderModalities(c.Modalities)...),
			app.Td().Class("c-subject").DataSet("label", "Subject").Text(orDash(c.Subject)),
			app.Td().Class("c-dur").DataSet("label", "Duration").Body(
				app.Time().Class("duration").Text(clock(c.Duration(r.Now))),
			),
			app.Td().Class("c-actions").DataSet("label", "Actions").Body(
				app.Div().Class("actions").Body(r.buttons()...),
				renderOpError(c.ID, rowOp(r.Op), r.onDismiss),
			),
		)
}

func (r *Row) buttons() []app.UI {
	c := r.Call
	who := c.Source.Label()
	out := []app.UI{
		actionButton(c.ID, "details", "Details", "Show details of the call from "+who, false, r.onDetails),
	}
	role := verbs.Viewer
	if r.CanAct {
		role = verbs.Supervisor
	}
	for _, s := range verbs.Offer(role, c.Facts()) {
		out = append(out, &ActionButton{CallID: c.ID, Verb: s.Verb, Who: "the call from " + who, Op: rowOp(r.Op), Ctl: r.Ctl})
	}
	return out
}

// rowOp is the operation a row's buttons show: one on a participant shows
// in the details instead, but still keeps the row's buttons disabled.
func rowOp(op Op) Op {
	if op.Participant != "" {
		return Op{InFlight: op.InFlight}
	}
	return op
}

func (r *Row) onDetails(ctx app.Context, e app.Event) {
	r.Ctl.Select(ctx, r.Call.ID)
}

func (r *Row) onDismiss(ctx app.Context, e app.Event) {
	r.Ctl.Dismiss(ctx, r.Call.ID)
}

// actionButton is a button of a row: labelled for screen readers, marked
// with the call id and the action for tests, disabled while busy.
func actionButton(id, action, text, label string, disabled bool, h app.EventHandler) app.UI {
	return app.Button().
		Type("button").
		Class("btn", "btn-"+action).
		DataSet("action", action).
		DataSet("call-id", id).
		Aria("label", label).
		Disabled(disabled).
		OnClick(h).
		Text(text)
}

// renderOpError shows why the last action on a call failed, in words.
func renderOpError(id string, op Op, dismiss app.EventHandler) app.UI {
	if op.Error == "" {
		return nil
	}
	return app.P().Class("op-error").Role("alert").DataSet("call-id", id).Body(
		app.Span().Text(op.Error),
		app.Button().Type("button").Class("btn-link").Aria("label", "Dismiss this error").OnClick(dismiss).Text("×"),
	)
}

// renderCountdown shows the seconds left to answer. now is the page's clock
// truncated to the second (and the server's clock is estimated), so it may
// read up to a second before the call started: the count is capped at the
// deadline rather than show 16 s of a 15-second wait.
func renderCountdown(c calls.Call, now time.Time) app.UI {
	left := countdown(c, now)
	deadline := int(calls.IncomingDeadline / time.Second)
	secs := min(int((left+time.Second-1)/time.Second), deadline)
	if left <= 0 {
		return app.Span().Class("countdown late").Role("timer").Text("deadline passed")
	}
	return app.Span().Class("countdown").Role("timer").
		Aria("label", "answer within "+strconv.Itoa(secs)+" seconds").
		Body(
			app.Meter().Min(0).Max(deadline).Value(float64(secs)).Low(5).Optimum(float64(deadline)),
			app.Span().Text(strconv.Itoa(secs)+" s"),
		)
}

func renderParty(p calls.Party) app.UI {
	return app.Div().Class("party").Body(
		app.Span().Class("label").Text(orDash(p.Label())),
		app.If(partyDetail(p) != "", app.Small().Text(partyDetail(p))),
	)
}

func renderTargets(ps []calls.Party) []app.UI {
	if len(ps) == 0 {
		return []app.UI{app.Text("—")}
	}
	out := make([]app.UI, len(ps))
	for i, p := range ps {
		out[i] = renderParty(p)
	}
	return out
}

func renderModalities(ms []string) []app.UI {
	if len(ms) == 0 {
		return []app.UI{app.Text("—")}
	}
	out := make([]app.UI, len(ms))
	for i, m := range ms {
		glyph, words := modality(m)
		out[i] = app.Span().Class("chip", "m-"+m).Title(words).Body(
			app.Span().Aria("hidden", "true").Text(glyph),
			app.Span().Class("chip-text").Text(words),
		)
	}
	return out
}

// Pager moves a table's window a page at a time.
type Pager struct {
	app.Compo

	// Ended says which table the pager moves.
	Ended bool
	// ID is the id of the range text, which the table refers to.
	ID                   string
	Offset, Limit, Total int
	Ctl                  Controller
}

// Render draws "1–50 of 2,000" between the previous and next buttons.
func (p *Pager) Render() app.UI {
	from, to := p.Offset+1, min(p.Offset+p.Limit, p.Total)
	return app.Nav().Class("pager").Aria("label", "Pages").Body(
		app.Button().Type("button").Class("btn").DataSet("action", "prev").
			Aria("label", "Previous page").Disabled(p.Offset == 0).OnClick(p.onPrev).Text("‹ Previous"),
		app.Span().ID(p.ID).Text(count(from)+"–"+count(to)+" of "+count(p.Total)),
		app.Button().Type("button").Class("btn").DataSet("action", "next").
			Aria("label", "Next page").Disabled(to >= p.Total).OnClick(p.onNext).Text("Next ›"),
	)
}

func (p *Pager) onPrev(ctx app.Context, e app.Event) {
	p.Ctl.ShowPage(ctx, p.Ended, p.Offset-p.Limit)
}

func (p *Pager) onNext(ctx app.Context, e app.Event) {
	p.Ctl.ShowPage(ctx, p.Ended, p.Offset+p.Limit)
}
