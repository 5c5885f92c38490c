package ui

import (
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/reasons"
)

const svgNS = "http://www.w3.org/2000/svg"

// SummaryBar draws live calls by state and the calls that ended in the
// last hour by category as two stacked SVG bars, each with a legend whose
// entries filter: a click on "incoming 3" shows the incoming calls only, a
// click on "timeout 2" the calls that timed out; a second click shows all
// again. Supervisors would rather look than read.
type SummaryBar struct {
	app.Compo

	Summary console.Summary
	// State and Category are the filters in force, shown pressed.
	State    calls.State
	Category reasons.Category
	Ctl      Controller
}

// segment is one coloured part of a bar.
type segment struct {
	class  string // the CSS class giving the legend's swatch its colour
	colour string // the same colour, for the SVG's fill attribute
	label  string
	count  int
	key    string // the state or category it filters by
	on     bool   // the filter in force
}

// Render draws both bars.
func (s *SummaryBar) Render() app.UI {
	var live, ended []segment
	for _, sc := range s.Summary.ByState {
		live = append(live, segment{class: strings.TrimPrefix(stateClass(sc.State), "state "), colour: stateColour(sc.State),
			label: string(sc.State), count: sc.Count, key: string(sc.State), on: sc.State == s.State})
	}
	for _, cc := range s.Summary.EndedByCategory {
		ended = append(ended, segment{class: "cat-" + string(cc.Category), colour: categoryColour(cc.Category),
			label: cc.Category.Label(), count: cc.Count, key: string(cc.Category), on: cc.Category == s.Category})
	}
	return app.Section().Class("summary").Aria("label", "Summary").Body(
		renderBar("sum-live", count(s.Summary.Live)+" live", "Live calls by state", live, false, s.onLiveBar, s.Ctl),
		renderBar("sum-ended", count(s.Summary.Ended)+" ended in the last hour", "Calls ended in the last hour, by reason", ended, true, s.onEndedBar, s.Ctl),
	)
}

// renderBar is one labelled bar: an SVG of proportional segments and a
// legend of the non-zero ones, each a filter button.
func renderBar(id, headline, title string, segs []segment, ended bool, click app.EventHandler, ctl Controller) app.UI {
	total := 0
	var said []string
	for _, sg := range segs {
		total += sg.count
		if sg.count > 0 {
			said = append(said, sg.label+" "+strconv.Itoa(sg.count))
		}
	}
	description := title + ": none"
	if len(said) > 0 {
		description = title + ": " + strings.Join(said, ", ")
	}
	const width, height = 400.0, 12.0
	rects := []app.UI{
		app.Elem("rect").XMLNS(svgNS).Attr("fill", "#1c2740").Attr("x", 0).Attr("y", 0).
			Attr("width", width).Attr("height", height).Attr("rx", 3),
	}
	x := 0.0
	for _, sg := range segs {
		if sg.count == 0 || total == 0 {
			continue
		}
		w := width * float64(sg.count) / float64(total)
		rects = append(rects, app.Elem("rect").XMLNS(svgNS).Attr("fill", sg.colour).Attr("data-filter", sg.key).
			Attr("x", round(x)).Attr("y", 0).Attr("width", round(w)).Attr("height", height).
			Body(app.Elem("title").XMLNS(svgNS).Text(sg.label+": "+strconv.Itoa(sg.count))))
		x += w
	}
	legend := make([]app.UI, 0, len(segs))
	for _, sg := range segs {
		if sg.count > 0 || sg.on {
			legend = append(legend, app.Li().Body(&LegendButton{Ended: ended, Key: sg.key, Label: sg.label,
				Class: sg.class, Count: sg.count, On: sg.on, Ctl: ctl}))
		}
	}
	return app.Figure().ID(id).Class("bar").Body(
		app.FigCaption().Text(headline),
		app.Elem("svg").XMLNS(svgNS).Attr("viewBox", "0 0 400 12").Attr("preserveAspectRatio", "none").
			Attr("width", "100%").Attr("height", "12").Attr("role", "img").Aria("label", description).
			OnClick(click).Body(rects...),
		app.Ul().Class("legend").Aria("label", "Filter by "+strings.ToLower(strings.TrimPrefix(title, "Calls "))).Body(legend...),
	)
}

// onLiveBar and onEndedBar filter by the segment clicked (the legend's
// entries do the same from the keyboard); a click on the segment in force
// shows all again.
func (s *SummaryBar) onLiveBar(ctx app.Context, e app.Event) {
	if key := segmentOf(e); key != "" && s.Ctl != nil {
		s.Ctl.FilterState(ctx, calls.State(key), calls.State(key) != s.State)
	}
}

func (s *SummaryBar) onEndedBar(ctx app.Context, e app.Event) {
	if key := segmentOf(e); key != "" && s.Ctl != nil {
		f := console.Filter{Ended: true}
		if reasons.Category(key) != s.Category {
			f.Category = reasons.Category(key)
		}
		s.Ctl.SetEndedFilter(ctx, f)
	}
}

// segmentOf is the state or category of the bar segment an event hit.
func segmentOf(e app.Event) string {
	t := e.Get("target")
	if !t.Truthy() {
		return ""
	}
	if v := t.Call("getAttribute", "data-filter"); v.Truthy() {
		return v.String()
	}
	return ""
}

// LegendButton is one legend entry: it filters its table by its state or
// category, or shows all again when that filter is in force.
type LegendButton struct {
	app.Compo

	Ended bool
	Key   string
	Label string
	Class string
	Count int
	On    bool
	Ctl   Controller
}

// Render draws the button.
func (b *LegendButton) Render() app.UI {
	what := "live calls " + b.Label
	if b.Ended {
		what = "ended calls: " + b.Label
	}
	label := "Show only " + what
	if b.On {
		label = "Show all, not only " + what
	}
	// The name is the visible words with what a click does before them,
	// so that speech users say what they see.
	return app.Button().Type("button").Class("legend-item").DataSet("filter", b.Key).
		Aria("pressed", b.On).Title(label).
		OnClick(b.onClick).Body(
		app.Span().Class("swatch", b.Class).Aria("hidden", "true"),
		app.Span().Class("sr-only").Text(legendVerb(b.Ended)),
		app.Text(b.Label+" "),
		app.Strong().Text(count(b.Count)),
	)
}

// legendVerb is what a legend entry's click does, for screen readers.
func legendVerb(ended bool) string {
	if ended {
		return "Filter ended calls: "
	}
	return "Filter live calls: "
}

func (b *LegendButton) onClick(ctx app.Context, e app.Event) {
	if b.Ctl == nil {
		return
	}
	if b.Ended {
		f := console.Filter{Ended: true}
		if !b.On {
			f.Category = reasons.Category(b.Key)
		}
		b.Ctl.SetEndedFilter(ctx, f)
		return
	}
	b.Ctl.FilterState(ctx, calls.State(b.Key), !b.On)
}

func round(f float64) string {
	return strconv.FormatFloat(f, 'f', 1, 64)
}
