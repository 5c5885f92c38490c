package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
)

// FilterBar filters the live table by state and direction and searches it
// over caller, callee, subject and call id.
type FilterBar struct {
	app.Compo

	Filter console.Filter
	Ctl    Controller
}

// Render draws the search box and the two selects.
func (f *FilterBar) Render() app.UI {
	state := ""
	if len(f.Filter.States) == 1 {
		state = string(f.Filter.States[0])
	}
	stateOptions := []app.UI{app.Option().Value("").Selected(state == "").Text("All states")}
	for _, st := range calls.KnownStates {
		if st == calls.Terminated {
			continue
		}
		stateOptions = append(stateOptions, app.Option().Value(string(st)).Selected(state == string(st)).Text(string(st)))
	}
	dir := f.Filter.Direction
	return app.Form().Class("filters").Role("search").OnSubmit(f.onSubmit).Body(
		app.Label().For("search").Class("sr-only").Text("Search calls"),
		app.Input().Type("search").ID("search").Placeholder("Search caller, callee, subject or id").
			AutoComplete(false).Value(f.Filter.Search).OnInput(f.onSearch),
		app.Label().For("state-filter").Class("sr-only").Text("Filter by state"),
		app.Select().ID("state-filter").OnChange(f.onState).Body(stateOptions...),
		app.Label().For("dir-filter").Class("sr-only").Text("Filter by direction"),
		app.Select().ID("dir-filter").OnChange(f.onDirection).Body(
			app.Option().Value("").Selected(dir == "").Text("Both directions"),
			app.Option().Value(calls.DirectionIncoming).Selected(dir == calls.DirectionIncoming).Text("Incoming"),
			app.Option().Value(calls.DirectionOutgoing).Selected(dir == calls.DirectionOutgoing).Text("Outgoing"),
		),
		app.If(!f.Filter.IsZero(),
			app.Button().Type("button").Class("btn").ID("clear-filters").OnClick(f.onClear).Text("Clear"),
		),
	)
}

func (f *FilterBar) onSubmit(ctx app.Context, e app.Event) {
	e.PreventDefault()
}

func (f *FilterBar) onSearch(ctx app.Context, e app.Event) {
	next := f.Filter
	next.Search = ctx.JSSrc().Get("value").String()
	f.Ctl.SetFilter(ctx, next)
}

func (f *FilterBar) onState(ctx app.Context, e app.Event) {
	next := f.Filter
	next.States = nil
	if v := ctx.JSSrc().Get("value").String(); v != "" {
		next.States = []calls.State{calls.State(v)}
	}
	f.Ctl.SetFilter(ctx, next)
}

func (f *FilterBar) onDirection(ctx app.Context, e app.Event) {
	next := f.Filter
	next.Direction = ctx.JSSrc().Get("value").String()
	f.Ctl.SetFilter(ctx, next)
}

func (f *FilterBar) onClear(ctx app.Context, e app.Event) {
	f.Ctl.SetFilter(ctx, console.Filter{})
}
