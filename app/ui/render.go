package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/reasons"
)

// Render lays the console out. It reads the store once per render: a page
// of live calls, a page of ended calls, the summary, and the call the
// detail panel shows.
func (p *Page) Render() app.UI {
	if p.store == nil {
		p.OnInit()
	}
	canAct := p.userKnown && p.user.Role.CanAct()
	admin := p.userKnown && p.user.Role.IsAdmin()
	stale := p.conn.State != console.Live && p.conn.State != console.Connecting
	now := p.now
	if now.IsZero() {
		now = p.store.Now()
	}
	live, liveTotal := p.store.View(p.filter, p.liveOffset, liveRows)
	ended, endedTotal := p.store.View(console.Filter{Ended: true}, p.endedOffset, endedRows)

	return app.Div().
		ID("switchboard").
		Class("sb").
		DataSet("conn", p.conn.State.String()).
		DataSet("seq", p.store.Seq()).
		Body(
			app.If(p.update, &UpdatePrompt{Ctl: p}),
			&Header{User: p.user, UserKnown: p.userKnown, Conn: p.conn, Installable: p.installable, Ctl: p},
			app.Main().ID("main").Body(
				&SummaryBar{Summary: p.store.Summary(endedWindow)},
				app.Section().Class("panel", "live").Aria("labelledby", "live-title").Body(
					app.H2().ID("live-title").Text("Live calls"),
					app.If(stale, staleNotice(p.conn)),
					&FilterBar{Filter: p.filter, Ctl: p},
					&LiveTable{
						Calls: live, Total: liveTotal, Offset: p.liveOffset, Limit: liveRows,
						Now: now, CanAct: canAct, Stale: stale, Selected: p.detail.CallID,
						Ops: opsFor(p.ops, live), Ctl: p,
					},
				),
				p.renderDetail(canAct),
				app.Section().Class("panel", "ended").Aria("labelledby", "ended-title").Body(
					app.H2().ID("ended-title").Text("Recently ended"),
					&EndedList{
						Calls: ended, Reasons: reasonsFor(p.store, ended), Total: endedTotal,
						Offset: p.endedOffset, Limit: endedRows, Admin: admin, Stale: stale,
						Ops: opsFor(p.ops, ended), Ctl: p,
					},
				),
				app.If(admin, &AuditPanel{Open: p.auditOpen, Entries: p.audit, Error: p.auditError, Ctl: p}),
			),
			p.renderDialog(),
		)
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

func (p *Page) renderDialog() app.UI {
	if p.dialog.CallID == "" {
		return nil
	}
	c, ok := p.store.Get(p.dialog.CallID)
	if !ok {
		c.ID = p.dialog.CallID
	}
	return &Dialog{Verb: p.dialog.Verb, Call: c, Now: p.now, Recent: p.recent, Ctl: p}
}

func staleNotice(s console.Status) app.UI {
	text := "Not live: showing the last known state, which may be out of date."
	if s.Reason != "" {
		text += " (" + s.Reason + ")"
	}
	return app.P().Class("stale-notice").Role("status").Text(text)
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
