package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"switchboard/cmd/internal/localcluster"
)

// state is what `up` leaves in the cluster's directory so that later
// commands find the parts it started.
type state struct {
	Parts []partState
}

// partState is a started part and the process running it.
type partState struct {
	localcluster.Part
	Pid int
}

const stateFile = "state.json"

// errNoCluster is returned when no cluster was started in the directory.
var errNoCluster = errors.New("no cluster runs here (start one with make cluster)")

func loadState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoCluster
	}
	if err != nil {
		return nil, fmt.Errorf("read the cluster's state: %w", err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read the cluster's state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

// save writes the state atomically; it holds the demo's (public) secrets,
// so only its owner reads it.
func (s *state) save(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the cluster's state: %w", err)
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write the cluster's state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write the cluster's state: %w", err)
	}
	return nil
}

func (s *state) part(name string) (*partState, error) {
	for i := range s.Parts {
		if s.Parts[i].Name == name {
			return &s.Parts[i], nil
		}
	}
	var names []string
	for _, p := range s.Parts {
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("no part called %q (the parts are %q)", name, names)
}

// alive reports whether the part's process still runs: its pid exists,
// is not a zombie, and runs the part's binary (a pid reused by another
// program does not count).
func (p *partState) alive() bool {
	if p.Pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/cmdline")
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil { // no /proc: trust the pid
		return syscall.Kill(p.Pid, 0) == nil
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if string(argv0) != p.Path {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/stat")
	if err == nil {
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	return true
}

// frozen reports whether the part's process is stopped (SIGSTOP).
func (p *partState) frozen() bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'T'
}

// signal sends sig to the part's process group (the part is a session
// leader: its group id is its pid).
func (p *partState) signal(sig syscall.Signal) error {
	if !p.alive() {
		return fmt.Errorf("%s is not running", p.Name)
	}
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		return fmt.Errorf("signal %s (pid %d): %w", p.Name, p.Pid, err)
	}
	return nil
}

// stop ends the part with SIGTERM, then SIGKILL after grace.
func (p *partState) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	if p.frozen() {
		p.signal(syscall.SIGCONT)
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return nil // gone meanwhile
	}
	if waitGone(p, grace) {
		return nil
	}
	p.signal(syscall.SIGKILL)
	if !waitGone(p, 5*time.Second) {
		return fmt.Errorf("%s (pid %d) survived SIGKILL", p.Name, p.Pid)
	}
	return fmt.Errorf("%s ignored SIGTERM for %s and was killed", p.Name, grace)
}

// waitGone polls until the part has exited or timeout passes.
func waitGone(p *partState, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return !p.alive()
}
