package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// medianRun is the run with the median performance score, carrying every
// run's performance score and total blocking time: Lighthouse's figures
// vary from run to run, most with the machine's other load.
func medianRun(runs []lhResult) lhResult {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b lhResult) int {
		switch {
		case a.Scores["performance"] < b.Scores["performance"]:
			return -1
		case a.Scores["performance"] > b.Scores["performance"]:
			return 1
		}
		return 0
	})
	m := sorted[len(sorted)/2]
	for _, r := range runs {
		m.Runs = append(m.Runs, fmt.Sprintf("%.0f (TBT %.0f ms, load average %.2f)", r.Scores["performance"]*100, r.Metrics["total-blocking-time"], r.Load))
	}
	return m
}

// lhResult is what the report keeps of one Lighthouse run.
type lhResult struct {
	// Runs are the performance scores of every run the result is the
	// median of.
	Runs []string
	// Load is the machine's load average when the run started.
	Load     float64
	Preset   string
	Version  string
	Scores   map[string]float64 // category id → 0..1
	Metrics  map[string]float64 // audit id → numeric value (ms, or unitless for CLS)
	Failed   []failedAudit
	Warnings []string
}

type failedAudit struct {
	Category, ID, Title, Display string
	Score                        float64
}

// lighthouse runs the pinned Lighthouse on url in the Chromium that
// listens for DevTools on port.
// lighthouseAttempts is how many times a run is tried: Lighthouse now and
// then fails to record a trace (NO_NAVSTART) on a page that is fine.
const lighthouseAttempts = 3

// lighthouseRetried is lighthouse, tried again when Lighthouse itself
// fails (errTool); the failures it got over are logged, not hidden.
func lighthouseRetried(ctx context.Context, o options, url string, port int, preset string, run int) (lhResult, error) {
	var err error
	for attempt := 1; attempt <= lighthouseAttempts; attempt++ {
		var lr lhResult
		if lr, err = lighthouse(ctx, o, url, port, preset, run); err == nil || !errors.Is(err, errTool) {
			return lr, err
		}
		fmt.Fprintf(os.Stderr, "swaudit: Lighthouse failed (attempt %d of %d): %v\n", attempt, lighthouseAttempts, err)
	}
	return lhResult{}, err
}

func lighthouse(ctx context.Context, o options, url string, port int, preset string, run int) (lhResult, error) {
	out, err := os.CreateTemp("", "swaudit-lh-*.json")
	if err != nil {
		return lhResult{}, err
	}
	out.Close()
	defer os.Remove(out.Name())
	args := []string{url, "--quiet", "--output=json", "--output-path=" + out.Name(),
		"--only-categories=performance,accessibility,best-practices",
		"--port=" + strconv.Itoa(port), "--max-wait-for-load=60000"}
	if preset == "desktop" {
		args = append(args, "--preset=desktop")
	}
	if o.keep != "" {
		args = append(args, "--save-assets")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(o.tools, "node_modules", ".bin", "lighthouse"), args...)
	cmd.Env = append(os.Environ(), "CHROME_PATH="+o.chromium)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return lhResult{}, fmt.Errorf("%w: lighthouse (%s): %v\n%s", errTool, preset, err, msg)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return lhResult{}, err
	}
	if o.keep != "" {
		if err := keepReport(o.keep, out.Name(), fmt.Sprintf("lighthouse-%s-%d", preset, run), data); err != nil {
			return lhResult{}, err
		}
	}
	return parseLighthouse(preset, data)
}

// keepReport writes a run's report into dir as name.json and moves the
// trace and DevTools log Lighthouse saved beside its output (report's name
// without .json, then -0.trace.json and -0.devtoolslog.json) next to it.
func keepReport(dir, report, name string, data []byte) error {
	if err := os.WriteFile(filepath.Join(dir, name+".json"), data, 0o644); err != nil {
		return fmt.Errorf("keep the report: %w", err)
	}
	base := strings.TrimSuffix(report, ".json")
	for _, asset := range []string{".trace.json", ".devtoolslog.json"} {
		if err := moveFile(base+"-0"+asset, filepath.Join(dir, name+asset)); err != nil {
			return fmt.Errorf("keep the run's %s: %w", strings.TrimPrefix(asset, "."), err)
		}
	}
	return nil
}

// moveFile renames from to to, copying when they are on different file
// systems (the temporary directory often is).
func moveFile(from, to string) error {
	if os.Rename(from, to) == nil {
		return nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		return err
	}
	return os.Remove(from)
}

func parseLighthouse(preset string, data []byte) (lhResult, error) {
	var lhr struct {
		LighthouseVersion string   `json:"lighthouseVersion"`
		RunWarnings       []string `json:"runWarnings"`
		Categories        map[string]struct {
			Score     *float64 `json:"score"`
			AuditRefs []struct {
				ID     string  `json:"id"`
				Weight float64 `json:"weight"`
			} `json:"auditRefs"`
		} `json:"categories"`
		Audits map[string]struct {
			Title        string   `json:"title"`
			Score        *float64 `json:"score"`
			ScoreMode    string   `json:"scoreDisplayMode"`
			NumericValue *float64 `json:"numericValue"`
			DisplayValue string   `json:"displayValue"`
			Details      struct {
				Items []struct {
					Description string `json:"description"`
					URL         string `json:"url"`
					Label       string `json:"label"`
				} `json:"items"`
			} `json:"details"`
		} `json:"audits"`
	}
	if err := json.Unmarshal(data, &lhr); err != nil {
		return lhResult{}, fmt.Errorf("read Lighthouse's report: %w", err)
	}
	r := lhResult{Preset: preset, Version: lhr.LighthouseVersion, Scores: map[string]float64{}, Metrics: map[string]float64{},
		Warnings: lhr.RunWarnings}
	for id, c := range lhr.Categories {
		if c.Score != nil {
			r.Scores[id] = *c.Score
		}
		for _, ref := range c.AuditRefs {
			a, ok := lhr.Audits[ref.ID]
			if !ok || a.Score == nil || *a.Score >= 1 {
				continue
			}
			switch a.ScoreMode {
			case "notApplicable", "manual", "informative":
				continue
			}
			if a.ScoreMode == "metricSavings" && *a.Score >= 0.9 {
				continue // passed, with an estimate of what is left to save
			}
			display := a.DisplayValue
			if ref.ID == "errors-in-console" || ref.ID == "inspector-issues" || ref.ID == "deprecations" {
				for _, it := range a.Details.Items[:min(len(a.Details.Items), 5)] {
					display += " [" + strings.TrimSpace(it.Label+" "+it.Description+" "+it.URL) + "]"
				}
			}
			r.Failed = append(r.Failed, failedAudit{Category: id, ID: ref.ID, Title: a.Title, Display: display, Score: *a.Score})
		}
	}
	for _, id := range []string{"first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
		"cumulative-layout-shift", "speed-index", "interactive"} {
		if a, ok := lhr.Audits[id]; ok && a.NumericValue != nil {
			r.Metrics[id] = *a.NumericValue
		}
	}
	slices.SortFunc(r.Failed, func(a, b failedAudit) int {
		return strings.Compare(a.Category+a.ID, b.Category+b.ID)
	})
	return r, nil
}

// toolVersions reads the pinned versions from the tools' lock file.
func toolVersions(dir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return nil, fmt.Errorf("the pinned tools: %w", err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, fmt.Errorf("the pinned tools' lock file: %w", err)
	}
	out := map[string]string{}
	for _, name := range []string{"lighthouse", "axe-core"} {
		out[name] = lock.Packages["node_modules/"+name].Version
	}
	return out, nil
}
