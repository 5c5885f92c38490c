//go:build wasm

// The WebAssembly build of Switchboard is the console itself: it registers
// the same routes the server prerenders and runs the app in the browser.
// The server's main (main.go) is built for every other target.
package main

import (
	"context"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/ui"
)

func main() {
	ui.Routes()
	// The Go runtime's start and every package's initialisation ran in
	// this task; the first mount gets a task of its own, so the page can
	// answer input in between.
	ui.YieldToBrowser(context.Background())
	app.RunWhenOnBrowser()
}
