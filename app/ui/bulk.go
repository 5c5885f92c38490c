package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

// bulkVerb is the action a supervisor takes on the calls picked in the
// live table.
const bulkVerb = verbs.HangUp

// bulkState is what the page knows of picking calls and acting on them
// at once: the calls picked, the last one clicked (where a shift-click
// range starts), the confirmation, and how the last bulk action went.
type bulkState struct {
	Picked map[string]bool
	Anchor string
	// Confirming is set while the confirmation is open.
	Confirming bool
	// InFlight is set while the request is out.
	InFlight bool
	// Result says in words how the last bulk action went; Failed that some
	// calls were not hung up (each says why on its row).
	Result string
	Failed bool
}

// BulkInfo is what the bulk bar shows: how many calls are picked (and how
// many of those the filter hides), in which states, how many the filter
// keeps, and how the last bulk action went.
type BulkInfo struct {
	Picked, Hidden, Filtered int
	States                   string
	InFlight                 bool
	Result                   string
	Failed                   bool
}

// Pick implements Controller.
func (p *Page) Pick(ctx app.Context, id string, on, shift bool) {
	if p.bulk.Picked == nil {
		p.bulk.Picked = make(map[string]bool)
	}
	if shift && p.bulk.Anchor != "" && p.bulk.Anchor != id {
		p.pickRange(p.bulk.Anchor, id, on)
	} else {
		p.setPicked(id, on)
	}
	p.bulk.Anchor = id
	p.bulk.Result, p.bulk.Failed = "", false
}

// pickRange picks (or unpicks) every call the live table shows from one
// call to the other, both included, in the table's order.
func (p *Page) pickRange(from, to string, on bool) {
	all, _ := p.store.View(p.filter, 0, -1)
	i := slices.IndexFunc(all, func(c calls.Call) bool { return c.ID == from })
	j := slices.IndexFunc(all, func(c calls.Call) bool { return c.ID == to })
	if i < 0 || j < 0 {
		p.setPicked(to, on)
		return
	}
	if i > j {
		i, j = j, i
	}
	for _, c := range all[i : j+1] {
		p.setPicked(c.ID, on)
	}
}

func (p *Page) setPicked(id string, on bool) {
	if !on {
		delete(p.bulk.Picked, id)
		return
	}
	if c, ok := p.store.Get(id); ok && c.Why(bulkVerb) == "" {
		p.bulk.Picked[id] = true
	}
}

// PickAll implements Controller.
func (p *Page) PickAll(ctx app.Context, on bool) {
	p.bulk.Picked = make(map[string]bool)
	p.bulk.Anchor = ""
	p.bulk.Result, p.bulk.Failed = "", false
	if !on {
		return
	}
	all, _ := p.store.View(p.filter, 0, -1)
	for _, c := range all {
		p.setPicked(c.ID, true)
	}
}

// prunePicked forgets picked calls that ended or left the console.
func (p *Page) prunePicked() {
	for id := range p.bulk.Picked {
		if c, ok := p.store.Get(id); !ok || c.Why(bulkVerb) != "" {
			delete(p.bulk.Picked, id)
		}
	}
}

// pickedCalls are the picked calls the action still applies to, oldest
// first.
func (p *Page) pickedCalls() []calls.Call {
	out := make([]calls.Call, 0, len(p.bulk.Picked))
	for id := range p.bulk.Picked {
		if c, ok := p.store.Get(id); ok && c.Why(bulkVerb) == "" {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b calls.Call) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// bulkInfo is what the bar shows now.
func (p *Page) bulkInfo(filtered int) BulkInfo {
	picked := p.pickedCalls()
	hidden := 0
	for _, c := range picked {
		if !p.store.Keeps(p.filter, c.ID) {
			hidden++
		}
	}
	return BulkInfo{Picked: len(picked), Hidden: hidden, Filtered: filtered, States: statesWords(picked),
		InFlight: p.bulk.InFlight, Result: p.bulk.Result, Failed: p.bulk.Failed}
}

// OpenBulk implements Controller.
func (p *Page) OpenBulk(ctx app.Context) {
	if p.stale() || p.bulk.InFlight || len(p.pickedCalls()) == 0 {
		return
	}
	p.bulk.Confirming = true
}

// CloseBulk implements Controller.
func (p *Page) CloseBulk(ctx app.Context) {
	if !p.bulk.Confirming {
		return
	}
	p.bulk.Confirming = false
	focusID(p.ctxFor(ctx), "bulk-hangup")
}

// ConfirmBulk implements Controller: it sends the picked calls the action
// still applies to in one request, shows them busy meanwhile, then each
// failure on its row and the count in the bar.
func (p *Page) ConfirmBulk(ctx app.Context) {
	picked := p.pickedCalls()
	if !p.bulk.Confirming || p.stale() || len(picked) == 0 || len(picked) > verbs.MaxBulk || p.env == nil || p.env.API == nil {
		return // the dialog says why and offers only to close
	}
	p.bulk.Confirming = false
	// The bar's button is disabled while the request is out: the focus
	// waits on the line's first control.
	focusID(p.ctxFor(ctx), "pick-all")
	ids := make([]string, len(picked))
	for i, c := range picked {
		ids[i] = c.ID
		p.ops[c.ID] = Op{Verb: bulkVerb, InFlight: true}
	}
	// The dialog named the calls someone else is acting on: confirming
	// it acts on them too. A claim it did not know of still refuses its
	// call, which then says who holds it.
	override := len(p.claimsShown(picked)) > 0
	spec, _ := verbs.Lookup(bulkVerb)
	p.bulk = bulkState{Picked: make(map[string]bool), InFlight: true, Result: strings.TrimSuffix(spec.Busy, "…") + " " + plural(len(ids), "call") + "…"}
	api := p.env.API
	p.background(func(bg context.Context) func(app.Context) {
		res, err := api.Bulk(bg, bulkVerb, ids, override)
		return func(ctx app.Context) { p.bulkDone(ctx, spec, ids, res, err) }
	})
}

// bulkDone shows how the bulk action went: each failure on its row, in
// words, and the count in the bar.
func (p *Page) bulkDone(ctx app.Context, spec verbs.Spec, ids []string, res verbs.BulkResult, err error) {
	p.bulk.InFlight = false
	for _, id := range ids {
		delete(p.ops, id)
	}
	if console.IsUnauthorized(err) {
		goTo(ctx, "/auth/login")
		return
	}
	if err != nil {
		p.bulk.Result, p.bulk.Failed = "Could not "+spec.Words+" the "+plural(len(ids), "call")+": "+err.Error(), true
		return
	}
	failed := 0
	for _, o := range res.Outcomes {
		if o.OK() {
			continue
		}
		failed++
		why := strings.TrimPrefix(o.Message, "cannot "+spec.Words+": ")
		p.ops[o.CallID] = Op{Verb: bulkVerb, Error: "Could not " + spec.Words + ": " + why}
	}
	done := len(res.Outcomes) - failed
	p.bulk.Result = capitalise(spec.Done) + " " + plural(done, "call")
	if failed > 0 {
		p.bulk.Result += fmt.Sprintf("; %d could not be: each says why on its row", failed)
		p.bulk.Failed = true
	}
}

// statesWords counts calls by state, most first: "3 established, 1 on
// hold".
func statesWords(list []calls.Call) string {
	n := make(map[calls.State]int)
	var order []calls.State
	for _, c := range list {
		if n[c.State] == 0 {
			order = append(order, c.State)
		}
		n[c.State]++
	}
	slices.SortStableFunc(order, func(a, b calls.State) int { return n[b] - n[a] })
	parts := make([]string, len(order))
	for i, s := range order {
		parts[i] = count(n[s]) + " " + stateWords(s)
	}
	return strings.Join(parts, ", ")
}

// stateWords is a call state as a sentence reads it.
func stateWords(s calls.State) string {
	switch s {
	case "":
		return "not known yet"
	case calls.Hold:
		return "on hold"
	case calls.TransferAccepted:
		return "transfer accepted"
	}
	return string(s)
}

// BulkBar is the line under the live calls that acts on the picked ones:
// how many are picked and in which states, "select all filtered", clear,
// and the button that asks to hang them all up. It also says how the last
// bulk action went.
type BulkBar struct {
	app.Compo

	Info  BulkInfo
	Stale bool
	Ctl   Controller
}

// Render draws the bar.
func (b *BulkBar) Render() app.UI {
	i := b.Info
	spec, _ := verbs.Lookup(bulkVerb)
	what := "No call selected"
	if i.Picked > 0 {
		what = plural(i.Picked, "call") + " selected (" + i.States + ")"
		if i.Hidden > 0 {
			what += ", " + count(i.Hidden) + " hidden by the filter"
		}
	}
	act := app.Button().Type("button").ID("bulk-hangup").Class("btn", "btn-small", "btn-"+string(bulkVerb)).
		Aria("haspopup", "dialog").OnClick(b.onAct).Text(capitalise(spec.Words) + " " + plural(i.Picked, "call") + "…")
	switch {
	case b.Stale:
		act = act.Disabled(true).Title("Not live: actions wait until the console is live again.")
	case i.InFlight:
		act = act.Disabled(true).Title("The last bulk action is still going.")
	case i.Picked == 0:
		act = act.Disabled(true).Title("Select calls with their checkboxes first.")
	case i.Picked > verbs.MaxBulk:
		act = act.Disabled(true).Title(fmt.Sprintf("At most %d calls at once: narrow the selection.", verbs.MaxBulk))
	}
	all := app.Button().Type("button").ID("pick-all").Class("btn", "btn-small").OnClick(b.onAll).
		Text("Select all " + count(i.Filtered) + " filtered")
	if i.Filtered == 0 {
		all = all.Disabled(true)
	}
	resultCls := "bulk-result"
	if i.Failed {
		resultCls += " op-error"
	}
	return app.Div().ID("bulk-bar").Class("bulk-bar").Role("group").Aria("label", "Selected calls").Body(
		app.Span().ID("bulk-count").Role("status").Text(what),
		all,
		app.If(i.Picked > 0, app.Button().Type("button").ID("pick-none").Class("btn", "btn-small").OnClick(b.onNone).Text("Clear selection")),
		act,
		app.Span().ID("bulk-result").Class(resultCls).Role("status").Text(i.Result),
	)
}

func (b *BulkBar) onAct(ctx app.Context, e app.Event) {
	if !b.Stale {
		b.Ctl.OpenBulk(ctx)
	}
}

func (b *BulkBar) onAll(ctx app.Context, e app.Event) { b.Ctl.PickAll(ctx, true) }

func (b *BulkBar) onNone(ctx app.Context, e app.Event) {
	b.Ctl.PickAll(ctx, false)
	focusID(ctx, "pick-all")
}

// PickBox is a live row's checkbox: it picks the call for a bulk action;
// with Shift, every call between it and the last one clicked.
type PickBox struct {
	app.Compo

	CallID string
	Who    string
	Picked bool
	Ctl    Controller
}

// Render draws the checkbox, named after its call.
func (b *PickBox) Render() app.UI {
	return app.Input().Type("checkbox").Class("pick").Checked(b.Picked).
		DataSet("call-id", b.CallID).DataSet("action", "pick").
		Aria("label", "Select the call from "+b.Who).OnClick(b.onClick, b.CallID)
}

// onClick reads the call id from the box's own field at click time, and
// the box's new state from the element.
func (b *PickBox) onClick(ctx app.Context, e app.Event) {
	if b.Ctl == nil {
		return
	}
	b.Ctl.Pick(ctx, b.CallID, e.Get("target").Get("checked").Bool(), e.Get("shiftKey").Bool())
}

// BulkDialog asks once before the picked calls are hung up: how many, in
// which states, and whom. It is the same modal as Dialog: the page behind
// is inert, Tab stays inside, Escape closes it, and the focus goes back to
// the bar's button. When every picked call ended meanwhile it says so and
// offers only Close.
type BulkDialog struct {
	app.Compo

	Calls []calls.Call
	// Hidden is how many of them the filter hides.
	Hidden int
	// Claims are the claims others hold on them, by call id.
	Claims map[string]feedwire.Claim
	Bot    calls.Party
	// Gone says why nothing can be sent; empty while it can.
	Gone string
	Ctl  Controller
}

// bulkListed is how many calls the dialog names one by one.
const bulkListed = 8

// OnMount moves the keyboard focus into the dialog.
func (d *BulkDialog) OnMount(ctx app.Context) { focusID(ctx, "dialog-first") }

// OnUpdate keeps the focus inside when the content changed under it (the
// calls all ended and the choice gave way to Close), as Dialog does.
func (d *BulkDialog) OnUpdate(ctx app.Context) { new(Dialog).OnUpdate(ctx) }

// Render draws the dialog.
func (d *BulkDialog) Render() app.UI {
	spec, _ := verbs.Lookup(bulkVerb)
	n := len(d.Calls)
	title := capitalise(spec.Words) + " " + plural(n, "call") + "?"
	summary := plural(n, "call") + ": " + statesWords(d.Calls) + "."
	if d.Hidden > 0 {
		summary += " " + count(d.Hidden) + " of them the filter hides."
	}
	if len(d.Claims) > 0 {
		summary += " Someone else is acting on " + count(len(d.Claims)) + " of them."
	}
	items := make([]app.UI, 0, bulkListed+1)
	for _, c := range d.Calls[:min(n, bulkListed)] {
		items = append(items, app.Li().DataSet("call-id", c.ID).Body(
			app.Span().Class(stateClass(c.State)).Text(orDash(string(c.State))),
			app.Text(" "+callWho(c, d.Bot)+" · "+orDash(c.Subject)),
			app.If(d.Claims[c.ID].Holder != "", app.Span().Class("flag", "claim").Text(d.Claims[c.ID].Doing())),
		))
	}
	if n > bulkListed {
		items = append(items, app.Li().Class("more").Text("and "+plural(n-bulkListed, "more call")))
	}
	var body app.UI = app.Div().Class("reasons").Body(
		app.Ul().Class("bulk-list").Body(items...),
		app.Div().Class("reason-choice").Body(
			app.Button().Type("button").ID("dialog-first").Class("btn", "btn-danger").DataSet("action", "bulk-confirm").
				Aria("describedby", "dialog-call").OnClick(d.onConfirm).Text(capitalise(spec.Words)+" "+plural(n, "call")),
			app.Span().Class("hint").Text(spec.Help+" Each call is sent to Graph in turn; a call that ended meanwhile is left alone."),
		),
	)
	cancel := app.Button().Type("button").Class("btn").ID("dialog-cancel").OnClick(d.onCancel).Text("Cancel")
	if d.Gone != "" {
		body = app.P().ID("dialog-gone").Class("op-error").Role("alert").Text(d.Gone)
		cancel = cancel.ID("dialog-first").Text("Close")
	}
	return app.Div().Class("backdrop").Body(
		app.Div().ID("dialog").Class("dialog").Role("dialog").Aria("modal", "true").
			Aria("labelledby", "dialog-title").Aria("describedby", "dialog-call").
			DataSet("verb", "bulk-"+string(bulkVerb)).OnKeyDown(d.onKey).Body(
			app.H2().ID("dialog-title").Text(title),
			app.P().ID("dialog-call").Class("dialog-call").Text(summary),
			body,
			app.Div().Class("choices", "dialog-foot").Body(cancel),
		),
	)
}

func (d *BulkDialog) onConfirm(ctx app.Context, e app.Event) { d.Ctl.ConfirmBulk(ctx) }

func (d *BulkDialog) onCancel(ctx app.Context, e app.Event) { d.Ctl.CloseBulk(ctx) }

// onKey closes on Escape and keeps Tab inside the dialog.
func (d *BulkDialog) onKey(ctx app.Context, e app.Event) {
	switch e.Get("key").String() {
	case "Escape":
		e.PreventDefault()
		d.Ctl.CloseBulk(ctx)
	case "Tab":
		trapTab(e)
	}
}

// renderBulkDialog is the bulk confirmation when it is open.
func (p *Page) renderBulkDialog(stale bool) app.UI {
	if !p.bulk.Confirming {
		return nil
	}
	picked := p.pickedCalls()
	hidden := 0
	for _, c := range picked {
		if !p.store.Keeps(p.filter, c.ID) {
			hidden++
		}
	}
	gone := ""
	switch {
	case len(picked) == 0:
		gone = "The selected calls have all ended meanwhile. Nothing was sent."
	case stale:
		gone = "The console is not live: the calls may have changed. Nothing was sent."
	case len(picked) > verbs.MaxBulk:
		gone = fmt.Sprintf("%d calls are selected; at most %d can be hung up at once. Nothing was sent.", len(picked), verbs.MaxBulk)
	}
	return &BulkDialog{Calls: picked, Hidden: hidden, Claims: p.claimsShown(picked), Bot: p.bot, Gone: gone, Ctl: p}
}

// pickedShown keeps the picks of the shown calls only, so a row's props do
// not change when another call is picked.
func pickedShown(picked map[string]bool, shown []calls.Call) map[string]bool {
	out := make(map[string]bool)
	for _, c := range shown {
		if picked[c.ID] {
			out[c.ID] = true
		}
	}
	return out
}
