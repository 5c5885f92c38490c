package ui

import (
	"strconv"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/feedwire"
)

// Header shows who is signed in, the feed connection, and the install and
// log out buttons.
type Header struct {
	app.Compo

	User        console.User
	UserKnown   bool
	Conn        console.Status
	Installable bool
	// Bot is the bot's own identity, shown here once instead of on every
	// row.
	Bot calls.Party
	// Restored says the page shows a copy saved by an earlier load.
	Restored bool
	// Others are the other people with a console open.
	Others []feedwire.Person
	Ctl    Controller
}

// Render draws the header.
func (h *Header) Render() app.UI {
	return app.Header().Class("top").Body(
		app.Div().Class("brand").Body(
			app.Img().Src("/web/icon.svg").Alt("").Width(28).Height(28),
			app.H1().Text("Switchboard"),
		),
		renderConn(h.Conn, h.Restored),
		app.If(h.Bot.ID != "",
			app.P().Class("bot").Title(partyWords(h.Bot)).Body(
				app.Span().Class("muted").Text("Bot "),
				app.Span().Text(orDash(h.Bot.Label())),
			),
		),
		app.Div().Class("who").Body(
			app.A().ID("nav-history").Class("btn", "btn-small").Href("/history").
				Aria("label", "Call history: find and export ended calls").Text("History"),
			app.If(h.Installable,
				app.Button().Type("button").Class("btn").ID("install").
					Aria("label", "Install Switchboard as an app").OnClick(h.onInstall).Text("Install"),
			),
			renderPresence(h.Others),
			app.If(h.UserKnown,
				app.Span().Class("user").Title(h.User.Email).Body(
					app.Text(h.User.Name),
					app.Small().Class("role").Text(string(h.User.Role)),
				),
			),
			// Always there, so the header does not move when the user is
			// known; it works before too (the server knows the session).
			app.Button().Type("button").Class("btn", "btn-small").ID("logout").
				OnClick(h.onLogout).Text("Log out"),
		),
	)
}

func (h *Header) onInstall(ctx app.Context, e app.Event) { h.Ctl.Install(ctx) }

func (h *Header) onLogout(ctx app.Context, e app.Event) { h.Ctl.Logout(ctx) }

// renderConn is the connection indicator: a coloured dot and a word, with
// the reason and the next retry for people who want to know more.
func renderConn(s console.Status, restored bool) app.UI {
	word := map[console.State]string{
		console.Connecting: "Connecting", console.Live: "Live", console.Reconnecting: "Reconnecting",
		console.Offline: "Offline", console.LoggedOut: "Logged out", console.Stalled: "Server reconnecting",
	}[s.State]
	if restored && s.State == console.Connecting {
		word = "Offline copy"
	}
	title := word
	if s.Reason != "" {
		title += ": " + s.Reason
	}
	if s.Retry > 0 {
		title += " — retrying in " + strconv.FormatFloat(s.Retry.Seconds(), 'f', 1, 64) + " s"
	}
	cls := "conn-" + cssWord(s.State.String())
	if restored && s.State == console.Connecting {
		cls = "conn-offline"
	}
	return app.Div().ID("conn").Class("conn", cls).
		Role("status").Aria("live", "polite").Title(title).Body(
		app.Span().Class("dot").Aria("hidden", "true"),
		app.Span().Class("conn-word").Text(word),
	)
}

func cssWord(s string) string {
	out := []byte(s)
	for i, b := range out {
		if b == ' ' {
			out[i] = '-'
		}
	}
	return string(out)
}

// UpdatePrompt tells that a newer version is ready and offers to load it.
type UpdatePrompt struct {
	app.Compo

	Ctl Controller
}

// Render draws the banner.
func (u *UpdatePrompt) Render() app.UI {
	return app.Div().ID("update").Class("update").Role("status").Body(
		app.Span().Text("A new version of Switchboard is ready."),
		app.Button().Type("button").Class("btn btn-primary").OnClick(u.onReload).Text("Reload"),
	)
}

func (u *UpdatePrompt) onReload(ctx app.Context, e app.Event) { u.Ctl.Reload(ctx) }
