package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/reasons"
)

// DetailPanel shows everything about one call: identities, chain and
// meeting ids, targets, result and the call's event history.
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
	Ctl     Controller
}

// Render draws the panel.
func (d *DetailPanel) Render() app.UI {
	body := []app.UI{
		app.Div().Class("detail-head").Body(
			app.H2().ID("detail-title").Text("Call details"),
			app.Button().Type("button").Class("btn").ID("detail-close").Aria("label", "Close the details").
				OnClick(d.onClose).Text("Close"),
		),
	}
	if !d.Found {
		body = append(body, app.P().Class("empty").Text("This call is no longer shown: it was deleted or is too old."))
	} else {
		body = append(body, app.Dl().Class("facts").Body(d.facts()...))
	}
	body = append(body, app.H3().Text("Event history"), d.history())
	return app.Aside().ID("detail").Class("panel", "detail").DataSet("call-id", d.CallID).
		Aria("labelledby", "detail-title").OnKeyDown(d.onKey).Body(body...)
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
	add("Subject", c.Subject)
	add("Chain id", c.ChainID)
	add("Meeting", c.MeetingID)
	add("Bot participant id", c.MyParticipantID)
	if c.Participants > 0 {
		add("Participants", strconv.Itoa(c.Participants))
	}
	add("Started", fullTime(c.StartedAt))
	add("Answered", fullTime(c.AnsweredAt))
	add("Ended", fullTime(c.EndedAt))
	add("Duration", clock(c.Duration(d.Now)))
	if c.Result != nil {
		add("Result", d.Reason.Text+" ("+d.Reason.Raw()+", "+d.Reason.Category.Label()+")")
		add("Graph's message", c.Result.Message)
	}
	add("Ended by", endedBy(c))
	if a := c.LastAction; a != nil {
		add("Last action", actionWords(*a))
	}
	if c.MarkedForDeletion {
		add("Deletion", "marked for deletion: deleted when the call ends")
	}
	add("Sequence", strconv.FormatUint(c.Seq, 10))
	return out
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
	rows := make([]app.UI, len(d.Events))
	for i, e := range d.Events {
		rows[i] = app.Tr().DataSet("seq", e.Seq).Body(
			app.Td().Text(strconv.FormatUint(e.Seq, 10)),
			app.Td().Text(timeOfDay(e.Event.At)),
			app.Td().Text(string(e.Event.Kind)),
			app.Td().Text(eventWords(e.Event)),
		)
	}
	return app.Table().ID("detail-events").Class("events").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("Seq"), app.Th().Scope("col").Text("At"),
			app.Th().Scope("col").Text("Kind"), app.Th().Scope("col").Text("What"),
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

// actionWords tells an action and Graph's answer.
func actionWords(a calls.Action) string {
	s := verbWords(a.Verb) + " by " + orDash(a.Actor)
	if a.Reason != "" {
		s += " (" + a.Reason + ")"
	}
	switch {
	case a.Error != "":
		s += ": failed, " + a.Error
	case a.OK():
		s += ": accepted"
	case a.Status != 0:
		s += ": HTTP " + strconv.Itoa(a.Status)
	}
	return s
}

// eventWords summarises one event of the history.
func eventWords(e calls.Event) string {
	switch {
	case e.Action != nil:
		return actionWords(*e.Action)
	case e.Change != nil:
		ch := e.Change
		parts := []string{ch.ChangeType}
		if ch.Resource == calls.ResourceParticipants {
			parts = append(parts, "participants: "+strconv.Itoa(ch.Participants))
		}
		if ch.State != "" {
			parts = append(parts, string(ch.State))
		}
		if ch.Result != nil {
			parts = append(parts, reasons.Explain(*ch.Result).String())
		}
		return strings.Join(parts, " · ")
	case e.Kind == calls.KindMarked:
		return "marked for deletion"
	default:
		return string(e.Kind)
	}
}
