package ui

import (
	"context"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

// claimsByCall indexes the feed's claims by call.
func claimsByCall(list []feedwire.Claim) map[string]feedwire.Claim {
	out := make(map[string]feedwire.Claim, len(list))
	for _, c := range list {
		out[c.CallID] = c
	}
	return out
}

// otherClaim is the claim someone else holds on call id now, if any: the
// one the server answered to this console's own claim, else the feed's.
// A claim past its time is none (claims expire by themselves).
func (p *Page) otherClaim(id string) (feedwire.Claim, bool) {
	if p.dialog.CallID == id && p.dialog.Claim.Holder != "" && p.live(p.dialog.Claim) {
		return p.dialog.Claim, true
	}
	c, ok := p.claims[id]
	if !ok || !p.live(c) || (p.userKnown && c.Holder == p.user.Name) {
		return feedwire.Claim{}, false
	}
	return c, true
}

// live reports whether a claim still holds by the server's clock.
func (p *Page) live(c feedwire.Claim) bool {
	now := p.store.Now()
	return c.Until.IsZero() || c.Until.After(now)
}

// claimsShown keeps the claims others hold on the shown calls, so a row's
// props change only when its own claim does.
func (p *Page) claimsShown(shown []calls.Call) map[string]feedwire.Claim {
	out := make(map[string]feedwire.Claim)
	for _, c := range shown {
		if cl, ok := p.otherClaim(c.ID); ok {
			out[c.ID] = cl
		}
	}
	return out
}

// others are the people looking besides this console's user.
func (p *Page) others() []feedwire.Person {
	var out []feedwire.Person
	for _, q := range p.people {
		if !p.userKnown || q.Name != p.user.Name {
			out = append(out, q)
		}
	}
	return out
}

// takeClaim asks for a claim on the call a dialog just opened on: other
// consoles then show "alice is hanging up" on its row. When someone else
// holds it, the dialog says who and asks before it offers the action.
// Claims are advisory: when the server cannot be asked, the dialog goes on.
func (p *Page) takeClaim(id string, verb verbs.Verb) {
	if p.env == nil || p.env.API == nil {
		return
	}
	api := p.env.API
	p.background(func(bg context.Context) func(app.Context) {
		held, mine, err := api.Claim(bg, id, verb)
		return func(ctx app.Context) {
			if mine {
				p.held[id] = true
			}
			if p.dialog.CallID != id || p.dialog.Verb != verb {
				p.releaseClaim(id) // the dialog closed meanwhile
				return
			}
			if err == nil && !mine {
				p.dialog.Claim = held
			}
		}
	})
}

// releaseClaim gives back this console's claim on call id, if it holds
// one; a claim that cannot be given back expires by itself.
func (p *Page) releaseClaim(id string) {
	if !p.held[id] || p.env == nil || p.env.API == nil {
		return
	}
	delete(p.held, id)
	api := p.env.API
	p.background(func(bg context.Context) func(app.Context) {
		_ = api.Release(bg, id)
		return func(app.Context) {}
	})
}

// Override implements Controller.
func (p *Page) Override(ctx app.Context, id string) {
	if p.dialog.CallID != id {
		return
	}
	p.dialog.Override = true
	focusID(p.ctxFor(ctx), "dialog-first")
}

// renderClaimed is what a dialog shows instead of its choices while
// someone else holds the call: who, doing what, since when, and a button
// to act anyway.
func (d *Dialog) renderClaimed() app.UI {
	c := d.Claim
	ago := ""
	if !d.Now.IsZero() && !c.Since.IsZero() && d.Now.After(c.Since) {
		ago = " (for " + clockWords(d.Now.Sub(c.Since)) + ")"
	}
	return app.Div().Class("reasons").Body(
		app.P().ID("dialog-claimed").Class("op-error").Role("alert").Text(
			c.Doing()+" this call"+ago+". Acting too may do it twice."),
		app.Div().Class("reason-choice").Body(
			app.Button().Type("button").ID("dialog-first").Class("btn", "btn-danger").DataSet("action", "override").
				DataSet("call-id", d.Call.ID).Aria("describedby", "dialog-claimed").OnClick(d.onOverride, d.Call.ID).
				Text("Act anyway"),
			app.Span().Class("hint").Text("Or cancel, and leave the call to "+c.Holder+"."),
		),
	)
}

func (d *Dialog) onOverride(ctx app.Context, e app.Event) { d.Ctl.Override(ctx, d.Call.ID) }

// clockWords is a short duration in words: "12 s", "3 min".
func clockWords(d time.Duration) string {
	s := int(d.Seconds())
	if s < 60 {
		return count(s) + " s"
	}
	return count(s/60) + " min"
}

// renderClaim is a row's note that someone else is acting on its call.
func renderClaim(c feedwire.Claim) app.UI {
	if c.Holder == "" {
		return nil
	}
	return app.Span().Class("flag", "claim").Title(c.Doing() + " this call").Text(c.Doing())
}

// renderPresence names the other people looking, in the header: a few
// names, the rest counted, everyone with their role in the title.
func renderPresence(others []feedwire.Person) app.UI {
	if len(others) == 0 {
		return nil
	}
	const shown = 3
	names := make([]string, 0, shown)
	all := make([]string, len(others))
	for i, q := range others {
		all[i] = q.Name
		if q.Role != "" {
			all[i] += " (" + q.Role + ")"
		}
		if i < shown {
			names = append(names, q.Name)
		}
	}
	text := strings.Join(names, ", ")
	if len(others) > shown {
		text += " +" + count(len(others)-shown)
	}
	return app.P().ID("presence").Class("presence").Title("Also looking: "+strings.Join(all, ", ")).Body(
		app.Span().Class("muted").Text("Also here: "),
		app.Span().Class("people").Text(text),
	)
}
