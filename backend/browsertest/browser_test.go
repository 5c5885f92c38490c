package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Time limits of the browser steps. They are generous: two cores, shared
// with the server and the compiler of other tests, and a WebAssembly
// console of several megabytes to compile on every fresh profile.
const (
	stepTimeout = 20 * time.Second // one action, or one wait for a condition
	loadTimeout = 45 * time.Second // the console's first load after sign-in
	pollEvery   = 50 * time.Millisecond
)

// chromiumPath finds Chromium: Debian's, or one on PATH.
func chromiumPath() (string, error) {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("Chromium is not installed: the browser tests need /usr/bin/chromium or chromium on PATH " +
		"(make chromium installs Debian's package); they fail rather than skip so that CI cannot pass without them")
}

// page is one Chromium tab. Its methods fail the test when a step fails or
// a condition is not met in time.
type page struct {
	tb  testing.TB
	ctx context.Context // the tab; each step derives its own time limit
	log *consoleLog
}

// openPage starts a headless Chromium with a fresh profile and opens a
// tab. When the test ends it saves a screenshot (named after the test,
// "-failed" when it failed), prints the page's console on failure, and
// closes the browser.
func openPage(tb testing.TB) *page {
	tb.Helper()
	path, err := chromiumPath()
	if err != nil {
		tb.Fatal(err)
	}
	profile := tb.TempDir() // removed after the browser closed (cleanups run last first)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	tb.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no time limit
		tb.Fatalf("start Chromium (%s): %v", path, err)
	}
	p := &page{tb: tb, ctx: ctx, log: &consoleLog{}}
	p.log.follow(ctx)
	tb.Cleanup(func() {
		name := tb.Name()
		if tb.Failed() {
			name += "-failed"
			tb.Logf("the page's console, last %d messages:\n%s", consoleKeep, p.log.String())
		}
		p.screenshot(name)
	})
	return p
}

// newTab opens another tab in the same browser, sharing its cookies, as a
// supervisor with two tabs of the console. It closes when the test ends.
func (p *page) newTab() *page {
	p.tb.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	p.tb.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		p.tb.Fatalf("open a tab: %v", err)
	}
	tab := &page{tb: p.tb, ctx: ctx, log: &consoleLog{}}
	tab.log.follow(ctx)
	return tab
}

// do runs steps with the step time limit.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.tb.Fatalf("%s: %v", what, err)
	}
}

// navigate opens url in the tab.
func (p *page) navigate(url string) {
	p.tb.Helper()
	p.do("open "+url, chromedp.Navigate(url))
}

// click clicks, with the mouse, the first visible element sel matches.
func (p *page) click(sel string) {
	p.tb.Helper()
	p.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// eval evaluates a JavaScript expression and decodes its JSON value into v.
func (p *page) eval(expr string, v any) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.tb.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		p.tb.Fatalf("evaluate %s: decode %s: %v", expr, raw, err)
	}
}

// waitJS waits until the JavaScript expression is true, for at most
// limit. It survives navigations: an evaluation that fails (the document
// is being replaced) counts as false.
func (p *page) waitJS(what, expr string, limit time.Duration) {
	p.tb.Helper()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(pollEvery)
	}
	var url string
	p.eval("location.href", &url)
	p.tb.Fatalf("waited %s for %s (at %s; last error %v)", limit, what, url, last)
}

// waitFor waits until cond holds, checking every pollEvery, for at most
// limit. cond runs in the test, not the page (for the server's side).
func waitFor(tb testing.TB, what string, limit time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(pollEvery)
	}
	tb.Fatalf("waited %s for %s", limit, what)
}

// screenshot saves a PNG of the whole page into screenshots/ at the root
// of the repository.
func (p *page) screenshot(name string) {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.tb.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join(repoRoot, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.tb.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.tb.Logf("screenshot %s: %v", name, err)
	}
}

// signIn opens the console signed out, follows it to the development
// provider's form, signs in as user (whose password is the user name), and
// waits until the console shows the user and a live feed.
func (p *page) signIn(s *stack, user string) {
	p.tb.Helper()
	p.navigate(s.url + "/")
	p.waitJS("the identity provider's sign-in form",
		`location.pathname.startsWith("/idp/") && document.querySelector("input[name=username]")`, loadTimeout)
	p.do("fill in the sign-in form",
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), user),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), user),
	)
	p.click("#login")
	p.waitConsole(user)
}

// waitConsole waits until the console runs (go-app's loader is gone),
// shows the signed-in user and its feed is live.
func (p *page) waitConsole(user string) {
	p.tb.Helper()
	p.waitJS("the console, signed in as "+user+", with a live feed",
		fmt.Sprintf(`location.pathname === "/" && !document.getElementById("app-wasm-loader") &&
			document.querySelector("#switchboard[data-conn=live]") &&
			document.querySelector(".who .user")?.firstChild?.textContent === %q`, user), loadTimeout)
}

// consoleLog keeps the page's last console messages, for failures.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

// consoleKeep is how many console messages a consoleLog keeps.
const consoleKeep = 60

func (l *consoleLog) follow(ctx context.Context) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.lines = append(l.lines, fmt.Sprintf("%s %s: %s", m.Time.Format("15:04:05.000"), m.Type, m.Text))
			if len(l.lines) > consoleKeep {
				l.lines = l.lines[len(l.lines)-consoleKeep:]
			}
			l.mu.Unlock()
		}
	}()
}

func (l *consoleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
