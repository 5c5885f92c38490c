package localcluster

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// TestSupervisorRestartsWhatExitsByItself: a part that fails at its first
// start is counted and started again; one stopped on purpose is not.
func TestSupervisorRestartsWhatExitsByItself(t *testing.T) {
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer health.Close()
	dir := t.TempDir()
	marker := filepath.Join(dir, "started-once")
	flaky := &Process{Part: Part{Name: "flaky", Kind: KindReplica, Path: "/bin/sh", Health: health.URL, Log: filepath.Join(dir, "flaky.log"),
		Args: []string{"-c", `if [ -e ` + marker + ` ]; then exec sleep 30; fi; touch ` + marker + `; echo '{"level":"ERROR","msg":"background task stopped","err":"conflict"}'; exit 3`}}}
	steady := &Process{Part: Part{Name: "steady", Kind: KindNode, Path: "/bin/sh", Args: []string{"-c", "exec sleep 30"},
		Health: health.URL, Log: filepath.Join(dir, "steady.log")}}
	c := &Cluster{procs: []*Process{flaky, steady}, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := Supervise(ctx, c, nil)
	defer func() {
		s.Stop()
		c.Stop()
	}()
	for _, p := range c.Processes() {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := steady.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !(flaky.Running() && len(flaky.Exits()) == 1) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	f := s.Failures()
	if len(f) != 1 || f[0].Part != "flaky" || f[0].Status != "exit status 3" || f[0].Reason != "background task stopped: conflict" {
		t.Fatalf("failures %+v, want flaky's exit with its last error", f)
	}
	if !flaky.Running() {
		t.Fatal("the part that exited by itself was not started again")
	}
	time.Sleep(1500 * time.Millisecond) // longer than the first restart's wait
	if steady.Running() {
		t.Fatal("a part stopped on purpose was started again")
	}
}

func TestLastError(t *testing.T) {
	tail := `{"time":"t","level":"INFO","msg":"Switchboard is listening"}
{"time":"t","level":"ERROR","msg":"server: background task stopped","err":"eventlog: save call.x: still conflicting after 3 attempts"}
{"time":"t","level":"INFO","msg":"Switchboard is shutting down","err":"eventlog: save"}
switchboard: eventlog: save call.x: still conflicting after 3 attempts`
	if got := LastError(tail); got != "server: background task stopped: eventlog: save call.x: still conflicting after 3 attempts" {
		t.Fatalf("lastError = %q", got)
	}
	if got := LastError("panic: boom\n\ngoroutine 1 [running]:\nmain.main()"); got != "panic: boom" {
		t.Fatalf("lastError without JSON = %q", got)
	}
	if got := LastError("--- starting\nswitchboard: listen on :1: address in use"); got != "switchboard: listen on :1: address in use" {
		t.Fatalf("lastError of plain lines = %q", got)
	}
}
