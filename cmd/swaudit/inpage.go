package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// viewport is a screen the console is measured on.
type viewport struct {
	Name          string
	Width, Height int
	// RowGoal is the most a live call may take, in CSS pixels (median).
	RowGoal float64
}

var viewports = []viewport{
	{"desktop 1440×900", 1440, 900, 44},
	{"phone 390×844", 390, 844, 120},
}

// pageResult is what one viewport showed.
type pageResult struct {
	Viewport viewport
	// Rows is how many live rows the page showed, AboveFold how many fit
	// the first screen, MedianRow their median height in CSS pixels.
	Rows, AboveFold int
	MedianRow       float64
	// Axe are the violations axe-core found, by state of the page.
	Axe []axeRun
	// CloseKeepsSession says the detail drawer's Close left the person
	// on the console, signed in.
	CloseKeepsSession bool
}

type axeRun struct {
	State      string
	Violations []axeViolation
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// inPage measures the console and runs axe-core in it on each viewport.
func inPage(ctx context.Context, o options, base string) ([]pageResult, error) {
	axeSrc, err := os.ReadFile(filepath.Join(o.tools, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return nil, err
	}
	var out []pageResult
	for _, vp := range viewports {
		r, err := measure(ctx, o, base, vp, string(axeSrc))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", vp.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// browser is a headless Chromium with a fresh profile, listening for
// DevTools on port (for Lighthouse).
type browser struct {
	ctx   context.Context
	port  int
	close func()
}

func startBrowser(ctx context.Context, o options, width, height int) (*browser, error) {
	profile, err := os.MkdirTemp("", "swaudit-chromium-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(o.chromium), chromedp.NoSandbox, remote.WebSocket,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("remote-debugging-port", strconv.Itoa(port)),
		chromedp.UserDataDir(profile), chromedp.WindowSize(width, height))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	closed := false
	b := &browser{ctx: bctx, port: port, close: func() {
		if !closed {
			closed = true
			cancelB()
			cancelA()
			os.RemoveAll(profile)
		}
	}}
	if err := chromedp.Do(bctx); err != nil {
		b.close()
		return nil, fmt.Errorf("start Chromium: %w", err)
	}
	return b, nil
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) error {
	sctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (b *browser) eval(expr string, v any) error {
	sctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("evaluate %.60s: %w", expr, err)
	}
	return json.Unmarshal(raw, v)
}

func (b *browser) wait(what, expr string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		if b.eval("!!("+expr+")", &ok) == nil && ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("waited a minute for %s", what)
}

// signIn opens the console signed out, which sends the browser to the
// sign-in form, signs in as user (whose password is the user name) and
// waits for the live console with its rows.
func (b *browser) signIn(base, user string) error {
	if err := b.do("open the console", chromedp.Navigate(base+"/")); err != nil {
		return err
	}
	if err := b.wait("the sign-in form", `document.querySelector("input[name=username]")`); err != nil {
		return err
	}
	if err := b.do("sign in",
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), user),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), user),
		chromedp.Click(chromedp.CSS("#login"))); err != nil {
		return err
	}
	return b.wait("the live console with rows", `location.pathname === "/" && !document.getElementById("app-wasm-loader") &&
		document.querySelector("#switchboard[data-conn=live]") && document.querySelectorAll("#live-calls tr.row").length > 0`)
}

func measure(ctx context.Context, o options, base string, vp viewport, axeSrc string) (pageResult, error) {
	b, err := startBrowser(ctx, o, vp.Width, vp.Height)
	if err != nil {
		return pageResult{}, err
	}
	defer b.close()
	if err := b.do("size the screen", chromedp.EmulateViewport(int64(vp.Width), int64(vp.Height))); err != nil {
		return pageResult{}, err
	}
	if err := b.signIn(base, "alice"); err != nil {
		return pageResult{}, err
	}
	time.Sleep(time.Second) // let the fonts and the first flushes settle
	r := pageResult{Viewport: vp}
	var rows struct {
		Heights []float64
		Fold    int
	}
	if err := b.eval(`(() => { const rs = Array.from(document.querySelectorAll("#live-calls tr.row"));
		return {heights: rs.map(r => r.getBoundingClientRect().height),
			fold: rs.filter(r => r.getBoundingClientRect().bottom <= innerHeight).length}; })()`, &rows); err != nil {
		return r, err
	}
	r.Rows, r.AboveFold, r.MedianRow = len(rows.Heights), rows.Fold, median(rows.Heights)
	if o.keep != "" {
		shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			return r, err
		}
		name := filepath.Join(o.keep, fmt.Sprintf("console-%dx%d.png", vp.Width, vp.Height))
		if err := os.WriteFile(name, shot, 0o644); err != nil {
			return r, err
		}
	}

	var loaded bool
	if err := b.eval(axeSrc+";\ntrue", &loaded); err != nil {
		return r, fmt.Errorf("load axe-core: %w", err)
	}
	runAxe := func(state string) error {
		var vs []axeViolation
		err := b.eval(`axe.run(document, {resultTypes: ["violations"]}).then(res => res.violations.map(v => ({
			id: v.id, impact: v.impact || "", help: v.help, targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`, &vs)
		if err != nil {
			return fmt.Errorf("axe-core on %s: %w", state, err)
		}
		r.Axe = append(r.Axe, axeRun{State: state, Violations: vs})
		return nil
	}
	if err := runAxe("the console"); err != nil {
		return r, err
	}
	// The detail drawer, then its Close, which must leave the console
	// signed in.
	// Opened by a script's click: with the demo's calls coming and going,
	// a click at the button's place can land on a row that moved there
	// meanwhile. (The Close below is clicked where it shows: where that
	// click lands is what is checked.)
	var clicked bool
	if err := b.eval(`(() => { const d = document.querySelector("#live-calls button[data-action=details]"); if (d) d.click(); return !!d; })()`, &clicked); err != nil || !clicked {
		return r, fmt.Errorf("open the details: no Details button (%v)", err)
	}
	if err := b.wait("the detail drawer", `document.querySelector("#detail #detail-close")`); err != nil {
		return r, err
	}
	time.Sleep(500 * time.Millisecond)
	if err := runAxe("the console with the detail drawer open"); err != nil {
		return r, err
	}
	if err := b.do("close the details", chromedp.Click(chromedp.CSS(`#detail-close`), chromedp.NodeVisible)); err != nil {
		return r, err
	}
	time.Sleep(500 * time.Millisecond)
	if err := b.eval(`location.pathname === "/" && !document.querySelector("#detail") && !!document.querySelector(".who .user")`, &r.CloseKeepsSession); err != nil {
		return r, err
	}
	// A dialog: reject on a ringing call, or hang up on another.
	var opened bool
	if err := b.eval(`(() => { const b = document.querySelector('#live-calls button[data-action=reject]:not([disabled])') ||
		document.querySelector('#live-calls button[data-action=hangup]:not([disabled])'); if (b) b.click(); return !!b; })()`, &opened); err != nil {
		return r, err
	}
	if opened {
		if err := b.wait("the dialog", `document.querySelector("#dialog")`); err != nil {
			return r, err
		}
		time.Sleep(300 * time.Millisecond)
		if err := runAxe("the console with a dialog open"); err != nil {
			return r, err
		}
	}
	return r, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
