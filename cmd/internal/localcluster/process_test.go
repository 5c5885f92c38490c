package localcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shell is a part running script with /bin/sh.
func shell(t *testing.T, script string) Part {
	t.Helper()
	return Part{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script}, Log: filepath.Join(t.TempDir(), "sh.log")}
}

// procState is the state letter of pid in /proc (R, S, T, Z…), or "" when
// it is gone.
func procState(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("still waiting for %s after 5 s", what)
}

func TestProcessKillReachesTheWholeGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	pidFile := filepath.Join(t.TempDir(), "child")
	exits := make(chan Exit, 4)
	p := &Process{Part: shell(t, "sleep 60 & echo $! > "+pidFile+"; echo started; wait"), OnExit: func(e Exit) { exits <- e }}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second) })
	if err := p.Start(); err == nil {
		t.Fatal("a second Start of a running process succeeded")
	}
	var child int
	waitFor(t, "the shell's child", func() bool {
		data, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		return child > 0
	})

	if err := p.Freeze(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both processes stopped", func() bool { return procState(p.Pid()) == "T" && procState(child) == "T" })
	if err := p.Thaw(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both processes running", func() bool { return procState(p.Pid()) != "T" && procState(child) != "T" })

	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child gone", func() bool { s := procState(child); return s == "" || s == "Z" })
	e := <-exits
	if !e.Expected || e.Err == nil || !strings.Contains(e.Tail, "started") {
		t.Fatalf("exit = %+v, want an expected kill with the log's tail", e)
	}
	if p.Running() {
		t.Fatal("still running after Kill")
	}
}

func TestProcessExitByItselfIsUnexpected(t *testing.T) {
	exits := make(chan Exit, 4)
	p := &Process{Part: shell(t, "echo giving up >&2; exit 3"), OnExit: func(e Exit) { exits <- e }}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	e := <-exits
	if e.Expected || e.Err == nil || !strings.Contains(e.Tail, "giving up") {
		t.Fatalf("exit = %+v, want an unexpected failure with its last words", e)
	}
	// It starts again, with the same log.
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	<-exits
	if n := len(p.Exits()); n != 2 {
		t.Fatalf("%d exits recorded, want 2", n)
	}
	log, _ := os.ReadFile(p.Part.Log)
	if strings.Count(string(log), "\ngiving up\n") != 2 || strings.Count(string(log), "--- ") != 2 {
		t.Fatalf("the log does not hold both runs:\n%s", log)
	}
}

func TestProcessStopUsesSIGTERMThenSIGKILL(t *testing.T) {
	tests := []struct {
		name   string
		script string
		killed bool
	}{
		{"leaves on SIGTERM", "trap 'exit 0' TERM; while :; do sleep 0.05; done", false},
		{"ignores SIGTERM", "trap '' TERM; while :; do sleep 0.05; done", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Process{Part: shell(t, tt.script)}
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the trap is set
			p.Freeze()                         // Stop thaws a frozen process first
			err := p.Stop(500 * time.Millisecond)
			if (err != nil) != tt.killed {
				t.Fatalf("Stop: %v; want an error only when it had to kill", err)
			}
			if p.Running() {
				t.Fatal("still running after Stop")
			}
			if e := p.Exits()[0]; !e.Expected {
				t.Fatalf("exit %+v not marked expected", e)
			}
			if tt.killed && p.Exits()[0].Err.Error() != "signal: killed" {
				t.Fatalf("exit %v, want killed", p.Exits()[0].Err)
			}
		})
	}
}
