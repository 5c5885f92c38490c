package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"switchboard/cmd/internal/devlogin"
)

// serverBinary is the Switchboard server the workloads drive, and how to
// start it.
type serverBinary struct {
	Path string
	// SkipAuthFlag is set when the binary has --insecure-skip-notification-auth:
	// the bench's notifications carry no Graph token.
	SkipAuthFlag bool
	// NeedsSignIn is set when the binary has sign-in (--oidc-issuer): the
	// feed then wants a session, and the bench signs in at the development
	// identity provider, turned on by --dev-identity when the binary has
	// it (DevIdentityFlag), or else by --demo.
	NeedsSignIn, DevIdentityFlag bool
	// MetricsToken is set when the binary has --metrics-token: /metrics then
	// answers only with a bearer token, which the bench gives it.
	MetricsToken bool
	// FeedsPerSession, StartupCheckFlag, PprofFlag and MemoryLimitFlag are
	// set when the binary has --feeds-per-session, --startup-check-rate,
	// --pprof-addr and --memory-limit.
	FeedsPerSession, StartupCheckFlag, PprofFlag, MemoryLimitFlag bool
}

// memoryLimit is the memory every server of the bench (and the floor) is
// told to keep within: W4's budget is 1 GiB, and a deployment with that
// budget sets Go's limit a little under it. Without it, a live heap that
// peaked while the seeding's calls were still settling set a collection
// goal that took the process past its budget long after.
const memoryLimit = "900MiB"

// inspectServer checks that path is a runnable server and learns its flags
// from --help.
func inspectServer(ctx context.Context, path string) (serverBinary, error) {
	out, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	if err != nil {
		return serverBinary{}, fmt.Errorf("run %s --help: %w (build it with make build)", path, err)
	}
	if !bytes.Contains(out, []byte("--data")) {
		return serverBinary{}, fmt.Errorf("%s --help does not look like the Switchboard server", path)
	}
	has := func(flag string) bool { return bytes.Contains(out, []byte(flag+" ")) }
	return serverBinary{Path: path, SkipAuthFlag: has("--insecure-skip-notification-auth"),
		NeedsSignIn: has("--oidc-issuer"), DevIdentityFlag: has("--dev-identity"), MetricsToken: has("--metrics-token"),
		FeedsPerSession: has("--feeds-per-session"), StartupCheckFlag: has("--startup-check-rate"), PprofFlag: has("--pprof-addr"),
		MemoryLimitFlag: has("--memory-limit")}, nil
}

// Kinds of target a workload runs against.
const (
	// kindSwitchboard is the server under test.
	kindSwitchboard = "switchboard"
	// kindFloor is the bare fan-out floor (see floor.go), run from this
	// very binary.
	kindFloor = "floor"
)

// server is the Switchboard server (or the floor) running as a child
// process for one workload, on a free loopback port with a fresh data
// directory, so that its memory is measured alone and no workload sees
// another's calls. It can be killed and started again on the same port
// and data (W5).
type server struct {
	// Kind is kindSwitchboard or kindFloor.
	Kind string
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string
	// Args are the flags it was started with.
	Args []string
	// Jar holds the signed-in session when the server has sign-in.
	Jar http.CookieJar
	// MetricsToken is the bearer token of its /metrics, if it needs one.
	MetricsToken string
	// PprofURL is the base URL of its runtime profiles, when it serves them.
	PprofURL string

	path    string
	env     []string
	dataDir string
	output  *tail
	http    *http.Client
	log     *slog.Logger

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	// started is when the current process was started.
	started time.Time
}

// launchOptions are what a workload asks of its server beyond the defaults.
type launchOptions struct {
	// Pprof serves the server's runtime profiles on a loopback port.
	Pprof bool
	// Extra flags for the Switchboard server.
	Extra []string
}

// startTarget starts a server of the given kind and waits until /readyz
// answers.
func (b *bench) startTarget(ctx context.Context, kind string, lo launchOptions) (*server, error) {
	if kind == kindFloor {
		return startFloor(ctx, b.http, b.log)
	}
	return startServer(ctx, b.bin, b.http, b.log, lo)
}

// startFloor runs this binary's floor command.
func startFloor(ctx context.Context, client *http.Client, log *slog.Logger) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the bench's own binary for the floor: %w", err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	s := &server{Kind: kindFloor, URL: "http://" + addr, Args: []string{"floor", "--addr", addr}, path: self,
		env: append(serverEnv(), "GOMEMLIMIT="+memoryLimit), output: newTail(64 << 10), http: client, log: log}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	log.Info("floor ready", "url", s.URL, "pid", s.Pid())
	return s, nil
}

// startServer starts bin and waits until /readyz answers.
func startServer(ctx context.Context, bin serverBinary, client *http.Client, log *slog.Logger, lo launchOptions) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "swbench-data-")
	if err != nil {
		return nil, fmt.Errorf("server data directory: %w", err)
	}
	args := append(serverArgs(bin, addr, dir), lo.Extra...)
	s := &server{Kind: kindSwitchboard, URL: "http://" + addr, dataDir: dir, path: bin.Path, env: serverEnv(),
		output: newTail(1 << 20), http: client, log: log}
	if lo.Pprof && bin.PprofFlag {
		paddr, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof-addr", paddr)
		s.PprofURL = "http://" + paddr
	}
	s.Args = args
	if bin.MetricsToken {
		s.MetricsToken = rand.Text()
		s.env = append(s.env, "SWITCHBOARD_METRICS_TOKEN="+s.MetricsToken)
	}
	if err := s.launch(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if bin.NeedsSignIn {
		if err := s.signIn(ctx); err != nil {
			s.stop()
			return nil, err
		}
	}
	log.Info("server ready", "url", s.URL, "pid", s.Pid())
	return s, nil
}

// launch starts the process and waits until it is ready.
func (s *server) launch(ctx context.Context) error {
	if err := s.startProcess(); err != nil {
		return err
	}
	if err := s.waitReady(ctx, 2*time.Minute); err != nil {
		s.stop()
		return err
	}
	return nil
}

// startProcess starts the process, without waiting for it to be ready.
func (s *server) startProcess() error {
	cmd := exec.Command(s.path, s.Args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.output, s.output
	cmd.SysProcAttr = childProcAttr()
	exited := make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.path, err)
	}
	s.cmd, s.exited, s.waitErr, s.started = cmd, exited, nil, time.Now()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	return nil
}

// kill ends the process at once (SIGKILL), as a crash would, and waits
// for it to be gone. The data directory stays, for restart.
func (s *server) kill() {
	cmd, exited := s.current()
	cmd.Process.Kill()
	<-exited
}

// restart starts the process again, on the same port with the same data,
// without waiting for it to be ready.
func (s *server) restart() error {
	return s.startProcess()
}

func (s *server) current() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd, s.exited
}

// serverArgs are the flags of a bench server listening on addr with its
// data in dir.
func serverArgs(bin serverBinary, addr, dir string) []string {
	args := []string{"--addr", addr, "--public-url", "http://" + addr, "--data", dir}
	if bin.NeedsSignIn && !bin.DevIdentityFlag {
		// The demo brings the development identity provider. Its simulator
		// makes no calls at rate 0, and nobody is auto-answered during a
		// workload, so the bench's calls are the only ones.
		args = append(args, "--demo", "--sim-rate", "0", "--auto-answer-after", "24h")
	} else {
		// The workloads use the webhook and the feed; only upkeep calls
		// Graph (keepAlives of the calls a workload holds), and its URLs
		// point at a closed loopback port: each keepAlive is recorded as
		// a failed action, and after a failed token fetch the next ones
		// fail without asking for 5 s.
		args = append(args, "--tenant-id", "bench-tenant", "--client-id", "bench-client", "--client-secret", "bench-secret",
			"--graph-url", "http://127.0.0.1:9/v1.0", "--token-url", "http://127.0.0.1:9/token")
	}
	if bin.NeedsSignIn && bin.DevIdentityFlag {
		args = append(args, "--dev-identity")
	}
	if bin.NeedsSignIn {
		args = append(args, "--log-level", "info") // the demo users are printed at info
	} else {
		args = append(args, "--log-level", "warn")
	}
	return append(args, bin.workloadArgs()...)
}

// workloadArgs are the flags every server of a workload gets, single or a
// cluster's replica, for those the binary has.
func (bin serverBinary) workloadArgs() []string {
	var args []string
	if bin.SkipAuthFlag {
		args = append(args, "--insecure-skip-notification-auth")
	}
	if bin.FeedsPerSession {
		// Every feed client of a workload shares one session.
		args = append(args, "--feeds-per-session", "1000000")
	}
	if bin.StartupCheckFlag {
		// Graph knows none of the bench's calls: a replica starting with
		// them (W5) must not ask about each.
		args = append(args, "--startup-check-rate", "-1")
	}
	if bin.MemoryLimitFlag {
		args = append(args, "--memory-limit", memoryLimit)
	}
	return args
}

// signIn signs in as a demo user the server printed.
func (s *server) signIn(ctx context.Context) error {
	u, err := devlogin.PickViewer(devlogin.Users(s.output.String()))
	if err != nil {
		return fmt.Errorf("%w; its output:\n%s", err, s.output)
	}
	if s.Jar, err = devlogin.SignIn(ctx, s.URL, u); err != nil {
		return err
	}
	s.log.Info("signed in", "user", u.Username, "roles", u.Roles)
	return nil
}

// serverEnv is this process's environment without SWITCHBOARD_* variables,
// which would otherwise override the bench's flags defaults.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			env = append(env, kv)
		}
	}
	return env
}

// freeLoopbackAddr finds a free TCP port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls /readyz until it answers 200, the server exits, or
// timeout passes.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		if s.ready(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.exitedChan():
			return fmt.Errorf("%s exited before it was ready (%v); its output:\n%s", s.Kind, s.exitErr(), s.output)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s; its output:\n%s", s.Kind, timeout, s.output)
}

func (s *server) ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Pid is the server's process id.
func (s *server) Pid() int {
	cmd, _ := s.current()
	return cmd.Process.Pid
}

func (s *server) exitedChan() chan struct{} {
	_, exited := s.current()
	return exited
}

func (s *server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// stop sends SIGTERM, waits for a graceful exit (killing the server after
// 30 s), and removes its data directory. An unclean exit is an error.
func (s *server) stop() error {
	if s.dataDir != "" {
		defer os.RemoveAll(s.dataDir)
	}
	cmd, exited := s.current()
	select {
	case <-exited:
	default:
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("%s ignored SIGTERM for 30s and was killed; its output:\n%s", s.Kind, s.output)
		}
	}
	if err := s.exitErr(); err != nil {
		return fmt.Errorf("%s exited with %v; its output:\n%s", s.Kind, err, s.output)
	}
	return nil
}

// tail keeps the last bytes a process wrote, to explain a failure.
type tail struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func newTail(limit int) *tail { return &tail{limit: limit} }

// Write implements io.Writer.
func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return "(nothing)"
	}
	return string(t.buf)
}

// errServerGone is returned when a workload finds its server has exited.
var errServerGone = errors.New("the server exited during the workload")

// alive reports an error when the server has exited.
func (s *server) alive() error {
	select {
	case <-s.exitedChan():
		return fmt.Errorf("%w (%v); its output:\n%s", errServerGone, s.exitErr(), s.output)
	default:
		return nil
	}
}
