package ui

import (
	"context"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/console"
)

// PrivacyAPI is what the privacy setting asks the server. *console.Client
// is the real one.
type PrivacyAPI interface {
	Privacy(ctx context.Context) (console.Privacy, error)
	SetPrivacy(ctx context.Context, mask *bool) (console.Privacy, error)
}

// privacyAPI is env's API when it serves the privacy setting.
func privacyAPI(env *Env) PrivacyAPI {
	if env == nil {
		return nil
	}
	api, _ := env.API.(PrivacyAPI)
	return api
}

// PrivacyPanel lets an admin mask external numbers and names for
// viewers. It loads the setting when mounted and stores each change at
// once; every replica and every viewer's console follow it.
type PrivacyPanel struct {
	app.Compo

	API PrivacyAPI

	state   console.Privacy
	loaded  bool
	busy    bool
	err     string
	mounted app.Context
}

// OnMount loads the setting.
func (p *PrivacyPanel) OnMount(ctx app.Context) {
	p.mounted = ctx
	if p.API == nil {
		return
	}
	api := p.API
	ctx.Async(func() {
		st, err := api.Privacy(ctx)
		ctx.Dispatch(func(app.Context) { p.answered(st, err, "Could not load the privacy setting: ") })
	})
}

func (p *PrivacyPanel) answered(st console.Privacy, err error, failed string) {
	p.busy = false
	if err != nil {
		p.err = failed + err.Error()
		return
	}
	p.state, p.loaded, p.err = st, true, ""
}

// set stores mask (nil: the server's default).
func (p *PrivacyPanel) set(ctx app.Context, mask *bool) {
	if p.API == nil || p.busy {
		return
	}
	p.busy = true
	api := p.API
	if p.mounted != nil {
		ctx = p.mounted
	}
	ctx.Async(func() {
		st, err := api.SetPrivacy(ctx, mask)
		ctx.Dispatch(func(app.Context) { p.answered(st, err, "Could not change the privacy setting: ") })
	})
}

// Render draws the setting.
func (p *PrivacyPanel) Render() app.UI {
	st := p.state
	source := "the server's default (" + onOff(st.Default) + ")"
	if c := st.Chosen; c != nil {
		source = "chosen by " + orDash(c.By)
		if !c.At.IsZero() {
			source += " at " + fullTime(c.At)
		}
	}
	return app.Section().ID("privacy").Class("panel", "privacy").Aria("labelledby", "privacy-title").Body(
		app.Div().Class("detail-head").Body(app.H2().ID("privacy-title").Text("Privacy")),
		app.Label().For("privacy-mask").Class("check").Body(
			app.Input().Type("checkbox").ID("privacy-mask").Checked(st.MaskForViewers).Disabled(!p.loaded || p.busy).
				OnChange(p.onToggle),
			app.Text(" Mask external numbers and names for viewers"),
		),
		app.P().Class("muted").Text("Viewers then read numbers as •••• 1234 (the last four digits) and names as "+
			"“External caller”, in the live view, history and exports. Supervisors and admins always read them in full; "+
			"there is no unmask action, so no read is audited. Changes are audited."),
		app.If(p.loaded, app.P().ID("privacy-source").Class("muted").Text("Now "+onOff(st.MaskForViewers)+": "+source+".")),
		app.If(p.loaded && st.Chosen != nil,
			app.Button().Type("button").Class("btn", "btn-small").ID("privacy-default").Disabled(p.busy).
				OnClick(p.onDefault).Text("Use the server's default"),
		),
		app.If(p.err != "", app.P().Class("op-error").Role("alert").Text(p.err)),
	)
}

func (p *PrivacyPanel) onToggle(ctx app.Context, e app.Event) {
	on := !p.state.MaskForViewers
	p.set(ctx, &on)
}

func (p *PrivacyPanel) onDefault(ctx app.Context, e app.Event) { p.set(ctx, nil) }

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
