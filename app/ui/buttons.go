package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/verbs"
)

// ActionButton is one action's button on a row: its words come from the
// action contract, and its click reads the call (and participant) id and
// the verb from its own fields at that moment, since go-app reuses
// components by position.
type ActionButton struct {
	app.Compo

	CallID string
	// Participant is set for an action on one participant.
	Participant string
	Verb        verbs.Verb
	// Who names the call or participant for screen readers.
	Who string
	// Op is the call's action in flight or failed, if any.
	Op Op
	// Stale disables the button: the view may be out of date.
	Stale bool
	Ctl   Controller
}

// Render draws the button.
func (b *ActionButton) Render() app.UI {
	spec, err := verbs.Lookup(b.Verb)
	if err != nil {
		return app.Span().Class("op-error").Text("unknown action " + string(b.Verb))
	}
	text := spec.Label
	busy := b.Op.InFlight && b.Op.Verb == b.Verb && b.Op.Participant == b.Participant
	if busy {
		text = spec.Busy
	}
	// The stylesheet colours destructive actions by their class.
	title := spec.Help
	if b.Stale {
		title = "Not live: actions wait until the console is live again."
	}
	btn := app.Button().
		Type("button").
		Class("btn", "btn-small", "btn-"+string(spec.Verb)).
		DataSet("action", string(spec.Verb)).
		DataSet("call-id", b.CallID).
		Aria("label", strings.TrimSuffix(spec.Label, "…")+" "+b.Who).
		Title(title).
		OnClick(b.onClick, b.CallID, b.Participant).
		Text(text)
	if spec.Input != verbs.AskNothing {
		btn = btn.Aria("haspopup", "dialog")
	}
	if b.Op.InFlight || b.Stale {
		btn = btn.Disabled(true)
	}
	if b.Participant != "" {
		btn = btn.DataSet("participant", b.Participant)
	}
	return btn
}

func (b *ActionButton) onClick(ctx app.Context, e app.Event) {
	if b.Stale {
		return
	}
	if b.Participant != "" {
		b.Ctl.RequestParticipant(ctx, b.CallID, b.Participant, b.Verb)
		return
	}
	b.Ctl.Request(ctx, b.CallID, b.Verb)
}
