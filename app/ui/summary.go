package ui

import (
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/console"
)

const svgNS = "http://www.w3.org/2000/svg"

// SummaryBar draws live calls by state and the calls that ended in the
// last hour by category as two stacked SVG bars with a legend: supervisors
// would rather look than read.
type SummaryBar struct {
	app.Compo

	Summary console.Summary
}

// segment is one coloured part of a bar.
type segment struct {
	class  string // the CSS class giving the legend's swatch its colour
	colour string // the same colour, for the SVG's fill attribute
	label  string
	count  int
}

// Render draws both bars.
func (s *SummaryBar) Render() app.UI {
	var live, ended []segment
	for _, sc := range s.Summary.ByState {
		live = append(live, segment{class: strings.TrimPrefix(stateClass(sc.State), "state "), colour: stateColour(sc.State), label: string(sc.State), count: sc.Count})
	}
	for _, cc := range s.Summary.EndedByCategory {
		ended = append(ended, segment{class: "cat-" + string(cc.Category), colour: categoryColour(cc.Category), label: cc.Category.Label(), count: cc.Count})
	}
	return app.Section().Class("panel", "summary").Aria("label", "Summary").Body(
		renderBar("sum-live", count(s.Summary.Live)+" live", "Live calls by state", live),
		renderBar("sum-ended", count(s.Summary.Ended)+" ended in the last hour", "Calls ended in the last hour, by reason", ended),
	)
}

// renderBar is one labelled bar: an SVG of proportional segments and a
// legend of the non-zero ones.
func renderBar(id, headline, title string, segs []segment) app.UI {
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
	const width, height = 600.0, 16.0
	rects := []app.UI{
		app.Elem("rect").XMLNS(svgNS).Attr("fill", "#1c2740").Attr("x", 0).Attr("y", 0).
			Attr("width", width).Attr("height", height).Attr("rx", 4),
	}
	x := 0.0
	for _, sg := range segs {
		if sg.count == 0 || total == 0 {
			continue
		}
		w := width * float64(sg.count) / float64(total)
		rects = append(rects, app.Elem("rect").XMLNS(svgNS).Attr("fill", sg.colour).
			Attr("x", round(x)).Attr("y", 0).Attr("width", round(w)).Attr("height", height).
			Body(app.Elem("title").XMLNS(svgNS).Text(sg.label+": "+strconv.Itoa(sg.count))))
		x += w
	}
	legend := make([]app.UI, 0, len(segs))
	for _, sg := range segs {
		if sg.count > 0 {
			legend = append(legend, app.Li().Body(
				app.Span().Class("swatch", sg.class).Aria("hidden", "true"),
				app.Text(sg.label+" "),
				app.Strong().Text(count(sg.count)),
			))
		}
	}
	return app.Figure().ID(id).Class("bar").Body(
		app.FigCaption().Text(headline),
		app.Elem("svg").XMLNS(svgNS).Attr("viewBox", "0 0 600 16").Attr("preserveAspectRatio", "none").
			Attr("width", "100%").Attr("height", "18").Attr("role", "img").Aria("label", description).Body(rects...),
		app.Ul().Class("legend").Body(legend...),
	)
}

func round(f float64) string {
	return strconv.FormatFloat(f, 'f', 1, 64)
}
