package ui

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// This file lets host tests click buttons. go-app v9.8.0 has no public way
// to fire an event outside a browser, so these helpers walk the mounted
// tree through its unexported fields (a component's root, an element's
// attributes, event handlers and children) and invoke the handler go-app
// bound, exactly as its JavaScript listener would: through Emit, on the
// dispatcher, so that the components above the element re-render. The
// browser tests click for real.

// element is a mounted HTML element found in the tree.
type element struct {
	ui    app.UI
	attrs map[string]string
}

// unexported reads an unexported field of an addressable struct value.
func unexported(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	if !f.IsValid() {
		return f
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// elements lists the mounted HTML elements under root, in document order.
func elements(root app.UI) []element {
	var out []element
	var walk func(n app.UI)
	walk = func(n app.UI) {
		if n == nil {
			return
		}
		v := reflect.ValueOf(n)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			return
		}
		s := v.Elem()
		switch n.Kind() {
		case app.Component:
			if r := unexported(s, "root"); r.IsValid() && !r.IsNil() {
				walk(r.Interface().(app.UI))
			}
		case app.HTML:
			attrs := map[string]string{}
			if a := unexported(s, "attributes"); a.IsValid() {
				for _, k := range a.MapKeys() {
					attrs[k.String()] = a.MapIndex(k).String()
				}
			}
			out = append(out, element{ui: n, attrs: attrs})
			if c := unexported(s, "children"); c.IsValid() {
				for i := range c.Len() {
					walk(c.Index(i).Interface().(app.UI))
				}
			}
		}
	}
	walk(root)
	return out
}

// find returns the elements whose attributes include want.
func find(root app.UI, want map[string]string) []element {
	var out []element
	for _, e := range elements(root) {
		ok := true
		for k, v := range want {
			if e.attrs[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// handler returns the handler go-app bound to e for event.
func handler(t *testing.T, e element, event string) app.EventHandler {
	t.Helper()
	hs := unexported(reflect.ValueOf(e.ui).Elem(), "eventHandlers")
	if !hs.IsValid() {
		t.Fatalf("element %v has no event handlers", e.attrs)
	}
	h := hs.MapIndex(reflect.ValueOf(event))
	if !h.IsValid() {
		t.Fatalf("element %v has no %s handler", e.attrs, event)
	}
	cp := reflect.New(h.Type()).Elem()
	cp.Set(h)
	return unexported(cp, "goHandler").Interface().(app.EventHandler)
}

// fire invokes e's handler for event as go-app's listener would, then lets
// the dispatcher run everything that follows (renders, background work).
func fire(t *testing.T, d app.ClientDispatcher, e element, event string) {
	t.Helper()
	h := handler(t, e, event)
	d.Dispatch(app.Dispatch{Mode: app.Next, Source: e.ui, Function: func(ctx app.Context) {
		d.Emit(e.ui, func() { h(ctx, app.Event{Value: app.Null()}) })
	}})
	d.Consume()
}

// click fires the click handler of the only element matching want.
func click(t *testing.T, d app.ClientDispatcher, root app.UI, want map[string]string) {
	t.Helper()
	found := find(root, want)
	if len(found) != 1 {
		t.Fatalf("%d elements match %v, want 1", len(found), want)
	}
	fire(t, d, found[0], "click")
}
