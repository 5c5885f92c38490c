package ui

import (
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/verbs"
)

// Participants lists a call's roster as Graph last notified it: who each
// participant is, their meeting role, whether they are muted, waiting in
// the lobby or recording, and their media. A supervisor gets the actions
// the action contract offers on a participant (Mute) where the call allows
// them.
type Participants struct {
	app.Compo

	Call   calls.Call
	CanAct bool
	// Op is the call's action in flight or failed, if any.
	Op  Op
	Ctl Controller
}

// Render draws the list.
func (l *Participants) Render() app.UI {
	c := l.Call
	if len(c.Roster) == 0 {
		return app.P().ID("participants-empty").Class("empty").Text("Graph has sent no roster for this call.")
	}
	items := make([]app.UI, len(c.Roster))
	for i, p := range c.Roster {
		items[i] = &ParticipantRow{CallID: c.ID, Participant: p, Bot: c.IsBot(p), Actions: l.actions(p), Op: l.Op, Ctl: l.Ctl}
	}
	title := plural(c.Participants, "participant")
	if c.Participants > len(c.Roster) {
		title += ", the first " + strconv.Itoa(len(c.Roster)) + " shown"
	}
	return app.Div().Class("participants").Body(
		app.P().Class("participants-count").Text(title),
		app.Ul().ID("participants").Class("participant-list").Body(items...),
		renderOpError(c.ID, participantOp(l.Op), l.onDismiss),
	)
}

func (l *Participants) onDismiss(ctx app.Context, e app.Event) { l.Ctl.Dismiss(ctx, l.Call.ID) }

// actions are the participant actions offered on p.
func (l *Participants) actions(p calls.Participant) []verbs.Verb {
	if !l.CanAct || l.Call.IsBot(p) || p.ID == "" {
		return nil
	}
	var out []verbs.Verb
	for _, s := range verbs.All() {
		if s.Scope != verbs.OnParticipant || !s.Offered() || s.Why(l.Call.Facts()) != "" {
			continue
		}
		if s.Verb == verbs.Mute && p.Muted {
			continue
		}
		out = append(out, s.Verb)
	}
	return out
}

// participantOp keeps the operation only when it is about a participant.
func participantOp(op Op) Op {
	if op.Participant == "" {
		return Op{}
	}
	return op
}

// ParticipantRow is one participant.
type ParticipantRow struct {
	app.Compo

	CallID      string
	Participant calls.Participant
	Bot         bool
	Actions     []verbs.Verb
	Op          Op
	Ctl         Controller
}

// Render draws the participant.
func (r *ParticipantRow) Render() app.UI {
	p := r.Participant
	var flags []app.UI
	add := func(class, text string) { flags = append(flags, app.Span().Class("chip", class).Text(text)) }
	if r.Bot {
		add("p-bot", "the bot")
	}
	if p.Role != "" && p.Role != "none" {
		add("p-role", p.Role)
	}
	if p.Muted {
		add("p-muted", "muted")
	}
	if p.InLobby {
		add("p-lobby", "in the lobby")
	}
	if strings.EqualFold(p.Recording, "recording") {
		add("p-recording", "recording")
	}
	buttons := make([]app.UI, len(r.Actions))
	for i, v := range r.Actions {
		buttons[i] = &ActionButton{CallID: r.CallID, Participant: p.ID, Verb: v, Who: p.Label(), Op: r.Op, Ctl: r.Ctl}
	}
	return app.Li().Class("participant").DataSet("participant", p.ID).DataSet("muted", p.Muted).Body(
		app.Div().Class("participant-who").Body(
			app.Span().Class("label").Text(p.Label()),
			app.If(partyDetail(p.Party) != "", app.Small().Text(partyDetail(p.Party))),
		),
		app.Div().Class("participant-flags").Body(flags...),
		app.Div().Class("participant-media").Body(renderMedia(p.Media)...),
		app.Div().Class("actions").Body(buttons...),
	)
}

// renderMedia shows a participant's streams as chips.
func renderMedia(ms []calls.Media) []app.UI {
	out := make([]app.UI, 0, len(ms))
	for _, m := range ms {
		glyph, words := modality(m.Type)
		if m.Direction != "" {
			words += " (" + m.Direction + ")"
		}
		if m.ServerMuted {
			words += ", muted by the server"
		}
		out = append(out, app.Span().Class("chip", "m-"+m.Type).Title(words).Body(
			app.Span().Aria("hidden", "true").Text(glyph),
			app.Span().Class("chip-text").Text(words),
		))
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return count(n) + " " + word + "s"
}
