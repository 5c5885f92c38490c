package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShortRun builds the real server and runs every workload briefly
// against it, over loopback, then writes the report.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-o", bin, "switchboard/cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the server: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "benchmarks.md")
	args := []string{"--server", bin, "--out", out,
		"--w1-duration", "1s", "--w1-clients", "2", "--w1-posters", "4",
		"--w2-duration", "1s", "--w2-clients", "5", "--w2-rate", "50",
		"--w3-clients", "20", "--w3-settle", "500ms", "--w3-samples", "1", "--drain", "15s"}
	opts, err := parseOptions(args, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := inspectServer(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rep := newBench(opts, sb, log).runAll(ctx)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}

	if w := rep.W1; w.Accepted == 0 || w.Rate <= 0 || w.Webhook.N < w.Accepted || !w.Delivery.OK() || w.Delivery.Head == 0 {
		t.Errorf("W1: %+v", w)
	}
	if w := rep.W2; w.Accepted != 50 || w.Latency.N != 50*5 || !w.Delivery.OK() || w.Latency.P99 <= 0 {
		t.Errorf("W2: accepted %d, latency %+v, delivery %+v", w.Accepted, w.Latency, w.Delivery)
	}
	if w := rep.W3; w.Connected != 20 || w.With.Goroutines-w.Before.Goroutines < 20 || w.Before.RSS <= 0 || w.Before.HeapInuse <= 0 {
		t.Errorf("W3: %+v", w)
	}

	rep.Command = commandLine(args)
	if err := writeReport(out, rep, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## W1", "## W2", "## W3", "| W1 | every change reached every client, once, in order | yes | yes | met |", "| W2 | events lost | 0 | 0 | met |"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// testWriter sends the bench's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
