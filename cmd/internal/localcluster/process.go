package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process runs one Part as a child process. Its methods are safe for
// concurrent use.
type Process struct {
	// Part is what runs.
	Part Part
	// Detach makes the process outlive this one: a session of its own, no
	// death signal. Otherwise the kernel kills it when this process dies.
	Detach bool
	// OnExit, if set, is called (on its own goroutine) each time a run
	// ends, expected or not.
	OnExit func(Exit)

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when the current run has ended
	expected bool          // the current run is being ended on purpose
	frozen   bool
	exits    []Exit
}

// Exit is the end of one run of a process.
type Exit struct {
	Name string
	Pid  int
	At   time.Time
	// Err is how it ended (exit status or signal); nil for a clean exit.
	Err error
	// Expected is set when the run was ended through Stop or Kill, not by
	// itself.
	Expected bool
	// Tail is the end of its log at that moment.
	Tail string
}

// ErrRunning is returned by Start when the process already runs.
var ErrRunning = errors.New("localcluster: already running")

// Start starts a run of the part. Its output is appended to the part's
// log file.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.done) {
		return fmt.Errorf("%s: %w", p.Part.Name, ErrRunning)
	}
	log, err := os.OpenFile(p.Part.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("localcluster: %s: log file: %w", p.Part.Name, err)
	}
	fmt.Fprintf(log, "--- %s: starting %s %s\n", time.Now().Format(time.RFC3339), p.Part.Path, strings.Join(p.Part.Args, " "))
	cmd := exec.Command(p.Part.Path, p.Part.Args...)
	cmd.Env = childEnv(p.Part.Env)
	cmd.Stdout, cmd.Stderr = log, log
	if p.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("localcluster: start %s (%s): %w", p.Part.Name, p.Part.Path, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.expected, p.frozen = cmd, done, false, false
	go p.wait(cmd, log, done)
	return nil
}

// wait reaps a run and records how it ended.
func (p *Process) wait(cmd *exec.Cmd, log *os.File, done chan struct{}) {
	err := cmd.Wait()
	log.Close()
	p.mu.Lock()
	e := Exit{Name: p.Part.Name, Pid: cmd.Process.Pid, At: time.Now(), Err: err, Expected: p.expected,
		Tail: Tail(p.Part.Log, 4<<10)}
	p.exits = append(p.exits, e)
	close(done)
	onExit := p.OnExit
	p.mu.Unlock()
	if onExit != nil {
		go onExit(e)
	}
}

func (p *Process) setOnExit(f func(Exit)) {
	p.mu.Lock()
	p.OnExit = f
	p.mu.Unlock()
}

// Pid is the current run's process id (0 before the first start).
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether a run is under way (frozen counts as running).
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !closed(p.done)
}

// Done is closed when the current run ends; nil before the first start.
func (p *Process) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Exits lists every run that ended, oldest first.
func (p *Process) Exits() []Exit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Exit(nil), p.exits...)
}

// signal sends sig to the run's process group; expected marks the run's
// end as caused here.
func (p *Process) signal(sig syscall.Signal, expected bool) (<-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || closed(p.done) {
		return nil, fmt.Errorf("localcluster: %s is not running", p.Part.Name)
	}
	if expected {
		p.expected = true
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return nil, fmt.Errorf("localcluster: %s: signal %v: %w", p.Part.Name, sig, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		p.frozen = true
	case syscall.SIGCONT, syscall.SIGKILL:
		p.frozen = false
	}
	return p.done, nil
}

// Kill ends the run at once with SIGKILL (kill -9) and waits for it to be
// gone (at most 10 s).
func (p *Process) Kill() error {
	done, err := p.signal(syscall.SIGKILL, true)
	if err != nil {
		return err
	}
	return waitDone(done, 10*time.Second, p.Part.Name+" after SIGKILL")
}

// Stop asks the run to end with SIGTERM (thawing it first if frozen) and
// kills it if it is still there after grace. It is a no-op when nothing
// runs.
func (p *Process) Stop(grace time.Duration) error {
	if !p.Running() {
		return nil
	}
	p.mu.Lock()
	frozen := p.frozen
	p.mu.Unlock()
	if frozen {
		p.signal(syscall.SIGCONT, false)
	}
	done, err := p.signal(syscall.SIGTERM, true)
	if err != nil {
		return nil // it ended meanwhile
	}
	if waitDone(done, grace, "") == nil {
		return nil
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("localcluster: %s ignored SIGTERM for %s and was killed", p.Part.Name, grace)
}

// Freeze stops the run's every thread with SIGSTOP, as a hung machine or a
// long garbage-collection pause would; Thaw resumes it.
func (p *Process) Freeze() error {
	_, err := p.signal(syscall.SIGSTOP, false)
	return err
}

// Thaw resumes a frozen run with SIGCONT.
func (p *Process) Thaw() error {
	_, err := p.signal(syscall.SIGCONT, false)
	return err
}

func waitDone(done <-chan struct{}, timeout time.Duration, what string) error {
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		if what == "" {
			return errors.New("timeout")
		}
		return fmt.Errorf("localcluster: %s still running after %s", what, timeout)
	}
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// childEnv is this process's environment without the parts' own
// variables (SWITCHBOARD_*, GRAPHSIM_*), which would override the flags
// the plan gives, plus extra.
func childEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") && !strings.HasPrefix(kv, "GRAPHSIM_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Tail returns the last limit bytes of the file at path, from a line start.
func Tail(path string, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(info.Size()-limit, 0)
	buf := make([]byte, info.Size()-off)
	n, _ := f.ReadAt(buf, off)
	buf = buf[:n]
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	return string(buf)
}
