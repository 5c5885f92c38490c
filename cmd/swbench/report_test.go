package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/internal/machine"
)

func sampleReport() *report {
	at := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	return &report{
		Started: at, Finished: at.Add(2 * time.Minute), Command: "go run ./cmd/swbench --out docs/benchmarks.md", FileLimit: 20000,
		Machine: machine.Machine{CPUs: 2, CPUModel: "AMD EPYC", Memory: "23.5 GiB", OS: "Debian", GoBench: "go1.26.8", GoServer: "go1.26.8", LoadAverage: "1.0 1.0 1.0"},
		Options: options{Only: workloads(), Drain: time.Minute, DialParallel: 100, Note: "Taken on a shared machine."},
		W1: &w1Result{Config: w1Config{Duration: 20 * time.Second, Clients: 10, Posters: 48, Lanes: 4}, Elapsed: 20 * time.Second,
			Accepted: 120000, Rate: 6000, Webhook: latency{N: 120000, P50: 7 * time.Millisecond, P99: 30 * time.Millisecond, Max: 90 * time.Millisecond},
			Delivery: deliveryCheck{Clients: 10, Expected: 120000, Received: 1200000, Head: 120000}},
		W2: &w2Result{Config: w2Config{Duration: time.Minute, Clients: 1000, Rate: 200, Posters: 8, Lanes: 8}, Planned: 12000, Accepted: 12000,
			Latency:  latency{N: 12000000, P50: 20 * time.Millisecond, P99: 80 * time.Millisecond, Max: 200 * time.Millisecond},
			Delivery: deliveryCheck{Clients: 1000, Expected: 12000, Received: 12000000 - 5, Lost: 5, Head: 12000}},
		W3: &w3Result{Config: w3Config{Clients: 5000, Settle: 5 * time.Second, Samples: 5}, Connected: 5000,
			Before: memSample{RSS: 20 << 20}, With: memSample{RSS: 20<<20 + 5000*16<<10}, RSSPerClient: 16 << 10},
	}
}

func TestReportSaysWhatWasMetAndNot(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"| CPUs | 2 (nproc) |",
		"| CPU model | AMD EPYC |",
		"`go run ./cmd/swbench --out docs/benchmarks.md`",
		"Taken on a shared machine.",
		"| W1 | notifications/s sustained, 10 feed clients | 6000/s | ≥ 5000/s | met |",
		"| W1 | every change reached every client, once, in order | yes | yes | met |",
		"| W2 | webhook→client p50 / p99, 1000 clients at 200/s | 20.0 ms / 80.0 ms | p99 ≤ 50.0 ms | **not met** |",
		"| W2 | events lost | 5 | 0 | **not met** |",
		"| W3 | memory per idle feed client (RSS), 5000 clients | 16.0 KiB | ≤ 20.0 KiB | met |",
		"**failed**: 5 lost",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(md, "not run (--only)") {
		t.Error("the report says a workload that ran was not run")
	}
}

func TestReportShowsFailuresAndSkippedWorkloads(t *testing.T) {
	r := sampleReport()
	r.Options.Only = []string{"W1", "W3"}
	r.W2 = nil
	r.fail("W3", errors.New("the server exited during the workload\nits output: …"))
	md := r.Markdown()
	for _, want := range []string{
		"| W2 | not run (--only) | — | — | — |",
		"| W3 | — | did not finish: the server exited during the workload | — | **not met** |",
		"**This workload did not run to the end:**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "W3: the server exited") {
		t.Fatalf("Err() = %v, want the W3 failure", err)
	}
}

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
		{nil, "", []string{"W1", "W2", "W3"}},
		{[]string{"--only", "w3,W1"}, "", []string{"W1", "W3"}},
		{[]string{"--only", "W4"}, `"W4" is not a workload`, nil},
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
