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
}

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
		NeedsSignIn: has("--oidc-issuer"), DevIdentityFlag: has("--dev-identity"), MetricsToken: has("--metrics-token")}, nil
}

// server is the Switchboard server running as a child process for one
// workload, on a free loopback port with a fresh data directory, so that
// its memory is measured alone and no workload sees another's calls.
type server struct {
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string
	// Args are the flags it was started with.
	Args []string
	// Jar holds the signed-in session when the server has sign-in.
	Jar http.CookieJar
	// MetricsToken is the bearer token of its /metrics, if it needs one.
	MetricsToken string

	cmd     *exec.Cmd
	dataDir string
	output  *tail
	exited  chan struct{}
	waitErr error
	http    *http.Client
	log     *slog.Logger
}

// startServer starts bin and waits until /readyz answers.
func startServer(ctx context.Context, bin serverBinary, client *http.Client, log *slog.Logger) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "swbench-data-")
	if err != nil {
		return nil, fmt.Errorf("server data directory: %w", err)
	}
	url := "http://" + addr
	args := serverArgs(bin, addr, dir)
	s := &server{URL: url, Args: args, dataDir: dir, output: newTail(64 << 10), exited: make(chan struct{}), http: client, log: log}
	s.cmd = exec.Command(bin.Path, args...)
	s.cmd.Env = serverEnv()
	if bin.MetricsToken {
		s.MetricsToken = rand.Text()
		s.cmd.Env = append(s.cmd.Env, "SWITCHBOARD_METRICS_TOKEN="+s.MetricsToken)
	}
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	s.cmd.SysProcAttr = childProcAttr()
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin.Path, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	if bin.NeedsSignIn {
		if err := s.signIn(ctx); err != nil {
			s.stop()
			return nil, err
		}
	}
	log.Info("server ready", "url", url, "pid", s.cmd.Process.Pid)
	return s, nil
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
		// The workloads only use the webhook and the feed: Graph is never
		// called, so its URLs point at a closed loopback port.
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
	if bin.SkipAuthFlag {
		args = append(args, "--insecure-skip-notification-auth")
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
		case <-s.exited:
			return fmt.Errorf("server exited before it was ready (%v); its output:\n%s", s.waitErr, s.output)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not ready after %s; its output:\n%s", timeout, s.output)
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
func (s *server) Pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM, waits for a graceful exit (killing the server after
// 30 s), and removes its data directory. An unclean exit is an error.
func (s *server) stop() error {
	defer os.RemoveAll(s.dataDir)
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			return fmt.Errorf("server ignored SIGTERM for 30s and was killed; its output:\n%s", s.output)
		}
	}
	if s.waitErr != nil {
		return fmt.Errorf("server exited with %v; its output:\n%s", s.waitErr, s.output)
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
	case <-s.exited:
		return fmt.Errorf("%w (%v); its output:\n%s", errServerGone, s.waitErr, s.output)
	default:
		return nil
	}
}
