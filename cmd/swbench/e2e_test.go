package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
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
	only := "W1,W2,W3,W4,W5"
	args := []string{"--server", bin, "--out", out, "--runs", "1",
		"--w1-duration", "1s", "--w1-clients", "2", "--w1-posters", "4",
		"--w2-duration", "1s", "--w2-clients", "5", "--w2-rate", "50",
		"--w3-clients", "20", "--w3-settle", "500ms", "--w3-samples", "1", "--drain", "15s",
		"--w4-calls", "300", "--w4-rate", "100", "--w4-duration", "3s", "--w4-consoles", "4", "--w4-late-every", "1s",
		"--w5-calls", "300", "--w5-rate", "100", "--w5-duration", "6s", "--w5-kill-after", "2s", "--w5-consoles", "4"}
	// W6 runs a cluster: only when its binaries were built (make build nats-server).
	natsServer, graphsim := filepath.Join(repoRoot, "bin", "nats-server"), filepath.Join(repoRoot, "bin", "graphsim")
	if exists(natsServer) && exists(graphsim) {
		copyFile(t, graphsim, filepath.Join(dir, "graphsim"))
		only += ",W6"
		args = append(args, "--nats-server", natsServer, "--web", filepath.Join(repoRoot, "web"),
			"--w6-calls", "200", "--w6-rate", "50", "--w6-duration", "8s", "--w6-kill-after", "3s", "--w6-consoles", "3")
	} else {
		t.Log("W6 not run: bin/nats-server or bin/graphsim is missing (make build nats-server)")
	}
	args = append(args, "--only", only)
	opts, err := parseOptions(args, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
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
	for _, kind := range []string{kindSwitchboard, kindFloor} {
		w1, w2, w3, w4 := rep.runsOf("W1", kind)[0].W1, rep.runsOf("W2", kind)[0].W2, rep.runsOf("W3", kind)[0].W3, rep.runsOf("W4", kind)[0].W4
		if w1.Accepted == 0 || w1.Rate <= 0 || w1.Webhook.N < w1.Accepted || !w1.Delivery.OK() || w1.Delivery.Head == 0 {
			t.Errorf("%s W1: %+v", kind, w1)
		}
		if w2.Accepted != 50 || w2.Latency.N != 50*5 || !w2.Delivery.OK() || w2.Latency.P99 <= 0 || w2.CPUPerDelivery() <= 0 {
			t.Errorf("%s W2: accepted %d, latency %+v, delivery %+v", kind, w2.Accepted, w2.Latency, w2.Delivery)
		}
		if w3.Connected != 20 || w3.With.Goroutines-w3.Before.Goroutines < 20 || w3.Before.RSS <= 0 || w3.Before.HeapInuse <= 0 {
			t.Errorf("%s W3: %+v", kind, w3)
		}
		if w4.LiveCalls != 300 || w4.Seed.Accepted != 600 || w4.First.N != 4 || w4.Late.N == 0 || w4.SnapshotBytes <= 0 ||
			w4.Accepted != 300 || w4.Latency.N != 4*300 || !w4.Delivery.OK() || w4.RSS <= 0 {
			t.Errorf("%s W4: %+v", kind, w4)
		}
	}
	for _, w := range []string{"W5", "W6"} {
		if !rep.ran(w) {
			continue
		}
		x := rep.runsOf(w, kindSwitchboard)[0].W5
		if x.Ready <= 0 || x.Assembled <= 0 || x.Loaded <= 0 || x.LoadedCalls == 0 || x.NotBack != 0 || x.AtHead != 4 && w == "W5" ||
			x.LiveCalls != float64(x.Config.Calls) || x.Failed != 0 || x.Gaps != 0 || x.OutOf != 0 || x.Lost != 0 {
			t.Errorf("%s: %+v", w, x)
		}
		if len(rep.runsOf(w, kindFloor)) != 0 {
			t.Errorf("%s ran against the floor", w)
		}
	}

	rep.Command = commandLine(args)
	if err := writeReport(out, rep, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## W1", "## W2", "## W3", "## W4", "## W5", "| W1 | every change reached every client, once, in order, in every run | 0 | met |",
		"| W2 | events lost, in every run | 0 | met |", "| W4 | events lost, in every run | 0 | met |"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// repoRoot is the module's root, seen from this package's directory.
const repoRoot = "../.."

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func copyFile(t *testing.T, from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// testWriter sends the bench's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestMain lets the test binary serve the floor: the bench starts the
// floor from its own executable, which in tests is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := runFloorCommand(ctx, os.Args[2:], os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
