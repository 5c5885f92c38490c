package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/cmd/internal/localcluster"
)

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := loadState(dir); !errors.Is(err, errNoCluster) {
		t.Fatalf("an empty directory: %v, want errNoCluster", err)
	}
	s := &state{Parts: []partState{{Part: localcluster.Part{Name: "n1", Kind: localcluster.KindNode, Path: "/bin/x",
		Args: []string{"-c", "n1.conf"}, Env: []string{"A=b"}}, Pid: 42}}}
	if err := s.save(dir); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(dir + "/" + stateFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v, want mode 0600", info, err)
	}
	got, err := loadState(dir)
	if err != nil || len(got.Parts) != 1 || got.Parts[0].Pid != 42 || got.Parts[0].Env[0] != "A=b" || got.Parts[0].Args[1] != "n1.conf" {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	if _, err := got.part("n9"); err == nil || !strings.Contains(err.Error(), `"n1"`) {
		t.Fatalf("an unknown part: %v, want the parts named", err)
	}
}

// TestAliveChecksTheProgram: a part is alive only while its pid runs its
// program, and not once it has exited, even if the pid is reused.
func TestAliveChecksTheProgram(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("needs /proc")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	cmd := exec.Command(sleep, "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &partState{Part: localcluster.Part{Name: "sleeper", Path: sleep}, Pid: cmd.Process.Pid}
	// Right after the exec, /proc may not show the new program yet.
	if !waitFor(p.alive) {
		t.Fatal("a running part is not alive")
	}
	other := *p
	other.Path = "/usr/bin/something-else"
	if other.alive() {
		t.Fatal("a pid running another program counts as the part")
	}
	if err := p.signal(syscall.SIGSTOP); err != nil || !waitFor(p.frozen) {
		t.Fatalf("freeze: %v, frozen %v", err, p.frozen())
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if err := p.stop(2 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	<-done
	if p.alive() {
		t.Fatal("a stopped part is alive")
	}
	if err := p.signal(syscall.SIGKILL); err == nil {
		t.Fatal("a signal to a part that is gone succeeded")
	}
}

func waitFor(cond func() bool) bool {
	for range 100 {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestCommandsWithoutACluster(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"down", "--dir", dir}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "No cluster") {
		t.Fatalf("down without a cluster: %v %q", err, out.String())
	}
	for _, args := range [][]string{{"status", "--dir", dir}, {"kill", "--dir", dir, "n1"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); !errors.Is(err, errNoCluster) {
			t.Errorf("%q: %v, want errNoCluster", args, err)
		}
	}
	for _, args := range [][]string{nil, {"explode"}, {"kill", "--dir", dir}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
