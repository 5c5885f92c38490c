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
	return actionElem(spec, b.CallID, b.Participant, b.Who, b.Op, b.Stale, b.onClick)
}

// actionElem is an action's button: the contract's words, labelled with
// the call (or participant) it acts on, marked with the call id, the
// action and the participant, disabled while the call's action is in
// flight or the view is stale. The handler is scoped by call, participant
// and verb, so go-app binds it again when the element comes to show
// another call; it must read the call from its component at click time.
// Rows draw their buttons with it directly: a component per button costs
// more than the button at load.
func actionElem(spec verbs.Spec, callID, participant, who string, op Op, stale bool, h app.EventHandler) app.HTMLButton {
	text := spec.Label
	if op.InFlight && op.Verb == spec.Verb && op.Participant == participant {
		text = spec.Busy
	}
	title := spec.Help
	if stale {
		title = "Not live: actions wait until the console is live again."
	}
	// The stylesheet colours destructive actions by their class.
	btn := app.Button().
		Type("button").
		Class("btn", "btn-small", "btn-"+string(spec.Verb)).
		DataSet("action", string(spec.Verb)).
		DataSet("call-id", callID).
		Aria("label", strings.TrimSuffix(spec.Label, "…")+" "+who).
		Title(title).
		OnClick(h, callID, participant, string(spec.Verb)).
		Text(text)
	if spec.Input != verbs.AskNothing {
		btn = btn.Aria("haspopup", "dialog")
	}
	if op.InFlight || stale {
		btn = btn.Disabled(true)
	}
	if participant != "" {
		btn = btn.DataSet("participant", participant)
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
