package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/verbs"
)

// TargetForm asks where a redirect or a transfer sends the call: a phone
// number in E.164 form (+14255550100) or a user's id or sign-in name. What
// is typed is checked as it is typed, with the action contract's own
// rules; the button stays disabled and the form says why until the target
// is one Switchboard can send. Targets used lately are one click away.
type TargetForm struct {
	app.Compo

	CallID string
	Verb   verbs.Verb
	Recent []string
	Ctl    Controller

	// value is what the supervisor typed; touched turns on the hints.
	value   string
	touched bool
}

// Render draws the form.
func (f *TargetForm) Render() app.UI {
	spec, _ := verbs.Lookup(f.Verb)
	t, err := verbs.ParseTarget(f.value)
	hint := "A phone number with its country code (+14255550100), or a user's sign-in name or id."
	hintClass := "hint"
	switch {
	case err == nil:
		hint = targetWords(t)
	case f.touched:
		hint, hintClass = err.Error(), "hint op-error"
	}
	recent := make([]app.UI, 0, len(f.Recent))
	for _, r := range f.Recent {
		recent = append(recent, &RecentTarget{Target: r, Pick: f.pick})
	}
	return app.Form().ID("target-form").Class("target-form").OnSubmit(f.onSubmit).Body(
		app.Label().For("target-input").Text("Target"),
		app.Input().ID("dialog-first").Name("target").Type("text").
			Class("target-input").Attr("autocomplete", "off").Attr("spellcheck", "false").
			Placeholder("+14255550100 or ada@contoso.com").
			Aria("describedby", "target-hint").Aria("invalid", f.touched && err != nil).
			OnInput(f.onInput),
		app.P().ID("target-hint").Class(hintClass).Aria("live", "polite").Text(hint),
		app.If(len(recent) > 0, app.Div().Class("recent").Body(
			app.Span().Class("recent-title").Text("Recent:"),
			app.Div().Class("choices").Body(recent...),
		)),
		app.Div().Class("choices").Body(
			app.Button().Type("submit").ID("target-send").Class("btn", "btn-"+string(f.Verb)).
				DataSet("action", string(f.Verb)).DataSet("call-id", f.CallID).
				Disabled(err != nil).Text(capitalise(spec.Words)),
		),
	)
}

// targetWords says what a valid target is.
func targetWords(t verbs.Target) string {
	switch t.Kind {
	case verbs.TargetPhone:
		return "Phone number " + t.ID
	case verbs.TargetUPN:
		return "The user signing in as " + t.ID
	default:
		return "The user with id " + t.ID
	}
}

func (f *TargetForm) onInput(ctx app.Context, e app.Event) {
	f.value = e.Get("target").Get("value").String()
	f.touched = true
}

// pick fills in a recent target. The field is not bound to value on every
// render, which would overwrite keys typed faster than the page renders:
// only a pick writes it.
func (f *TargetForm) pick(ctx app.Context, target string) {
	f.value, f.touched = target, true
	ctx.Defer(func(app.Context) {
		if el := app.Window().GetElementByID("dialog-first"); el.Truthy() {
			el.Set("value", target)
		}
	})
}

func (f *TargetForm) onSubmit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	f.touched = true
	if _, err := verbs.ParseTarget(f.value); err != nil {
		return
	}
	f.Ctl.Confirm(ctx, f.CallID, f.Verb, f.value)
}

// RecentTarget is one recent target's button.
type RecentTarget struct {
	app.Compo

	Target string
	Pick   func(ctx app.Context, target string)
}

// Render draws the button.
func (r *RecentTarget) Render() app.UI {
	return app.Button().Type("button").Class("btn", "chip").DataSet("target", r.Target).
		Aria("label", "Use "+r.Target).OnClick(r.onClick).Text(r.Target)
}

func (r *RecentTarget) onClick(ctx app.Context, e app.Event) {
	if r.Pick != nil {
		r.Pick(ctx, r.Target)
	}
}
