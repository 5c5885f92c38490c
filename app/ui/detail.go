package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/history"
	"switchboard/app/reasons"
)

// DetailPanel shows everything about one call: identities, chain and
// meeting ids, targets, result (with Graph's own message and DiagCode),
// its participants and the call's history in plain words. It is a drawer
// fixed below the header, beside the tables: opening it moves nothing,
// Escape or Close closes it.
type DetailPanel struct {
	app.Compo

	CallID string
	Call   calls.Call
	// Found is false when the call is no longer held (deleted, or pruned).
	Found   bool
	Reason  reasons.Reason
	Now     time.Time
	Events  []console.EventEntry
	Loading bool
	Error   string
	// CanAct offers the actions on participants.
	CanAct bool
	// Op is the call's action in flight or failed, if any.
	Op  Op
	Ctl Controller
}

// Render draws the panel.
func (d *DetailPanel) Render() app.UI {
	title := "Call details"
	if d.Found {
		title = "Call from " + orDash(d.Call.Source.Label())
	}
	body := []app.UI{
		app.Div().Class("detail-head").Body(
			app.H2().ID("detail-title").Text(title),
			app.Button().Type("button").Class("btn").ID("detail-close").Aria("label", "Close the details").
				DataSet("call-id", d.CallID).DataSet("action", "close-details").
				OnClick(d.onClose).Text("Close"),
		),
	}
	if !d.Found {
		body = append(body, app.P().Class("empty").Text("This call is no longer shown: it was deleted or is too old."))
	} else {
		body = append(body, app.Dl().Class("facts").Body(d.facts()...))
		if len(d.Call.Roster) > 0 || d.Call.Group {
			body = append(body, app.H3().Text("Participants"),
				&Participants{Call: d.Call, CanAct: d.CanAct, Op: d.Op, Ctl: d.Ctl})
		}
	}
	body = append(body, app.H3().Text("History"), d.history())
	return app.Aside().ID("detail").Class("panel", "detail").DataSet("call-id", d.CallID).
		Aria("labelledby", "detail-title").OnKeyDown(d.onKey).Body(
		app.Div().Class("detail-body").Body(body...),
	)
}

func (d *DetailPanel) facts() []app.UI {
	c := d.Call
	var out []app.UI
	add := func(term, value string) {
		if value != "" {
			out = append(out, app.Dt().Text(term), app.Dd().Text(value))
		}
	}
	add("Call id", c.ID)
	add("State", string(c.State))
	add("Direction", c.Direction)
	add("Caller", partyWords(c.Source))
	for i, t := range c.Targets {
		add("Target "+strconv.Itoa(i+1), partyWords(t))
	}
	add("Media", strings.Join(c.Modalities, ", "))
	add("Media state", mediaStateWords(c.MediaState))
	add("Subject", c.Subject)
	add("Chain id", c.ChainID)
	add("Meeting", c.MeetingID)
	add("Chat thread", c.ThreadID)
	add("Bot participant id", c.MyParticipantID)
	if c.Participants > 0 {
		add("Participants", strconv.Itoa(c.Participants))
	}
	add("Started", fullTime(c.StartedAt))
	add("Answered", fullTime(c.AnsweredAt))
	add("Ended", fullTime(c.EndedAt))
	add("Duration", clock(c.Duration(d.Now)))
	switch {
	case c.Ended():
		add("Why it ended", d.Reason.String()+", "+d.Reason.Category.Label())
	case c.Result != nil:
		add("Graph reports", reasons.Explain(*c.Result).String())
	}
	if c.Result != nil {
		add("Graph's message", c.Result.Message) // with its DiagCode, if any
	}
	add("Termination reason", c.TerminationReason)
	add("Ended by", endedBy(c))
	if t := c.LastTone; t != nil {
		add("Last tone", t.Key())
	}
	if op := c.LastOperation; op != nil {
		add("Last operation", history.OperationWords(*op))
	}
	if a := c.LastAction; a != nil {
		add("Last action", history.ActionWords(*a))
	}
	if c.MarkedForDeletion {
		add("Deletion", "marked for deletion: deleted when the call ends")
	}
	add("Sequence", strconv.FormatUint(c.Seq, 10))
	return out
}

func mediaStateWords(m calls.MediaState) string {
	var parts []string
	if m.Audio != "" {
		parts = append(parts, "audio "+m.Audio)
	}
	if m.Video != "" {
		parts = append(parts, "video "+m.Video)
	}
	return strings.Join(parts, ", ")
}

func (d *DetailPanel) history() app.UI {
	switch {
	case d.Error != "":
		return app.P().Class("op-error").Role("alert").Text(d.Error)
	case d.Loading && len(d.Events) == 0:
		return app.P().Class("empty").Text("Loading…")
	case len(d.Events) == 0:
		return app.P().Class("empty").Text("No events.")
	}
	lines := history.Tell(d.Events)
	rows := make([]app.UI, len(lines))
	for i, l := range lines {
		rows[i] = app.Tr().DataSet("seq", l.Seq).Body(
			app.Td().Text(strconv.FormatUint(l.Seq, 10)),
			app.Td().Text(timeOfDay(l.At)),
			app.Td().Text(l.Kind),
			app.Td().Class("what").Text(l.Text),
		)
	}
	return app.Table().ID("detail-events").Class("events").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("Seq"), app.Th().Scope("col").Text("At"),
			app.Th().Scope("col").Text("From"), app.Th().Scope("col").Text("What"),
		)),
		app.TBody().Body(rows...),
	)
}

func (d *DetailPanel) onClose(ctx app.Context, e app.Event) { d.Ctl.Select(ctx, "") }

func (d *DetailPanel) onKey(ctx app.Context, e app.Event) {
	if e.Get("key").String() == "Escape" {
		d.Ctl.Select(ctx, "")
	}
}

func partyWords(p calls.Party) string {
	var parts []string
	for _, s := range []string{p.DisplayName, p.Phone, p.ID} {
		if s != "" && !contains(parts, s) {
			parts = append(parts, s)
		}
	}
	if p.Kind != "" {
		parts = append(parts, "("+p.Kind+")")
	}
	return strings.Join(parts, " ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fullTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
