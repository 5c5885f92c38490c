// Command swaudit audits the signed-in console the way `make audit` does:
// it starts the demo (embedded NATS, the Graph simulator, the demo users)
// on a loopback port, waits for live calls, signs in as a supervisor, runs
// Lighthouse (the version pinned in tools/audit, on Debian's Chromium) with
// its desktop and mobile presets, runs axe-core in the page (the console,
// its detail drawer and a dialog) at 1440×900 and 390×844, measures the
// live rows' height, and writes the figures and every failed audit to a
// Markdown report:
//
//	go run ./cmd/swaudit --out docs/audit.md
//
// The goals it reports against: performance ≥ 90 (desktop), accessibility
// 100, best practices 100, CLS < 0.1, TBT < 300 ms (desktop), no axe
// violation, median live row ≤ 44 px at 1440×900 and ≤ 120 px a call at
// 390×844. It exits non-zero when the tools cannot run, not when a goal is
// missed: the report says which.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/backend/server"
)

func main() {
	var o options
	flag.StringVar(&o.out, "out", "docs/audit.md", "the report to write")
	flag.StringVar(&o.web, "web", "web", "the console's web directory (built: make build)")
	flag.StringVar(&o.tools, "tools", "tools/audit", "directory of the pinned npm tools (npm ci there)")
	flag.StringVar(&o.chromium, "chromium", "/usr/bin/chromium", "Chromium to run Lighthouse and axe-core in")
	flag.IntVar(&o.calls, "calls", 10, "live calls to wait for before auditing")
	flag.IntVar(&o.runs, "runs", 3, "Lighthouse runs per preset; the report takes the median run by performance score")
	flag.Float64Var(&o.quiet, "quiet", 1.5, "before each Lighthouse run, wait (3 minutes at most) for the machine's 1-minute load average to fall below this")
	flag.StringVar(&o.keep, "keep", "", "directory to keep Lighthouse's full reports in (JSON, with each run's trace), for a closer look")
	flag.StringVar(&o.presets, "presets", "desktop,mobile", "Lighthouse presets to run, comma-separated (desktop, mobile)")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "swaudit:", err)
		os.Exit(1)
	}
}

type options struct {
	out, web, tools, chromium, keep string
	presets                         string
	calls, runs                     int
	quiet                           float64
}

func run(ctx context.Context, o options) error {
	for preset := range strings.SplitSeq(o.presets, ",") {
		if preset != "desktop" && preset != "mobile" {
			return fmt.Errorf("unknown Lighthouse preset %q in --presets (desktop, mobile)", preset)
		}
	}
	for _, need := range []string{o.chromium, filepath.Join(o.tools, "node_modules", ".bin", "lighthouse"),
		filepath.Join(o.tools, "node_modules", "axe-core", "axe.min.js"), filepath.Join(o.web, "app.wasm")} {
		if _, err := os.Stat(need); err != nil {
			return fmt.Errorf("%s is missing (make audit installs and builds what it needs): %w", need, err)
		}
	}
	demo, err := startDemo(ctx, o.web)
	if err != nil {
		return err
	}
	defer demo.stop()
	fmt.Fprintf(os.Stderr, "swaudit: the demo runs at %s; waiting for %d live calls\n", demo.url, o.calls)
	if err := demo.waitCalls(ctx, o.calls, 4*time.Minute); err != nil {
		return err
	}
	rep := &report{started: time.Now(), chromium: chromiumVersion(o.chromium)}
	rep.tools, err = toolVersions(o.tools)
	if err != nil {
		return err
	}
	// Lighthouse attaches to a Chromium signed in through the sign-in
	// form, as a supervisor's is: it keeps cookies when it clears the
	// origin's storage, so it audits the console, not the sign-in page.
	b, err := startBrowser(ctx, o, 1440, 900)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.signIn(demo.url, "alice"); err != nil {
		return err
	}
	if err := b.do("leave the console", chromedp.Navigate("about:blank")); err != nil {
		return err
	}
	for preset := range strings.SplitSeq(o.presets, ",") {
		var runs []lhResult
		for i := range max(o.runs, 1) {
			load := waitQuiet(ctx, o.quiet, 3*time.Minute)
			fmt.Fprintf(os.Stderr, "swaudit: Lighthouse, %s preset, run %d (load average %.2f)\n", preset, i+1, load)
			lr, err := lighthouseRetried(ctx, o, demo.url+"/", b.port, preset, i+1)
			if err != nil {
				return err
			}
			lr.Load = load
			runs = append(runs, lr)
		}
		rep.lighthouse = append(rep.lighthouse, medianRun(runs))
	}
	b.close()
	fmt.Fprintln(os.Stderr, "swaudit: axe-core and row heights in Chromium")
	rep.pages, err = inPage(ctx, o, demo.url)
	if err != nil {
		return err
	}
	md := rep.markdown()
	if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	fmt.Fprintf(os.Stderr, "swaudit: wrote %s\n%s", o.out, rep.summary())
	return nil
}

// demo is a Switchboard demo on a loopback port with its own data.
type demo struct {
	url  string
	srv  *server.Server
	dir  string
	stop func()
}

func startDemo(ctx context.Context, web string) (*demo, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "swaudit-")
	if err != nil {
		ln.Close()
		return nil, err
	}
	url := "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(ctx, server.Config{Demo: true, PublicURL: url, DataDir: dir, WebDir: web,
		SimRate: 12, SimSeed: 11, Logger: log}) // the traffic of make run
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	if err := srv.Start(sctx); err != nil {
		cancel()
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(sctx, ln)
	}()
	d := &demo{url: url, srv: srv, dir: dir}
	d.stop = func() {
		cancel()
		<-done
		srv.Close()
		os.RemoveAll(dir)
	}
	return d, nil
}

// waitCalls waits until the demo holds n live calls.
func (d *demo) waitCalls(ctx context.Context, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ok, _ := d.srv.Ready(); ok {
			if v := d.srv.View(); v != nil && len(v.Live()) >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("the demo did not reach %d live calls in %s", n, limit)
}

func chromiumVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

var errTool = errors.New("swaudit: a tool failed")

// waitQuiet waits until the machine's 1-minute load average is below
// limit, for at most wait, and returns the last reading (0 where the
// system does not tell). Lighthouse times the page's main thread: other
// work on the machine lengthens every task it counts.
func waitQuiet(ctx context.Context, limit float64, wait time.Duration) float64 {
	deadline := time.Now().Add(wait)
	for {
		load := loadAverage()
		if load < limit || time.Now().After(deadline) {
			return load
		}
		select {
		case <-ctx.Done():
			return load
		case <-time.After(5 * time.Second):
		}
	}
}

func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var load float64
	fmt.Sscan(string(data), &load)
	return load
}
