package ui

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// focusKey names a control of the console by what it acts on, not where it
// is: the call, the action (data-action) and, for an action on one
// participant, the participant. Every call control carries data-call-id
// and data-action; rows carry their call id and an id of their own
// (call-ID, ended-ID) to take the focus when their controls are gone.
type focusKey struct {
	CallID, Action, Participant string
}

// keyOf reads the key of a DOM element; zero when it is not a call control.
func keyOf(el app.Value) focusKey {
	if !el.Truthy() {
		return focusKey{}
	}
	ds := el.Get("dataset")
	if !ds.Truthy() {
		return focusKey{}
	}
	str := func(name string) string {
		if v := ds.Get(name); v.Truthy() {
			return v.String()
		}
		return ""
	}
	return focusKey{CallID: str("callId"), Action: str("action"), Participant: str("participant")}
}

// watchFocus follows which call control has the focus. The handler runs on
// the UI goroutine, as every change of the page's state does.
func (p *Page) watchFocus(ctx app.Context) {
	app.Window().AddEventListener("focusin", func(ctx app.Context, e app.Event) {
		p.focus = keyOf(e.Get("target"))
	})
}

// afterRender keeps the keyboard focus with its call once the DOM shows
// the new state: when the focused element now shows another call (rows
// moved under it) or was removed, the focus goes to the same control of
// the same call, else to that call's row, else to the live table's title,
// never to another call's control.
//
// The key is read when the check runs, after the frame's DOM updates, not
// when the change was made: the focus may have moved in between (a Tab,
// or a click) onto an element that the frame then gave to another call.
func (p *Page) afterRender(ctx app.Context) {
	ctx.Defer(func(app.Context) {
		if p.focus.CallID != "" && p.dialog.CallID == "" && !p.bulk.Confirming {
			keepFocus(p.focus)
		}
	})
}

// keepFocus moves the focus back to key's control if it strayed.
func keepFocus(key focusKey) {
	active := app.Window().Get("document").Get("activeElement")
	now := keyOf(active)
	if now.CallID == key.CallID {
		return // still on its call (the person may have moved within it)
	}
	if now.CallID == "" && active.Truthy() && active.Get("tagName").String() != "BODY" {
		return // the focus went to something that is not a call's control
	}
	focusCall(key)
}

// focusCall focuses key's control, or its call's row, or the live table.
func focusCall(key focusKey) {
	doc := app.Window().Get("document")
	id := app.Window().Get("CSS").Call("escape", key.CallID).String()
	var candidates []string
	if key.Action != "" {
		sel := `[data-call-id="` + id + `"][data-action="` + app.Window().Get("CSS").Call("escape", key.Action).String() + `"]`
		if key.Participant != "" {
			sel += `[data-participant="` + app.Window().Get("CSS").Call("escape", key.Participant).String() + `"]`
		}
		candidates = append(candidates, "#dialog "+sel, "#detail "+sel, "#main "+sel)
	}
	candidates = append(candidates, "#call-"+id, "#ended-"+id, "#live-title")
	for _, sel := range candidates {
		el := doc.Call("querySelector", sel)
		if el.Truthy() && !el.Get("disabled").Truthy() {
			el.Call("focus", focusOptions())
			return
		}
	}
}

// focusOptions keeps the page from scrolling when the focus moves.
func focusOptions() app.Value {
	o := app.Window().Get("Object").New()
	o.Set("preventScroll", true)
	return o
}

// ctxFor is the context to defer focus work on: the page's own. The
// element a handler ran on (a dialog's button, the panel's Close) is
// often gone after the change, and work deferred on it with it.
func (p *Page) ctxFor(ctx app.Context) app.Context {
	if p.mounted != nil {
		return p.mounted
	}
	return ctx
}

// returnFocus gives the focus back to key's control once the DOM shows
// the page after this change (a dialog or the detail panel closed).
func returnFocus(ctx app.Context, key focusKey) {
	if key.CallID == "" {
		return
	}
	ctx.Defer(func(app.Context) { focusCall(key) })
}

// focusID focuses the element with the given id once the DOM has it.
func focusID(ctx app.Context, id string) {
	ctx.Defer(func(app.Context) {
		if el := app.Window().GetElementByID(id); el.Truthy() {
			el.Call("focus", focusOptions())
		}
	})
}
