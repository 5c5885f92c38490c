package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/internal/machine"
)

func sampleReport() *report {
	at := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	r := &report{
		Started: at, Finished: at.Add(2 * time.Minute), Command: "go run ./cmd/swbench --out docs/benchmarks.md", FileLimit: 20000,
		Machine: machine.Machine{CPUs: 2, CPUModel: "AMD EPYC", Memory: "23.5 GiB", OS: "Debian", GoBench: "go1.26.8", GoServer: "go1.26.8", LoadAverage: "1.0 1.0 1.0"},
		Options: options{Only: []string{"W1", "W2", "W3"}, Runs: 3, Drain: time.Minute, DialParallel: 100, Note: "Taken on a shared machine."},
	}
	for run := 1; run <= 3; run++ {
		for _, kind := range []string{kindSwitchboard, kindFloor} {
			p99 := time.Duration(70+10*run) * time.Millisecond // 80, 90, 100
			rss := float64(16 << 10)
			if kind == kindFloor {
				p99 = time.Duration(90+5*run) * time.Millisecond // 95, 100, 105
				rss = 32 << 10
			}
			lost := 0
			if kind == kindSwitchboard && run == 2 {
				lost = 5
			}
			r.Runs = append(r.Runs,
				&runResult{Workload: "W1", Kind: kind, Run: run, W1: &w1Result{Config: w1Config{Duration: 20 * time.Second, Clients: 10, Posters: 48, Lanes: 4},
					Elapsed: 20 * time.Second, Accepted: 120000, Rate: 6000, Webhook: latency{N: 120000, P50: 7 * time.Millisecond, P99: 30 * time.Millisecond},
					Delivery: deliveryCheck{Clients: 10, Expected: 120000, Received: 1200000, Head: 120000}}},
				&runResult{Workload: "W2", Kind: kind, Run: run, W2: &w2Result{Config: w2Config{Duration: time.Minute, Clients: 1000, Rate: 200, Posters: 8, Lanes: 8},
					Planned: 12000, Accepted: 12000, Latency: latency{N: 12000000, P50: 20 * time.Millisecond, P99: p99, Max: 200 * time.Millisecond},
					CPU:      cpuUse{Wall: time.Minute, Server: time.Duration(60-lost) * time.Second},
					Delivery: deliveryCheck{Clients: 1000, Expected: 12000, Received: 12000000 - lost, Lost: lost, Head: 12000}}},
				&runResult{Workload: "W3", Kind: kind, Run: run, W3: &w3Result{Config: w3Config{Clients: 5000, Settle: 5 * time.Second, Samples: 5}, Connected: 5000,
					Before: memSample{RSS: 20 << 20}, With: memSample{RSS: 20<<20 + 5000*rss}, RSSPerClient: rss, GoroutinesPerClient: 1}})
		}
	}
	return r
}

func TestReportSaysWhatWasMetAndNot(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"| CPUs | 2 (nproc) |",
		"| CPU model | AMD EPYC |",
		"`go run ./cmd/swbench --out docs/benchmarks.md`",
		"Taken on a shared machine.",
		"| W1 | notifications/s sustained ≥ 5000/s (issue 2) | 6000/s | met |",
		"| W1 | every change reached every client, once, in order, in every run | 0 / 0 / 0 | met |",
		// p99 medians 90 against 100: met; spread 100/80.
		"| W2 | webhook→client p99 ≤ the floor's | 90.0 ms against 100.0 ms (×0.90) | met |",
		"| W2 | p99 spread over the runs (max/min) ≤ ×1.5 | ×1.25 | met |",
		"| W2 | events lost, in every run | 0 / 5 / 0 | **not met** |",
		"| W2 | webhook→client p99 ≤ 50.0 ms (issue 2) | 90.0 ms | **not met** |",
		"| W3 | memory per idle client (RSS) ≤ the floor's | 16.0 KiB against 32.0 KiB (×0.50) | met |",
		"| W3 | one goroutine per idle client | 1.00 | met |",
		"| webhook → client p99 | 80.0 ms | 90.0 ms | 100.0 ms | **90.0 ms** | ×1.25 | 95.0 ms / 100.0 ms / 105.0 ms | 100.0 ms | ×1.11 | ×0.90 |",
		"- Run 2, switchboard",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(md, "did not finish") {
		t.Error("the report says a run did not finish")
	}
}

func TestReportShowsFailuresAndSkippedWorkloads(t *testing.T) {
	r := sampleReport()
	r.Options.Only = []string{"W1", "W3"}
	var kept []*runResult
	for _, run := range r.Runs {
		if run.Workload != "W2" {
			kept = append(kept, run)
		}
	}
	r.Runs = kept
	for _, run := range r.runsOf("W3", kindSwitchboard) {
		run.W3, run.Err = nil, "the server exited during the workload\nits output: …"
	}
	md := r.Markdown()
	for _, want := range []string{
		"| W2 | not run (--only) | — | — |",
		"| W3 | run 1 against the switchboard did not finish: the server exited during the workload | — | **failed** |",
		"| W3 | memory per idle client (RSS) ≤ the floor's | — against 32.0 KiB (—) | **not measured** |",
		"**did not finish**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "W3 run 1 (switchboard): the server exited") {
		t.Fatalf("Err() = %v, want the W3 failure", err)
	}
}

func TestStatsMedianAndSpread(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		values         []float64
		median, spread float64
	}{
		{[]float64{3, 1, 2}, 2, 3},
		{[]float64{2, nan, 4}, 2, 2},
		{[]float64{5}, 5, nan},
		{[]float64{nan, nan}, nan, nan},
		{[]float64{0, 1, 2}, 1, nan},
	}
	for _, tt := range tests {
		s := stats{Values: tt.values}
		if got := s.Median(); !sameFloat(got, tt.median) {
			t.Errorf("median of %v = %v, want %v", tt.values, got, tt.median)
		}
		if got := s.Spread(); !sameFloat(got, tt.spread) {
			t.Errorf("spread of %v = %v, want %v", tt.values, got, tt.spread)
		}
	}
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestCommandLineQuotes(t *testing.T) {
	got := commandLine([]string{"--out", "docs/benchmarks.md", "--note", "a shared machine"})
	want := `go run ./cmd/swbench --out docs/benchmarks.md --note "a shared machine"`
	if got != want {
		t.Fatalf("commandLine = %s, want %s", got, want)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		args []string
		says string // empty: valid
		only []string
	}{
		{nil, "", []string{"W1", "W2", "W3", "W4", "W5", "W6"}},
		{[]string{"--only", "w3,W1"}, "", []string{"W1", "W3"}},
		{[]string{"--only", "W7"}, `"W7" is not a workload`, nil},
		{[]string{"--w5-kill-after", "1m"}, "--w5-kill-after must be positive and shorter", nil},
		{[]string{"--runs", "0"}, "--runs must be positive", nil},
		{[]string{"--w2-clients", "0"}, "--w2-clients must be positive", nil},
		{[]string{"--w1-duration", "-1s", "--w3-clients", "-5"}, "--w3-clients must be positive", nil},
		{[]string{"extra"}, "unexpected arguments", nil},
	}
	for _, tt := range tests {
		o, err := parseOptions(tt.args, io.Discard)
		if tt.says == "" {
			if err != nil || strings.Join(o.Only, ",") != strings.Join(tt.only, ",") {
				t.Errorf("parseOptions(%q) = %v, %v; want only %v", tt.args, o.Only, err, tt.only)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("parseOptions(%q) error = %v, want one saying %q", tt.args, err, tt.says)
		}
	}
}

func TestWriteReportKeepsTheConsoleSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	os.WriteFile(path, []byte("# old\n\n## W1\nold figures\n\n## Console in Chromium\n\nkept figures\n"), 0o644)
	if err := writeReport(path, &report{}, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "## Console in Chromium\n\nkept figures\n") || strings.Contains(string(data), "old figures") {
		t.Fatalf("report:\n%s", data)
	}
}
