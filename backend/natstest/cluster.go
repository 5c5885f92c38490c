package natstest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a JetStream cluster of in-process servers on loopback, the
// way JetStream's own tests run one: every node has a client port, a
// cluster port and a store directory of its own, fixed for the life of the
// cluster, so a node stopped and started again comes back as itself with
// its data. Tests use it to take nodes away under running replicas.
type Cluster struct {
	t         testing.TB
	processes bool // nodes run in processes of their own
	mu        sync.Mutex
	nodes     []*node
}

type node struct {
	opts *server.Options
	srv  *server.Server // nil while stopped (in-process nodes)
	proc *process       // nil while stopped (process nodes)
}

// running reports whether the node is up; c.mu is held.
func (n *node) running() bool { return n.srv != nil || n.proc != nil }

// StartCluster starts n clustered JetStream servers named n1…nN and waits
// until the cluster has a JetStream meta leader. They stop when the test
// ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("natstest: a cluster needs a node, got %d", n)
	}
	c := &Cluster{t: t}
	c.nodes = clusterNodes(t, n)
	t.Cleanup(c.stopAll)
	for i := range c.nodes {
		c.Start(i)
	}
	c.WaitJetStream(30 * time.Second)
	return c
}

// clusterNodes configures n nodes that route to each other on loopback.
func clusterNodes(t testing.TB, n int) []*node {
	t.Helper()
	clientPorts, clusterPorts := freePorts(t, n), freePorts(t, n)
	routes := make([]string, n)
	for i, p := range clusterPorts {
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", p)
	}
	var nodes []*node
	for i := range n {
		nodes = append(nodes, &node{opts: &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1", Port: clientPorts[i],
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "switchboard-test", Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
			NoSigs:  true, NoLog: true,
		}})
	}
	return nodes
}

// freePorts reserves n free loopback ports. The listeners are closed before
// the ports are used, so another process could take one meanwhile; on a test
// machine that is rare enough.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("natstest: free port: %v", err)
		}
		lns[i], ports[i] = ln, ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// Size is the number of nodes, running or not.
func (c *Cluster) Size() int { return len(c.nodes) }

// Name is node i's server name (n1…nN), as JetStream reports leaders.
func (c *Cluster) Name(i int) string { return c.nodes[i].opts.ServerName }

// URL lists every node's client URL, comma-separated, as --nats-url takes
// them; stopped nodes are listed too, as an operator's configuration would.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port)
	}
	return strings.Join(urls, ",")
}

// Start starts node i (again), on its ports and its store.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	if n.running() {
		return
	}
	if c.processes {
		p, err := startProcess(n.opts)
		if err != nil {
			c.t.Fatalf("natstest: node %s: %v", n.opts.ServerName, err)
		}
		n.proc = p
		return
	}
	opts := *n.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		c.t.Fatalf("natstest: node %s: %v", opts.ServerName, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		c.t.Fatalf("natstest: node %s not ready in 10s", opts.ServerName)
	}
	n.srv = srv
}

// Stop shuts node i down, as a crash does from the network's view: its
// connections close and its peers must elect new leaders. A process node
// is killed with SIGKILL.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	srv, proc := c.nodes[i].srv, c.nodes[i].proc
	c.nodes[i].srv, c.nodes[i].proc = nil, nil
	c.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	if proc != nil {
		proc.kill()
	}
}

// StopAll shuts every node down: the whole cluster is gone.
func (c *Cluster) StopAll() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Go(func() { c.Stop(i) })
	}
	wg.Wait()
}

// StartAll starts every stopped node, all at once, and waits for JetStream.
func (c *Cluster) StartAll() {
	c.t.Helper()
	for i := range c.nodes {
		c.Start(i)
	}
	c.WaitJetStream(30 * time.Second)
}

func (c *Cluster) stopAll() { c.StopAll() }

// Running reports whether node i is up.
func (c *Cluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].running()
}

// connect opens a short-lived connection to the running nodes.
func (c *Cluster) connect() (*nats.Conn, error) {
	return nats.Connect(c.URL(), nats.Timeout(2*time.Second), nats.MaxReconnects(0))
}

// WaitJetStream waits until JetStream answers through some running node
// (the meta leader is elected), failing the test after timeout.
func (c *Cluster) WaitJetStream(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = c.jetStreamAnswers(); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("natstest: JetStream did not answer in %s: %v", timeout, last)
}

func (c *Cluster) jetStreamAnswers() error {
	nc, err := c.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// StreamLeader returns the index of the node leading stream, waiting up to
// timeout for one to be elected. It asks JetStream, as an operator would.
func (c *Cluster) StreamLeader(stream string, timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if i := c.askLeader(stream); i >= 0 {
			return i
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("natstest: stream %s has no leader after %s", stream, timeout)
	return -1
}

func (c *Cluster) askLeader(stream string) int {
	nc, err := c.connect()
	if err != nil {
		return -1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return -1
	}
	info := s.CachedInfo()
	if info.Cluster == nil {
		return -1
	}
	for i, n := range c.nodes {
		if n.opts.ServerName == info.Cluster.Leader {
			return i
		}
	}
	return -1
}
