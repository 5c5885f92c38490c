package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/console"
)

// Probe learns what each flush rendered, once the DOM has it. Browser tests
// read it to measure "event on the wire → row updated in the DOM".
type Probe interface {
	// Rendered reports that the DOM now shows the store at seq (the feed
	// had received up to received), and that the rows of the given calls
	// were redrawn for the given call sequences.
	Rendered(seq, received uint64, state console.State, rows map[string]uint64)
}

// windowProbe publishes to window.__switchboard:
//
//	seq       the feed sequence the DOM shows
//	received  the highest sequence the feed received
//	state     the connection state ("live", "reconnecting", …)
//	flushes   how many flushes rendered
//	rows      a Map from call id to {seq, at}: the call sequence its row
//	          last showed, and performance.now() once the DOM had it
type windowProbe struct {
	obj app.Value
}

func newWindowProbe() *windowProbe {
	w := app.Window()
	obj := w.Get("Object").New()
	obj.Set("seq", 0)
	obj.Set("received", 0)
	obj.Set("state", console.Connecting.String())
	obj.Set("flushes", 0)
	obj.Set("rows", w.Get("Map").New())
	w.Set("__switchboard", obj)
	return &windowProbe{obj: obj}
}

func (p *windowProbe) Rendered(seq, received uint64, state console.State, rows map[string]uint64) {
	at := app.Window().Get("performance").Call("now")
	p.obj.Set("seq", float64(seq))
	p.obj.Set("received", float64(received))
	p.obj.Set("state", state.String())
	p.obj.Set("flushes", p.obj.Get("flushes").Int()+1)
	m := p.obj.Get("rows")
	obj := app.Window().Get("Object")
	for id, s := range rows {
		v := obj.New()
		v.Set("seq", float64(s))
		v.Set("at", at)
		m.Call("set", id, v)
	}
}
