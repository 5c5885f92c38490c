package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

// LiveTable shows one page of the live calls, one line per call. It mounts
// at most Limit rows whatever the store holds: go-app freezes when one
// update mounts more than 4,096 components, and every row costs a diff on
// each render. Its columns have fixed widths, so they hold still whether
// or not a call with more buttons is on the page.
type LiveTable struct {
	app.Compo

	// Calls is the page to show, already filtered and sorted.
	Calls []calls.Call
	// Total is how many calls the filter keeps, All how many are live;
	// Offset and Limit place the page.
	Total, All, Offset, Limit int
	// Now is the clock the rows' timers start from when they observe no
	// other (the page sets its clock as a go-app state instead, so that
	// a second passing does not re-render every row).
	Now time.Time
	// CanAct shows the action buttons (supervisors and admins).
	CanAct bool
	// Stale marks the rows as possibly out of date (the feed is not live)
	// and disables their actions.
	Stale bool
	// Selected is the call the detail panel shows.
	Selected string
	// Bot is the bot's own identity, which rows do not repeat.
	Bot calls.Party
	// Filter is the table's filter and sort, for the headers and for
	// saying what a search found.
	Filter console.Filter
	// Ops holds the actions in flight or failed, by call id.
	Ops map[string]Op
	// Progressive draws the first rows a few per frame (see grower).
	Progressive bool
	// Waiting says no view arrived yet: an empty table is not "no calls".
	Waiting bool
	// Picked are the shown calls picked for a bulk action; Bulk is what
	// the bar under the table says (supervisors only).
	Picked map[string]bool
	Bulk   BulkInfo
	// Claims are the claims others hold on the shown calls.
	Claims map[string]feedwire.Claim
	Ctl    Controller

	rows grower
}

// OnMount starts drawing the rows.
func (t *LiveTable) OnMount(ctx app.Context) { t.rows.grow(ctx, t.Progressive, t.Limit) }

// OnUpdate goes on drawing them.
func (t *LiveTable) OnUpdate(ctx app.Context) { t.rows.grow(ctx, t.Progressive, t.Limit) }

// columns are the live table's columns: class, header, and the sort key
// of the columns that sort.
var columns = []struct {
	class, title, abbr string
	sort               console.SortKey
}{
	{"c-state", "State", "", console.SortState},
	{"c-dir", "Dir.", "Direction", ""},
	{"c-from", "Caller", "", console.SortCaller},
	{"c-to", "Callee", "", console.SortCallee},
	{"c-media", "Media", "", ""},
	{"c-subject", "Subject", "", ""},
	{"c-dur", "Duration", "", console.SortDuration},
	{"c-actions", "Actions", "", ""},
}

// Render draws the table, with a sentence in place of rows when there are
// none: no live call, or none that the search or filter keeps.
func (t *LiveTable) Render() app.UI {
	rows := make([]app.UI, t.rows.limit(len(t.Calls), t.Progressive))
	for i, c := range t.Calls[:len(rows)] {
		rows[i] = &Row{Call: c, Now: t.Now, CanAct: t.CanAct, Stale: t.Stale, Op: t.Ops[c.ID],
			Selected: c.ID == t.Selected, Bot: t.Bot, Picked: t.Picked[c.ID], Claim: t.Claims[c.ID], Ctl: t.Ctl}
	}
	cls := "calls"
	if t.Stale {
		cls += " stale"
	}
	if t.CanAct {
		cls += " pickable" // a checkbox on every row
	}
	var cols, heads []app.UI
	if t.CanAct {
		cols = append(cols, app.Col().Class("c-pick"))
		heads = append(heads, app.Th().Scope("col").Class("c-pick").Body(app.Span().Class("sr-only").Text("Select")))
	}
	for _, col := range columns {
		cols = append(cols, app.Col().Class(col.class))
		heads = append(heads, t.header(col.class, col.title, col.abbr, col.sort))
	}
	return app.Div().Class("table-wrap").Body(
		app.Table().ID("live-calls").Class(cls).Aria("describedby", "live-range").Body(
			app.Caption().Class("sr-only").Text(t.caption()),
			app.ColGroup().Body(cols...),
			app.THead().Body(app.Tr().Body(heads...)),
			app.TBody().Body(rows...),
		),
		app.If(len(t.Calls) == 0, app.P().Class("empty").ID("live-empty").Role("status").Text(t.emptyText())),
		app.Div().Class("live-foot").Body(
			app.If(t.CanAct, &BulkBar{Info: t.Bulk, Stale: t.Stale, Ctl: t.Ctl}),
			&Pager{Ended: false, ID: "live-range", Offset: t.Offset, Limit: t.Limit, Total: t.Total, Ctl: t.Ctl},
		),
	)
}

func (t *LiveTable) caption() string {
	if t.Filter.Sort == console.SortTime {
		return "Live calls, newest first"
	}
	order := "ascending"
	if t.Filter.Desc {
		order = "descending"
	}
	return "Live calls, by " + string(t.Filter.Sort) + ", " + order
}

// emptyText says why no row shows.
func (t *LiveTable) emptyText() string {
	switch {
	case t.All == 0 && t.Waiting:
		return "Waiting for the live calls…"
	case t.All == 0:
		return "No live calls."
	case t.Total == 0:
		what := "the filter"
		if q := strings.TrimSpace(t.Filter.Search); q != "" {
			what = "“" + q + "”"
		}
		return "No live call matches " + what + " (" + plural(t.All, "live call") + " in all)."
	default:
		return "No calls on this page."
	}
}

// header is a column's header; the columns people sort by are buttons
// that sort, and say how with aria-sort.
func (t *LiveTable) header(class, title, abbr string, key console.SortKey) app.UI {
	th := app.Th().Scope("col").Class(class)
	label := app.UI(app.Text(title))
	if abbr != "" {
		label = app.Abbr().Title(abbr).Aria("label", abbr).Text(title)
	}
	if key == "" {
		return th.Body(label)
	}
	sorted := t.Filter.Sort == key
	sortWord, arrow := "none", ""
	if sorted {
		sortWord, arrow = "ascending", " ▲"
		if t.Filter.Desc {
			sortWord, arrow = "descending", " ▼"
		}
	}
	if sorted {
		th = th.Aria("sort", sortWord)
	}
	return th.Body(&SortButton{Key: key, Title: title, Arrow: arrow, Sorted: sorted, Desc: t.Filter.Desc, Filter: t.Filter, Ctl: t.Ctl})
}

// SortButton sorts the live table by its column; a second click reverses
// the order, a third goes back to newest first.
type SortButton struct {
	app.Compo

	Key          console.SortKey
	Title, Arrow string
	Sorted, Desc bool
	Filter       console.Filter
	Ctl          Controller
}

// Render draws the button.
func (b *SortButton) Render() app.UI {
	return app.Button().Type("button").Class("sort").DataSet("sort", string(b.Key)).OnClick(b.onClick).
		Body(app.Text(b.Title), app.Span().Class("arrow").Aria("hidden", "true").Text(b.Arrow))
}

// onClick reads the button's fields at click time.
func (b *SortButton) onClick(ctx app.Context, e app.Event) {
	f := b.Filter
	switch {
	case !b.Sorted:
		f.Sort, f.Desc = b.Key, false
	case !b.Desc:
		f.Desc = true
	default:
		f.Sort, f.Desc = console.SortTime, false
	}
	b.Ctl.SetFilter(ctx, f)
}

// Row is one live call on one line. Its handlers read the call id from the
// row's own Call field when the event fires: go-app reuses row components
// by position, so a row may show another call than when it was first drawn.
type Row struct {
	app.Compo

	Call     calls.Call
	Now      time.Time
	CanAct   bool
	Stale    bool
	Op       Op
	Selected bool
	Bot      calls.Party
	// Picked reports that the call is picked for a bulk action.
	Picked bool
	// Claim is someone else's claim on the call: "alice is hanging up".
	Claim feedwire.Claim
	Ctl   Controller
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
	if len(c.Alerts) > 0 {
		cls += " alerted"
		if c.Unacknowledged() {
			cls += " unacked"
		}
	}
	if isApplication(c.Source) {
		cls += " from-bot" // the phone layout names whom the bot calls instead
	}
	if r.Picked {
		cls += " picked"
	}
	if r.Claim.Holder != "" {
		cls += " claimed"
	}
	glyph, dir := directionGlyph(c.Direction)
	return app.Tr().
		ID("call-"+c.ID).
		Class(cls).
		TabIndex(-1).
		DataSet("call-id", c.ID).
		DataSet("seq", c.Seq).
		DataSet("state", string(c.State)).
		Body(
			app.If(r.CanAct, app.Td().Class("c-pick").Body(
				&PickBox{CallID: c.ID, Who: callWho(c, r.Bot), Picked: r.Picked, Ctl: r.Ctl},
			)),
			app.Td().Class("c-state").Body(
				app.Span().Class(stateClass(c.State)).Text(string(c.State)),
				app.If(needsAnswer(c), &Clock{Started: c.StartedAt, Countdown: true, Now: r.Now}),
				app.If(c.MarkedForDeletion, app.Span().Class("flag").Title("marked for deletion: deleted when it ends").Text("marked for deletion")),
			),
			app.Td().Class("c-dir").Body(
				app.Span().Class("dir").Aria("label", dir).Title(dir).Text(glyph),
			),
			app.Td().Class("c-from").Title(partyWords(c.Source)).Body(renderParty(c.Source, r.Bot)),
			app.Td().Class("c-to").Title(targetsWords(c.Targets)).Body(renderTargets(c.Targets, r.Bot)),
			app.Td().Class("c-media").Body(renderModalities(c.Modalities)...),
			app.Td().Class("c-subject").Title(c.Subject).Body(
				renderClaim(r.Claim),
				renderAlerts(c, callWho(c, r.Bot), r.CanAct && !r.Stale, r.Op, r.onAck),
				app.Span().Class("subject").Text(orDash(c.Subject)),
			),
			app.Td().Class("c-dur").Body(&Clock{From: c.CountsFrom(), Now: r.Now}),
			app.Td().Class("c-actions").Body(
				app.Div().Class("actions").Role("group").Aria("label", "Actions on the call from "+callWho(c, r.Bot)).Body(r.buttons()...),
				renderOpError(c.ID, rowOp(r.Op), r.onDismiss),
			),
		)
}

func (r *Row) buttons() []app.UI {
	c := r.Call
	who := callWho(c, r.Bot)
	var out []app.UI
	if r.CanAct {
		for _, s := range verbs.Offer(verbs.Supervisor, c.Facts()) {
			out = append(out, actionElem(s, c.ID, "", "call from "+who, rowOp(r.Op), r.Stale, r.onVerb(s.Verb)))
		}
	}
	out = append(out, actionButton(c.ID, "details", "Details", "Details of call from "+who, false, r.onDetails))
	return out
}

// callWho names a call for labels: its caller, or for the bot's own
// outgoing calls, whom it calls.
func callWho(c calls.Call, bot calls.Party) string {
	if (isBot(c.Source, bot) || isApplication(c.Source)) && len(c.Targets) > 0 && c.Targets[0].Label() != "" {
		return "the bot to " + c.Targets[0].Label()
	}
	return orDash(c.Source.Label())
}

// rowOp is the operation a row's buttons show: one on a participant shows
// in the details instead, but still keeps the row's buttons disabled.
func rowOp(op Op) Op {
	if op.Participant != "" {
		return Op{InFlight: op.InFlight}
	}
	return op
}

// onVerb is the click of the row's button for verb: it reads the call
// from the row at click time.
func (r *Row) onVerb(verb verbs.Verb) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if r.Stale || r.Ctl == nil {
			return
		}
		r.Ctl.Request(ctx, r.Call.ID, verb)
	}
}

// onAck is the click of the Acknowledge control of the rule's alert: it
// reads the call from the row at click time.
func (r *Row) onAck(rule string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if r.Stale || r.Ctl == nil {
			return
		}
		r.Ctl.Acknowledge(ctx, r.Call.ID, rule)
	}
}

func (r *Row) onDetails(ctx app.Context, e app.Event) {
	r.Ctl.Select(ctx, r.Call.ID)
}

func (r *Row) onDismiss(ctx app.Context, e app.Event) {
	r.Ctl.Dismiss(ctx, r.Call.ID)
}

// actionButton is a button of a row: labelled for screen readers, marked
// with the call id and the action for tests and for the focus, disabled
// while busy.
func actionButton(id, action, text, label string, disabled bool, h app.EventHandler) app.UI {
	b := app.Button().
		Type("button").
		Class("btn", "btn-"+action).
		DataSet("action", action).
		DataSet("call-id", id).
		Aria("label", label).
		Title(label).
		OnClick(h, id).
		Text(text)
	if disabled {
		b = b.Disabled(true)
	}
	return b
}

// renderOpError shows why the last action on a call failed, in words.
func renderOpError(id string, op Op, dismiss app.EventHandler) app.UI {
	if op.Error == "" {
		return nil
	}
	return app.P().Class("op-error").Role("alert").DataSet("call-id", id).Body(
		app.Span().Text(op.Error),
		app.Button().Type("button").Class("btn-link").DataSet("call-id", id).DataSet("action", "dismiss").
			Aria("label", "Dismiss this error").OnClick(dismiss, id).Text("×"),
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
			app.Meter().Min(0).Max(deadline).Value(float64(secs)).Low(5).Optimum(float64(deadline)).Aria("hidden", "true"),
			app.Span().Aria("hidden", "true").Text(strconv.Itoa(secs)+"\u00a0s"),
		)
}

// renderParty names a party on one line: the bot as "bot" (its identity
// is in the header), anyone else by name; ids are in the cell's title.
func renderParty(p calls.Party, bot calls.Party) app.UI {
	if isBot(p, bot) {
		return app.Span().Class("label", "is-bot").Text("bot")
	}
	return app.Span().Class("label").Text(orDash(p.Label()))
}

func renderTargets(ps []calls.Party, bot calls.Party) app.UI {
	if len(ps) == 0 {
		return app.Text("—")
	}
	first := renderParty(ps[0], bot)
	if len(ps) == 1 {
		return first
	}
	return app.Span().Body(first, app.Span().Class("more").Text(" +"+strconv.Itoa(len(ps)-1)))
}

// targetsWords is every target in full, for the cell's title.
func targetsWords(ps []calls.Party) string {
	words := make([]string, len(ps))
	for i, p := range ps {
		words[i] = partyWords(p)
	}
	return strings.Join(words, "; ")
}

func renderModalities(ms []string) []app.UI {
	if len(ms) == 0 {
		return []app.UI{app.Text("—")}
	}
	out := make([]app.UI, len(ms))
	for i, m := range ms {
		glyph, words := modality(m)
		out[i] = app.Span().Class("chip", "m-"+m).Role("img").Aria("label", words).Title(words).Text(glyph)
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
	from, to := min(p.Offset+1, p.Total), min(p.Offset+p.Limit, p.Total)
	label := "live calls"
	if p.Ended {
		label = "ended calls"
	}
	prev := app.Button().Type("button").Class("btn", "btn-small").DataSet("action", "prev").
		Aria("label", "Previous page of "+label).OnClick(p.onPrev).Text("‹ Previous")
	if p.Offset == 0 {
		prev = prev.Disabled(true)
	}
	next := app.Button().Type("button").Class("btn", "btn-small").DataSet("action", "next").
		Aria("label", "Next page of "+label).OnClick(p.onNext).Text("Next ›")
	if to >= p.Total {
		next = next.Disabled(true)
	}
	return app.Div().Class("pager").Role("group").Aria("label", "Pages of "+label).Body(
		prev, app.Span().ID(p.ID).Text(count(from)+"–"+count(to)+" of "+count(p.Total)), next,
	)
}

func (p *Pager) onPrev(ctx app.Context, e app.Event) {
	p.Ctl.ShowPage(ctx, p.Ended, p.Offset-p.Limit)
}

func (p *Pager) onNext(ctx app.Context, e app.Event) {
	p.Ctl.ShowPage(ctx, p.Ended, p.Offset+p.Limit)
}
