// Package ui is Switchboard's console: the go-app components a supervisor
// sees, compiled to WebAssembly for the browser and prerendered on the
// server for the first paint.
//
// The page (Page) owns all state and is the only component that changes
// it, always on the UI goroutine: feed messages wait in a console.Inbox
// until a throttled flush moves them into the console.Store; REST calls run
// in ctx.Async and report back with ctx.Dispatch. Every other component is
// small, has one job, and receives what it shows as props, by value, so
// go-app's DeepEqual comparison re-renders only the rows that changed.
//
// go-app diffs children by position and keeps the first event handler it
// bound unless its scope changes. Components therefore never capture a call
// id in a closure: a row's handlers are methods that read the id from the
// row's own Call field at click time, and the confirmation dialog carries
// the id it was opened for. Tables render a page of rows (never the whole
// store), so no update mounts more components than go-app can dispatch.
package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// Routes registers the console's pages with go-app. Both mains call it: the
// server to prerender, the WebAssembly build to run.
func Routes() {
	app.RouteFunc("/", func() app.Composer { return &Page{} })
	app.RouteFunc("/history", func() app.Composer { return &HistoryPage{} })
}

// The console's look, shared by the handler and the stylesheet.
const (
	themeColor      = "#0f766e"
	backgroundColor = "#0b1220"
)

// Handler returns the go-app handler that serves the console's page and its
// PWA resources (manifest, service worker, icons, styles). version must be
// derived from the build (package webui hashes app.wasm and web/): it is
// the ETag of every resource and what makes installed consoles update.
func Handler(version string) *app.Handler {
	return &app.Handler{
		Name:        "Switchboard",
		ShortName:   "Switchboard",
		Title:       "Switchboard — live calls",
		Description: "Live call console for supervisors of Microsoft Graph calling bots: see every call, answer, reject or hang up, and read why calls ended.",
		Lang:        "en",
		Icon: app.Icon{
			Default:    "/web/icon-192.png",
			Large:      "/web/icon-512.png",
			SVG:        "/web/icon.svg",
			AppleTouch: "/web/icon-192.png",
		},
		Styles:                  []string{"/web/app.css"},
		ThemeColor:              themeColor,
		BackgroundColor:         backgroundColor,
		LoadingLabel:            "Starting… {progress}%",
		Version:                 version,
		WasmContentLengthHeader: WasmLengthHeader,
		AutoUpdateInterval:      10 * time.Minute,
		ServiceWorkerTemplate:   appWorkerJS,
	}
}

// WasmLengthHeader carries app.wasm's uncompressed size, so the loader's
// progress is right when the file travels compressed.
const WasmLengthHeader = "X-Wasm-Content-Length"
