package natstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// nodeEnv carries a node's configuration to the process that runs it.
const nodeEnv = "SWITCHBOARD_NATSTEST_NODE"

// nodeConfig is what a node process needs of server.Options.
type nodeConfig struct {
	Name, Host, StoreDir, ClusterName, ClusterHost string
	Port, ClusterPort                              int
	Routes                                         []string
}

func configOf(o *server.Options) nodeConfig {
	nc := nodeConfig{Name: o.ServerName, Host: o.Host, Port: o.Port, StoreDir: o.StoreDir,
		ClusterName: o.Cluster.Name, ClusterHost: o.Cluster.Host, ClusterPort: o.Cluster.Port}
	for _, r := range o.Routes {
		nc.Routes = append(nc.Routes, r.String())
	}
	return nc
}

func (nc nodeConfig) options() *server.Options {
	o := &server.Options{ServerName: nc.Name, Host: nc.Host, Port: nc.Port, JetStream: true, StoreDir: nc.StoreDir,
		Cluster: server.ClusterOpts{Name: nc.ClusterName, Host: nc.ClusterHost, Port: nc.ClusterPort}, NoSigs: true, NoLog: true}
	for _, r := range nc.Routes {
		if u, err := url.Parse(r); err == nil {
			o.Routes = append(o.Routes, u)
		}
	}
	return o
}

// RunNodeIfAsked runs a cluster node and exits, when this process was
// started by StartProcessCluster to be one; otherwise it returns at once.
// A test package that uses StartProcessCluster calls it first thing in its
// TestMain.
func RunNodeIfAsked() {
	raw := os.Getenv(nodeEnv)
	if raw == "" {
		return
	}
	var cfg nodeConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "natstest node:", err)
		os.Exit(2)
	}
	srv, err := server.NewServer(cfg.options())
	if err != nil {
		fmt.Fprintln(os.Stderr, "natstest node:", err)
		os.Exit(2)
	}
	srv.Start()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	srv.Shutdown()
	srv.WaitForShutdown()
	os.Exit(0)
}

// StartProcessCluster is StartCluster with every node in a process of its
// own (this test binary, run again as a node: see RunNodeIfAsked), so that
// tests can do to a node what happens to real ones: Stop kills it with
// SIGKILL, Freeze stops it with SIGSTOP and Thaw lets it go on.
func StartProcessCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t, processes: true, nodes: clusterNodes(t, n)}
	t.Cleanup(c.stopAll)
	for i := range c.nodes {
		c.Start(i)
	}
	c.WaitJetStream(30 * time.Second)
	return c
}

// Freeze stops node i's process with SIGSTOP: its connections stay open
// and nothing on them is answered, as when a machine stalls.
func (c *Cluster) Freeze(i int) { c.signal(i, syscall.SIGSTOP) }

// Thaw lets a frozen node go on (SIGCONT).
func (c *Cluster) Thaw(i int) { c.signal(i, syscall.SIGCONT) }

func (c *Cluster) signal(i int, sig syscall.Signal) {
	c.t.Helper()
	c.mu.Lock()
	p := c.nodes[i].proc
	c.mu.Unlock()
	if p == nil {
		c.t.Fatalf("natstest: node %d is not a running process", i)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("natstest: signal node %d: %v", i, err)
	}
}

// process is a node running in a child process.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProcess(o *server.Options) (*process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(configOf(o))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(cfg))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	if err := p.waitListening(fmt.Sprintf("nats://%s:%d", o.Host, o.Port), 15*time.Second); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// waitListening waits until the node accepts a NATS client.
func (p *process) waitListening(u string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("the node process exited at start")
		default:
		}
		if nc, err := nats.Connect(u, nats.Timeout(500*time.Millisecond), nats.MaxReconnects(0)); err == nil {
			nc.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the node at %s did not listen within %s", strings.TrimPrefix(u, "nats://"), timeout)
}

// kill ends the process with SIGKILL (frozen or not) and reaps it.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}
