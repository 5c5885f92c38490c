package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// report is everything one audit measured.
type report struct {
	started    time.Time
	chromium   string
	tools      map[string]string
	lighthouse []lhResult
	pages      []pageResult
}

// goal is one target of the audit and whether it was met.
type goal struct {
	what, got string
	met       bool
}

func (r *report) goals() []goal {
	var out []goal
	pct := func(f float64) string { return fmt.Sprintf("%.0f", f*100) }
	for _, lr := range r.lighthouse {
		p := lr.Preset
		if p == "desktop" {
			out = append(out,
				goal{"performance ≥ 90 (desktop)", pct(lr.Scores["performance"]), lr.Scores["performance"] >= 0.9},
				goal{"total blocking time < 300 ms (desktop)", fmt.Sprintf("%.0f ms", lr.Metrics["total-blocking-time"]), lr.Metrics["total-blocking-time"] < 300})
		}
		out = append(out,
			goal{"accessibility 100 (" + p + ")", pct(lr.Scores["accessibility"]), lr.Scores["accessibility"] >= 1},
			goal{"best practices 100 (" + p + ")", pct(lr.Scores["best-practices"]), lr.Scores["best-practices"] >= 1},
			goal{"cumulative layout shift < 0.1 (" + p + ")", fmt.Sprintf("%.3f", lr.Metrics["cumulative-layout-shift"]), lr.Metrics["cumulative-layout-shift"] < 0.1})
	}
	for _, pg := range r.pages {
		n := 0
		for _, run := range pg.Axe {
			n += len(run.Violations)
		}
		out = append(out,
			goal{"axe-core: no violation (" + pg.Viewport.Name + ")", fmt.Sprint(n), n == 0},
			goal{fmt.Sprintf("median live row ≤ %.0f px (%s)", pg.Viewport.RowGoal, pg.Viewport.Name), fmt.Sprintf("%.1f px", pg.MedianRow), pg.MedianRow > 0 && pg.MedianRow <= pg.Viewport.RowGoal},
			goal{"Close of the details keeps the console signed in (" + pg.Viewport.Name + ")", fmt.Sprint(pg.CloseKeepsSession), pg.CloseKeepsSession})
	}
	return out
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Console audit\n\nWritten by `make audit` (`go run ./cmd/swaudit`) on %s: the signed-in console of the demo "+
		"(supervisor alice, %s), audited by Lighthouse %s (desktop and mobile presets) and axe-core %s in %s, on %d CPUs (%s/%s).\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), "live calls from the Graph simulator", r.tools["lighthouse"], r.tools["axe-core"],
		r.chromium, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	b.WriteString("## Goals\n\n| goal | measured | met |\n|---|---|---|\n")
	for _, g := range r.goals() {
		met := "yes"
		if !g.met {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.what, g.got, met)
	}
	b.WriteString("\n## Lighthouse\n\n| preset | performance | accessibility | best practices | FCP | LCP | TBT | CLS | speed index |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, lr := range r.lighthouse {
		m := lr.Metrics
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f ms | %.0f ms | %.0f ms | %.3f | %.0f ms |\n", lr.Preset,
			lr.Scores["performance"]*100, lr.Scores["accessibility"]*100, lr.Scores["best-practices"]*100,
			m["first-contentful-paint"], m["largest-contentful-paint"], m["total-blocking-time"], m["cumulative-layout-shift"], m["speed-index"])
	}
	fmt.Fprintf(&b, "\nEach row is the median of the preset's runs by performance score; every run's performance score, total blocking time and the machine's 1-minute load average at its start (a run waits up to three minutes for it to fall below 1.5; the machine has %d CPUs):\n\n", runtime.NumCPU())
	for _, lr := range r.lighthouse {
		fmt.Fprintf(&b, "- %s: %s\n", lr.Preset, strings.Join(lr.Runs, ", "))
	}
	for _, lr := range r.lighthouse {
		fmt.Fprintf(&b, "\n### Failed audits, %s (the median run)\n\n", lr.Preset)
		if len(lr.Failed) == 0 {
			b.WriteString("None.\n")
		}
		for _, f := range lr.Failed {
			fmt.Fprintf(&b, "- %s: **%s** (`%s`, score %.2f)", f.Category, f.Title, f.ID, f.Score)
			if f.Display != "" {
				fmt.Fprintf(&b, ": %s", f.Display)
			}
			b.WriteString("\n")
		}
		for _, w := range lr.Warnings {
			fmt.Fprintf(&b, "- warning: %s\n", w)
		}
	}
	b.WriteString("\n## In the page\n\n| screen | live rows shown | above the fold | median row |\n|---|---|---|---|\n")
	for _, pg := range r.pages {
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f px |\n", pg.Viewport.Name, pg.Rows, pg.AboveFold, pg.MedianRow)
	}
	b.WriteString("\n### axe-core\n\n")
	for _, pg := range r.pages {
		for _, run := range pg.Axe {
			fmt.Fprintf(&b, "- %s, %s: %d violations\n", pg.Viewport.Name, run.State, len(run.Violations))
			for _, v := range run.Violations {
				fmt.Fprintf(&b, "  - %s (%s): %s — %s\n", v.ID, v.Impact, v.Help, strings.Join(v.Targets, "; "))
			}
		}
	}
	b.WriteString("\nLighthouse runs against a demo on this machine, so its network is loopback with Lighthouse's simulated " +
		"throttling; figures vary by a few points from run to run and machine to machine.\n")
	return b.String()
}

// summary is the goals, for the terminal.
func (r *report) summary() string {
	var b strings.Builder
	for _, g := range r.goals() {
		mark := "ok  "
		if !g.met {
			mark = "MISS"
		}
		fmt.Fprintf(&b, "  %s %-70s %s\n", mark, g.what, g.got)
	}
	return b.String()
}
