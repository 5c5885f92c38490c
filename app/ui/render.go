package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/reasons"
	"switchboard/app/verbs"
)

// Render lays the console out. It reads the store once per render: a page
// of live calls, a page of ended calls, the summary, and the call the
// detail panel shows.
//
// The layout holds still as the console fills: the server prerenders the
// same shell the app mounts (header, summary, empty tables), the live
// table reserves the height of the screen, and the stale notice has a
// place of its own, so rows arriving never push what is on screen.
func (p *Page) Render() app.UI {
	if p.store == nil {
		p.OnInit()
	}
	canAct := p.userKnown && p.user.Role.CanAct()
	admin := p.userKnown && p.user.Role.IsAdmin()
	stale := p.stale()
	live, liveTotal := p.store.View(p.filter, p.liveOffset, liveRows)
	ended, endedTotal := p.store.View(p.endedFilter, p.endedOffset, endedRows)
	modal := p.dialog.CallID != "" || p.bulk.Confirming

	return app.Div().
		ID("switchboard").
		Class("sb").
		DataSet("conn", p.conn.State.String()).
		DataSet("seq", p.store.Seq()).
		DataSet("stale", stale).
		Body(
			app.If(p.update, &UpdatePrompt{Ctl: p}),
			inert(app.Div().Class("shell"), modal).Body(
				app.A().Class("skip").Href("#live-title").Text("Skip to the live calls"),
				&Header{User: p.user, UserKnown: p.userKnown, Conn: p.conn, Installable: p.installable,
					Bot: p.bot, Restored: p.restored, Others: p.others(), Ctl: p},
				app.Main().ID("main").Body(
					&SummaryBar{Summary: p.store.Summary(endedWindow), State: singleState(p.filter), Category: p.endedFilter.Category, Ctl: p},
					app.Div().Class("board").Body(
						app.Section().Class("panel", "live").Aria("labelledby", "live-title").Body(
							app.Div().Class("panel-head").Body(
								app.H2().ID("live-title").TabIndex(-1).Body(
									app.Text("Live calls "),
									app.Span().Class("count").Text("("+count(p.store.LiveLen())+")"),
								),
								renderStale(stale, p.restored, p.conn),
								&FilterBar{Filter: p.filter, Ctl: p},
							),
							&AlertBar{Said: p.alerting.said, Notify: p.alerting.notify, Ctl: p},
							&LiveTable{
								Calls: live, Total: liveTotal, All: p.store.LiveLen(), Offset: p.liveOffset, Limit: liveRows,
								CanAct: canAct, Stale: stale, Selected: p.detail.CallID, Bot: p.bot,
								Filter: p.filter, Ops: opsFor(p.ops, live), Progressive: p.progressive(), Waiting: p.store.Seq() == 0, Ctl: p,
								Picked: pickedShown(p.bulk.Picked, live), Bulk: p.bulkInfo(liveTotal), Claims: p.claimsShown(live),
							},
						),
						app.Section().Class("panel", "ended").Aria("labelledby", "ended-title").Body(
							app.Div().Class("panel-head").Body(
								app.H2().ID("ended-title").Text("Recently ended"),
								app.If(p.endedFilter.Category != "",
									app.Button().Type("button").Class("btn", "btn-small").ID("ended-clear").
										Aria("label", "Show every ended call, not only "+p.endedFilter.Category.Label()).
										OnClick(p.onClearEnded).Text("Show all"),
								),
							),
							&EndedList{
								Calls: ended, Reasons: reasonsFor(p.store, ended), Total: endedTotal,
								Offset: p.endedOffset, Limit: endedRows, Admin: admin, CanAct: canAct, Stale: stale, Bot: p.bot,
								Filtered: p.endedFilter.Category != "", Ops: opsFor(p.ops, ended), Progressive: p.progressive(), Ctl: p,
							},
						),
					),
					app.If(admin, &AuditPanel{Open: p.auditOpen, Entries: p.audit, Error: p.auditError, Ctl: p}),
					app.If(admin, &AlertRulesPanel{State: p.alerting.rules, Ctl: p}),
					app.If(admin, &PrivacyPanel{API: privacyAPI(p.env)}),
				),
				p.renderDetail(canAct && !stale),
			),
			p.renderDialog(stale),
			p.renderBulkDialog(stale),
		)
}

func (p *Page) progressive() bool { return p.env != nil && p.env.Progressive }

func (p *Page) onClearEnded(ctx app.Context, e app.Event) {
	p.SetEndedFilter(ctx, console.Filter{Ended: true})
}

// inert makes el and everything in it unreachable (focus, clicks, screen
// readers) while a modal dialog is open; that is how the dialog traps the
// focus.
func inert(el app.HTMLDiv, on bool) app.HTMLDiv {
	if on {
		// A value, not "": go-app skips an attribute whose new value is
		// empty when it updates an element.
		return el.Attr("inert", "inert").Aria("hidden", "true")
	}
	return el
}

// singleState is the state the live filter keeps, when it keeps one.
func singleState(f console.Filter) calls.State {
	if len(f.States) == 1 {
		return f.States[0]
	}
	return ""
}

func (p *Page) renderDetail(canAct bool) app.UI {
	if p.detail.CallID == "" {
		return nil
	}
	c, found := p.store.Get(p.detail.CallID)
	var r reasons.Reason
	if found && c.Ended() {
		r, _ = p.store.Reason(c.ID)
	}
	now := p.now
	if now.IsZero() {
		now = p.store.Now()
	}
	return &DetailPanel{
		CallID: p.detail.CallID, Call: c, Found: found, Reason: r, Now: now,
		Events: p.detail.Events, Loading: p.detail.Loading, Error: p.detail.Error,
		CanAct: canAct, Op: p.ops[p.detail.CallID], Ctl: p,
	}
}

func (p *Page) renderDialog(stale bool) app.UI {
	if p.dialog.CallID == "" {
		return nil
	}
	c, ok := p.store.Get(p.dialog.CallID)
	if !ok {
		c.ID = p.dialog.CallID
	}
	gone := ""
	switch {
	case !ok:
		gone = "This call is no longer shown: it ended or was deleted. Nothing was sent."
	case stale:
		gone = "The console is not live: the call may have changed. Nothing was sent."
	default:
		if _, err := verbs.Lookup(p.dialog.Verb); err != nil {
			break // the dialog says it does not know the action
		}
		if why := c.Why(p.dialog.Verb); why != "" {
			gone = "The call changed meanwhile: " + why + ". Nothing was sent."
		}
	}
	claim, _ := p.otherClaim(c.ID)
	return &Dialog{Verb: p.dialog.Verb, Call: c, Now: p.now, Recent: p.recent, Gone: gone,
		Claim: claim, Override: p.dialog.Override, Ctl: p}
}

// renderStale is the notice of a view that may be out of date. Its line
// is always there (empty when live), so its coming and going moves nothing.
func renderStale(stale, restored bool, s console.Status) app.UI {
	text := ""
	switch {
	case !stale:
	case restored:
		text = "Offline copy: the last view this browser saved. It may be out of date; actions are off until the console is live."
	default:
		text = "Not live: the last known state, which may be out of date; actions are off."
		if s.Reason != "" {
			text += " (" + s.Reason + ")"
		}
	}
	cls := "stale-notice"
	if !stale {
		cls += " quiet"
	}
	return app.P().ID("stale-notice").Class(cls).Role("status").Title(text).Text(text)
}

// opsFor keeps the operations of the shown calls only, so a row's props
// do not change when another call's operation does.
func opsFor(ops map[string]Op, shown []calls.Call) map[string]Op {
	out := make(map[string]Op)
	for _, c := range shown {
		if op, ok := ops[c.ID]; ok {
			out[c.ID] = op
		}
	}
	return out
}

// reasonsFor decodes why each shown ended call ended (the store decoded it
// once, when the call ended).
func reasonsFor(s *console.Store, shown []calls.Call) []reasons.Reason {
	out := make([]reasons.Reason, len(shown))
	for i, c := range shown {
		out[i], _ = s.Reason(c.ID)
	}
	return out
}
