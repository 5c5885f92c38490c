package ui

import (
	"context"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// YieldToBrowser returns once the browser has run a zero-delay timer, or
// ctx is done. The Go program gives the browser its main thread back until
// then, whatever else is runnable, so the work before and the work after
// run as separate tasks and a click or a key is answered in between. (A
// short time.Sleep does not promise that: when the program stays busy past
// the deadline, it never pauses.) It is for the browser only: the
// WebAssembly main calls it between the runtime's start and the first
// mount, and the page between reading the feed and applying it.
func YieldToBrowser(ctx context.Context) {
	done := make(chan struct{})
	var resume app.Func
	resume = app.FuncOf(func(app.Value, []app.Value) any {
		resume.Release()
		close(done)
		return nil
	})
	app.Window().Call("setTimeout", resume, 0)
	select {
	case <-done:
	case <-ctx.Done():
	}
}
