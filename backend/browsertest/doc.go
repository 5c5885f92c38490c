// Package browsertest drives the Switchboard console in a real, headless
// Chromium against a real server on loopback. It holds tests only; this
// file is its documentation.
//
// Each test starts a replica (embedded NATS on a temporary directory, the
// development identity provider under /idp), a Graph simulator, and a
// Chromium with a fresh profile, then uses the console the way a supervisor
// does: it signs in through the provider's form, watches calls appear,
// rejects, answers and hangs up with the mouse, and checks both what the
// page shows and what the simulator was asked to do. The tests cover:
//
//   - signing in through the development provider, and signing out, which
//     also closes the page's feed on the server;
//   - calls appearing with their state, rejected (busy) and hung-up calls
//     moving to "Recently ended" with the reason in words;
//   - row buttons acting on their own call after rows were inserted and
//     removed above them (go-app diffs children by position);
//   - a server restart under an open page: the page reconnects and shows
//     exactly the table it showed before;
//   - a viewer seeing no action buttons.
//
// BenchmarkConsoleUnderLoad measures the console with 2,000 live calls and
// 200 updates a second: the time from a websocket frame reaching the page
// to the DOM showing it, long tasks, the WebAssembly bytes transferred and
// the page load time (see docs/benchmarks.md, "Console in Chromium").
//
// The tests build the console's app.wasm from the current source into a
// temporary web directory before they start (about two seconds with a warm
// build cache), so they never test a stale build. They need Chromium:
// Debian's /usr/bin/chromium, or chromium on PATH (make chromium installs
// it). Without it they fail; they never skip. Screenshots of every test go
// to screenshots/ at the root of the repository, named after the test
// ("-failed" when it failed).
//
//	go test ./backend/browsertest/
//	go test -run XXX -bench Console -benchtime 1x ./backend/browsertest/
package browsertest
