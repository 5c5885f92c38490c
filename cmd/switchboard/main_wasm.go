//go:build wasm

// The WebAssembly build of Switchboard is the console itself: it registers
// the same routes the server prerenders and runs the app in the browser.
// The server's main (main.go) is built for every other target.
package main

import (
	"syscall/js"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/ui"
)

func main() {
	ui.Routes()
	// The Go runtime's start and every package's initialisation ran in
	// this task; the first mount gets a task of its own, so the page can
	// answer input in between.
	yieldToBrowser()
	app.RunWhenOnBrowser()
}

// yieldToBrowser returns once the browser has run a zero-delay timer: the
// Go program gives the main thread back until then, whatever else is
// runnable. (A short time.Sleep does not: if the runtime's own goroutines
// keep it busy past the deadline, the program never pauses.)
func yieldToBrowser() {
	done := make(chan struct{})
	resume := js.FuncOf(func(js.Value, []js.Value) any {
		close(done)
		return nil
	})
	defer resume.Release()
	js.Global().Call("setTimeout", resume, 0)
	<-done
}
