package ui

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/history"
	"switchboard/app/historyquery"
	"switchboard/app/reasons"
)

// HistoryAPI is what the History view asks the server. *console.Client
// is the real one.
type HistoryAPI interface {
	History(ctx context.Context, q historyquery.Query) (historyquery.Page, error)
	PastCall(ctx context.Context, id string) (calls.Call, []console.EventEntry, error)
}

// historyRows is the page size the History view asks for.
const historyRows = 50

// localInput is the layout of a datetime-local input's value.
const localInput = "2006-01-02T15:04"

// historyForm is the History view's filters, as typed.
type historyForm struct {
	From, To  string // datetime-local values, in the browser's time zone
	Party     string
	Direction string
	State     string
	Category  string
	Actor     string
}

// query turns the form into a history query, with the server's own
// checks: a malformed filter is an error in words, and nothing is asked.
func (f historyForm) query(loc *time.Location) (historyquery.Query, error) {
	v := url.Values{}
	for name, local := range map[string]string{historyquery.ParamFrom: f.From, historyquery.ParamTo: f.To} {
		if local = strings.TrimSpace(local); local != "" {
			t, err := time.ParseInLocation(localInput, local, loc)
			if err != nil {
				return historyquery.Query{}, err
			}
			v.Set(name, t.UTC().Format(time.RFC3339))
		}
	}
	v.Set(historyquery.ParamParty, f.Party)
	v.Set(historyquery.ParamDirection, f.Direction)
	v.Set(historyquery.ParamState, f.State)
	v.Set(historyquery.ParamCategory, f.Category)
	v.Set(historyquery.ParamActor, f.Actor)
	v.Set(historyquery.ParamLimit, strconv.Itoa(historyRows))
	return historyquery.Parse(v)
}

// pastCall is the call the History view shows in full.
type pastCall struct {
	ID      string
	Call    calls.Call
	Events  []console.EventEntry
	Loading bool
	Error   string
}

// HistoryPage is the console's History view (/history): ended calls
// found by time, number or name, direction, state reached, why they
// ended and who acted on them, a page at a time; a call's whole history
// on a click; the CSV of what the filters find.
type HistoryPage struct {
	app.Compo

	api HistoryAPI
	loc *time.Location

	form    historyForm
	query   historyquery.Query
	rows    []historyquery.Row
	next    string
	loading bool
	// searched is set once a search answered: "no calls" means something.
	searched bool
	// asked counts searches: only the latest one's answer is shown.
	asked int
	err   string
	shown pastCall
	// mounted is the view's own context: answers update the view, even
	// for a request a row made.
	mounted app.Context
}

// NewHistoryPage returns a History view that asks api, reading typed times
// in loc, instead of the browser's own.
func NewHistoryPage(api HistoryAPI, loc *time.Location) *HistoryPage {
	return &HistoryPage{api: api, loc: loc}
}

// OnMount finds the newest ended calls.
func (h *HistoryPage) OnMount(ctx app.Context) {
	h.mounted = ctx
	if h.api == nil {
		u := app.Window().URL()
		client, err := console.NewClient(u.Scheme+"://"+u.Host, fetchTransport{})
		if err != nil {
			h.err = err.Error()
			return
		}
		h.api = client
	}
	if h.loc == nil {
		h.loc = time.Local
	}
	h.search(ctx, false)
}

// search asks for the first page of the form's query, or the next page
// of the query shown (more).
func (h *HistoryPage) search(ctx app.Context, more bool) {
	q := h.query
	if !more {
		var err error
		if q, err = h.form.query(h.loc); err != nil {
			h.err = "Check the filters: " + err.Error()
			return
		}
	} else {
		q.Cursor = h.next
	}
	h.loading, h.err = true, ""
	h.asked++
	api, asked := h.api, h.asked
	ctx = h.ctxFor(ctx)
	ctx.Async(func() {
		page, err := api.History(ctx, q)
		ctx.Dispatch(func(ctx app.Context) {
			if asked == h.asked {
				h.answered(q, more, page, err)
			}
		})
	})
}

func (h *HistoryPage) answered(q historyquery.Query, more bool, page historyquery.Page, err error) {
	h.loading = false
	if err != nil {
		h.err = "Could not read the history: " + err.Error()
		return
	}
	if !more {
		h.rows, h.query = nil, q
	}
	h.rows = append(h.rows, page.Rows...)
	h.next, h.searched = page.Next, true
}

// ShowPast opens the whole history of the ended call id.
func (h *HistoryPage) ShowPast(ctx app.Context, id string) {
	h.shown = pastCall{ID: id, Loading: true}
	api := h.api
	ctx = h.ctxFor(ctx)
	ctx.Async(func() {
		c, events, err := api.PastCall(ctx, id)
		ctx.Dispatch(func(ctx app.Context) {
			if h.shown.ID != id {
				return // another call was opened meanwhile
			}
			h.shown = pastCall{ID: id, Call: c, Events: events}
			if err != nil {
				h.shown.Error = "Could not read this call's history: " + err.Error()
			}
		})
	})
}

func (h *HistoryPage) ctxFor(ctx app.Context) app.Context {
	if h.mounted != nil {
		return h.mounted
	}
	return ctx
}

// Render draws the view.
func (h *HistoryPage) Render() app.UI {
	return app.Div().ID("switchboard").Class("sb", "history-view").Body(
		app.Div().Class("shell").Body(
			app.Header().Class("top").Body(
				app.Div().Class("brand").Body(
					app.Img().Src("/web/icon.svg").Alt("").Width(28).Height(28),
					app.H1().Text("Switchboard"),
				),
				app.Nav().Aria("label", "Views").Class("views").Body(
					app.A().ID("nav-live").Class("btn", "btn-small").Href("/").Text("Live calls"),
					app.A().ID("nav-history").Class("btn", "btn-small").Href("/history").Aria("current", "page").Text("History"),
				),
			),
			app.Main().ID("main").Body(
				app.Section().Class("panel", "history").Aria("labelledby", "history-title").Body(
					app.Div().Class("panel-head").Body(
						app.H2().ID("history-title").Text("Call history"),
						h.renderForm(),
					),
					h.renderStatus(),
					h.renderTable(),
					app.If(h.next != "",
						app.Button().Type("button").Class("btn").ID("history-more").Disabled(h.loading).
							OnClick(h.onMore).Text("Older calls"),
					),
				),
			),
			app.If(h.shown.ID != "", h.renderShown()),
		),
	)
}

func (h *HistoryPage) renderForm() app.UI {
	f := h.form
	field := func(id, label string, input app.UI) app.UI {
		return app.Div().Class("field").Body(app.Label().For(id).Text(label), input)
	}
	directions := []app.UI{app.Option().Value("").Selected(f.Direction == "").Text("Both directions")}
	for _, d := range []string{calls.DirectionIncoming, calls.DirectionOutgoing} {
		directions = append(directions, app.Option().Value(d).Selected(f.Direction == d).Text(d))
	}
	states := []app.UI{app.Option().Value("").Selected(f.State == "").Text("Any state")}
	for _, s := range calls.KnownStates {
		states = append(states, app.Option().Value(string(s)).Selected(f.State == string(s)).Text(string(s)))
	}
	categories := []app.UI{app.Option().Value("").Selected(f.Category == "").Text("Any reason")}
	for _, c := range reasons.Categories() {
		categories = append(categories, app.Option().Value(string(c)).Selected(f.Category == string(c)).Text(c.Label()))
	}
	return app.Form().ID("history-filters").Class("filters", "history-filters").Role("search").
		Aria("label", "Filter the call history").OnSubmit(h.onSubmit).Body(
		field("history-from", "Ended from", app.Input().Type("datetime-local").ID("history-from").Value(f.From).OnChange(h.onField("from"))),
		field("history-to", "Ended until", app.Input().Type("datetime-local").ID("history-to").Value(f.To).OnChange(h.onField("to"))),
		field("history-party", "Number or name", app.Input().Type("search").ID("history-party").AutoComplete(false).
			Value(f.Party).OnInput(h.onField("party"))),
		field("history-direction", "Direction", app.Select().ID("history-direction").OnChange(h.onField("direction")).Body(directions...)),
		field("history-state", "State reached", app.Select().ID("history-state").OnChange(h.onField("state")).Body(states...)),
		field("history-category", "Why it ended", app.Select().ID("history-category").OnChange(h.onField("category")).Body(categories...)),
		field("history-actor", "Acted on by", app.Input().Type("search").ID("history-actor").AutoComplete(false).
			Value(f.Actor).OnInput(h.onField("actor"))),
		app.Div().Class("field", "field-actions").Body(
			app.Button().Type("submit").Class("btn", "btn-primary").ID("history-search").Text("Search"),
			app.A().ID("history-csv").Class("btn").Href(console.HistoryCSVPath(h.query)).Attr("download", "switchboard-history.csv").
				Aria("label", "Download the calls these filters find as CSV").Text("Download CSV"),
		),
	)
}

func (h *HistoryPage) renderStatus() app.UI {
	var text string
	switch {
	case h.err != "":
		return app.P().ID("history-status").Class("op-error").Role("alert").Text(h.err)
	case h.loading:
		text = "Searching…"
	case !h.searched:
		text = ""
	case len(h.rows) == 0:
		text = "No ended calls match these filters."
	case h.next != "":
		text = count(len(h.rows)) + " calls shown, newest first; older ones follow."
	default:
		text = count(len(h.rows)) + " calls found, newest first."
	}
	return app.P().ID("history-status").Class("muted").Role("status").Aria("live", "polite").Text(text)
}

func (h *HistoryPage) renderTable() app.UI {
	rows := make([]app.UI, len(h.rows))
	for i, r := range h.rows {
		rows[i] = &HistoryRow{Row: r, Selected: r.ID == h.shown.ID, View: h}
	}
	return app.Div().Class("table-wrap").Body(app.Table().ID("history-table").Class("history-rows").Body(
		app.Caption().Class("sr-only").Text("Ended calls, newest first"),
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("Ended"), app.Th().Scope("col").Text("Caller"),
			app.Th().Scope("col").Text("To"), app.Th().Scope("col").Text("Direction"),
			app.Th().Scope("col").Text("Duration"), app.Th().Scope("col").Text("Why it ended"),
			app.Th().Scope("col").Text("Acted on by"), app.Th().Scope("col").Text("History"),
		)),
		app.TBody().Body(rows...),
	))
}

func (h *HistoryPage) renderShown() app.UI {
	s := h.shown
	title := "Call " + s.ID
	if s.Call.ID != "" {
		title = "Call from " + orDash(s.Call.Source.Label())
	}
	var body []app.UI
	switch {
	case s.Error != "":
		body = append(body, app.P().Class("op-error").Role("alert").Text(s.Error))
	case s.Loading:
		body = append(body, app.P().Class("empty").Text("Loading…"))
	default:
		why := reasons.ForCall(s.Call)
		facts := []app.UI{}
		add := func(term, value string) {
			if value != "" {
				facts = append(facts, app.Dt().Text(term), app.Dd().Text(value))
			}
		}
		add("Call id", s.Call.ID)
		add("Caller", partyWords(s.Call.Source))
		for i, t := range s.Call.Targets {
			add("Target "+strconv.Itoa(i+1), partyWords(t))
		}
		add("Started", fullTime(s.Call.StartedAt))
		add("Ended", fullTime(s.Call.EndedAt))
		add("Why it ended", why.String()+", "+why.Category.Label())
		body = append(body, app.Dl().Class("facts").Body(facts...), app.H3().Text("History"), historyLines(s.Events))
	}
	return app.Aside().ID("history-detail").Class("panel", "detail").DataSet("call-id", s.ID).
		Aria("labelledby", "history-detail-title").Body(
		app.Div().Class("detail-body").Body(append([]app.UI{
			app.Div().Class("detail-head").Body(
				app.H2().ID("history-detail-title").Text(title),
				app.Button().Type("button").Class("btn").ID("history-detail-close").Aria("label", "Close the call's history").
					OnClick(h.onClose).Text("Close"),
			),
		}, body...)...),
	)
}

// historyLines tells a call's events in words, as the live detail does.
func historyLines(events []console.EventEntry) app.UI {
	if len(events) == 0 {
		return app.P().Class("empty").Text("No events.")
	}
	lines := history.Tell(events)
	rows := make([]app.UI, len(lines))
	for i, l := range lines {
		rows[i] = app.Tr().DataSet("seq", l.Seq).Body(
			app.Td().Text(fullTime(l.At)), app.Td().Text(l.Kind), app.Td().Class("what").Text(l.Text),
		)
	}
	return app.Table().ID("history-events").Class("events").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("At"), app.Th().Scope("col").Text("From"), app.Th().Scope("col").Text("What"),
		)),
		app.TBody().Body(rows...),
	)
}

func (h *HistoryPage) onField(name string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		v := ctx.JSSrc().Get("value").String()
		switch name {
		case "from":
			h.form.From = v
		case "to":
			h.form.To = v
		case "party":
			h.form.Party = v
		case "direction":
			h.form.Direction = v
		case "state":
			h.form.State = v
		case "category":
			h.form.Category = v
		case "actor":
			h.form.Actor = v
		}
	}
}

func (h *HistoryPage) onSubmit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	h.search(ctx, false)
}

func (h *HistoryPage) onMore(ctx app.Context, e app.Event) { h.search(ctx, true) }

func (h *HistoryPage) onClose(ctx app.Context, e app.Event) { h.shown = pastCall{} }

// HistoryRow is one ended call in the History view.
type HistoryRow struct {
	app.Compo

	Row      historyquery.Row
	Selected bool
	// View opens a call's history, with the row's own id read at click
	// time.
	View interface {
		ShowPast(ctx app.Context, id string)
	}
}

// Render draws the row.
func (r *HistoryRow) Render() app.UI {
	row := r.Row
	var targets []string
	for _, t := range row.Targets {
		targets = append(targets, orDash(t.Label()))
	}
	why := row.Reason
	if row.Code != "" {
		why += " (" + row.Code + ")"
	}
	return app.Tr().DataSet("call-id", row.ID).Class(selectedClass(r.Selected)).Body(
		app.Td().Text(fullTime(row.EndedAt)),
		app.Td().Title(partyWords(row.Source)).Text(orDash(row.Source.Label())),
		app.Td().Text(orDash(strings.Join(targets, ", "))),
		app.Td().Text(orDash(row.Direction)),
		app.Td().Text(clock(row.Duration())),
		app.Td().Title(row.Category.Label()).Text(why),
		app.Td().Text(strings.Join(row.Actors, ", ")),
		app.Td().Body(
			app.Button().Type("button").Class("btn", "btn-small").DataSet("action", "history").DataSet("call-id", row.ID).
				Aria("label", "Show the history of the call from "+orDash(row.Source.Label())).
				Aria("expanded", r.Selected).OnClick(r.onShow).Text("History"),
		),
	)
}

func (r *HistoryRow) onShow(ctx app.Context, e app.Event) {
	if r.View != nil {
		r.View.ShowPast(ctx, r.Row.ID)
	}
}

func selectedClass(selected bool) string {
	if selected {
		return "selected"
	}
	return ""
}
