package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/console"
)

// AuditPanel shows admins who did what to which call. It loads when
// opened.
type AuditPanel struct {
	app.Compo

	Open    bool
	Entries []console.AuditEntry
	Error   string
	Ctl     Controller
}

// Render draws the toggle and, when open, the log.
func (a *AuditPanel) Render() app.UI {
	label := "Show the audit log"
	if a.Open {
		label = "Hide the audit log"
	}
	body := []app.UI{
		app.Div().Class("detail-head").Body(
			app.H2().ID("audit-title").Text("Audit log"),
			app.Button().Type("button").Class("btn").ID("audit-toggle").Aria("expanded", a.Open).
				OnClick(a.onToggle).Text(label),
		),
	}
	if a.Open {
		body = append(body, a.log())
	}
	return app.Section().ID("audit").Class("panel", "audit").Aria("labelledby", "audit-title").Body(body...)
}

func (a *AuditPanel) log() app.UI {
	switch {
	case a.Error != "":
		return app.P().Class("op-error").Role("alert").Text(a.Error)
	case len(a.Entries) == 0:
		return app.P().Class("empty").Text("Nothing in the audit log.")
	}
	rows := make([]app.UI, len(a.Entries))
	for i, e := range a.Entries {
		rows[i] = app.Tr().Body(
			app.Td().Text(fullTime(e.At)),
			app.Td().Text(e.Actor),
			app.Td().Text(e.Action),
			app.Td().Text(e.Target),
			app.Td().Text(e.Outcome),
			app.Td().Text(e.Detail),
		)
	}
	return app.Div().Class("table-wrap").Body(app.Table().Class("events").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("At"), app.Th().Scope("col").Text("Who"),
			app.Th().Scope("col").Text("Action"), app.Th().Scope("col").Text("Call"),
			app.Th().Scope("col").Text("Outcome"), app.Th().Scope("col").Text("Detail"),
		)),
		app.TBody().Body(rows...),
	))
}

func (a *AuditPanel) onToggle(ctx app.Context, e app.Event) { a.Ctl.ToggleAudit(ctx) }
