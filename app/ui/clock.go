package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
)

// nowState is the go-app state holding the server's clock, to the second.
// The page sets it on every tick; the clocks of the rows observe it. So a
// second passing re-renders a few text nodes, not every row: a row's own
// props change only when its call does.
const nowState = "switchboard.now"

// Clock shows how long a live call has lasted or, for an incoming call,
// the seconds left to answer it, on the server's clock.
type Clock struct {
	app.Compo

	// Call is the call timed; only its times and state are read.
	From, Started time.Time
	Countdown     bool
	// Now is the clock when nothing was observed yet (prerendering, tests).
	Now time.Time

	now time.Time
}

// OnMount follows the page's clock.
func (c *Clock) OnMount(ctx app.Context) {
	ctx.ObserveState(nowState).Value(&c.now)
}

// Render draws the duration or the countdown.
func (c *Clock) Render() app.UI {
	now := c.now
	if c.Now.After(now) {
		now = c.Now
	}
	if c.Countdown {
		return renderCountdown(calls.Call{State: calls.Incoming, StartedAt: c.Started}, now)
	}
	d := time.Duration(0)
	if !c.From.IsZero() && !now.IsZero() {
		d = now.Sub(c.From)
	}
	return app.Time().Class("duration").Text(clock(d))
}
