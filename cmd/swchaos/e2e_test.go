package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/internal/readiness"
)

// TestShortRun builds the real binaries and runs a short baseline and a
// replica kill on a cluster of their own, then checks the tool's
// mechanics (not the server's figures): traffic went out and was found
// in the log, the kill shows in the timeline and in /readyz, the consoles
// were compared, and no child process outlives the run.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs a cluster; skipped with -short")
	}
	bin := t.TempDir()
	for name, pkg := range map[string]string{"switchboard": "switchboard/cmd/switchboard", "graphsim": "switchboard/cmd/graphsim",
		"nats-server": "github.com/nats-io/nats-server/v2"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	o, err := parseOptions([]string{"--bin", bin, "--web", t.TempDir(), "--dir", t.TempDir(), "--keep",
		"--only", "baseline,replica-kill", "--baseline", "2s", "--before", "1s", "--after", "1s", "--consoles", "2"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rep, err := chaos(ctx, o, log)
	if err != nil {
		t.Fatalf("chaos: %v", err)
	}
	if len(rep.Phases) != 2 {
		t.Fatalf("%d phases", len(rep.Phases))
	}
	base, kill := rep.Phases[0].Result, rep.Phases[1]
	if base.Sent == 0 || base.Stored == 0 || base.Stored > base.Sent || len(base.Consoles) != 4 || base.Consoles[0].Lost < 0 {
		t.Errorf("baseline: %+v", base)
	}
	if kill.FaultAt.IsZero() || kill.RestoredAt.Before(kill.FaultAt) || !strings.Contains(kill.Timeline[1].What, "kill -9 replica-a") {
		t.Errorf("replica kill's timeline: %+v", kill.Timeline)
	}
	// A window of its own may come before (an answer late under load):
	// the kill's is one that opens as the replica goes, a poll having seen
	// it go at most a moment before the kill returned.
	if ws := kill.Result.NotReady[0]; !slices.ContainsFunc(ws, func(w readiness.Window) bool { return !w.From.Before(kill.FaultAt.Add(-time.Second)) }) {
		t.Errorf("the killed replica's /readyz windows hold none from the kill on (%s): %+v", kill.FaultAt, ws)
	}
	if len(kill.Result.History) == 0 {
		t.Error("no history was read")
	}
	md := rep.Markdown()
	for _, want := range []string{"## 1. No fault", "## 2. Replica killed", "kill -9 replica-a"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// Every process the run started is gone.
	logs, _ := filepath.Glob(filepath.Join(o.Dir, "logs", "*.log"))
	if len(logs) != 6 {
		t.Fatalf("logs: %q", logs)
	}
	if left := running(bin); len(left) > 0 {
		t.Errorf("processes of the run still run: %q", left)
	}
}

// running lists the command lines of live processes whose program is in
// dir (zombies excluded), from /proc.
func running(dir string) []string {
	var out []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range cmdlines {
		data, err := os.ReadFile(path)
		if err != nil || !strings.HasPrefix(string(data), dir+"/") {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(filepath.Dir(path), "stat")); err == nil {
			if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		out = append(out, strings.ReplaceAll(string(data), "\x00", " "))
	}
	return out
}

// testWriter sends the tool's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
