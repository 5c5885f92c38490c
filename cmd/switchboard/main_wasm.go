//go:build wasm

// The WebAssembly build of Switchboard is the console itself: it registers
// the same routes the server prerenders and runs the app in the browser.
// The server's main (main.go) is built for every other target.
package main

import (
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/ui"
)

func main() {
	ui.Routes()
	// Sleeping hands the browser back its main thread between the Go
	// runtime's start and the first mount: two shorter tasks instead of
	// one long one, so the page answers input sooner while the app starts.
	time.Sleep(time.Millisecond)
	app.RunWhenOnBrowser()
}
