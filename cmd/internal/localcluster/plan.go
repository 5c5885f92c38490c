package localcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kind is what a part is.
type Kind string

// The kinds of part.
const (
	KindNode      Kind = "nats-server"
	KindReplica   Kind = "switchboard"
	KindSimulator Kind = "graphsim"
)

// Part is one process of the cluster: what to run and how to tell it is up.
type Part struct {
	Name string
	Kind Kind
	Path string
	Args []string
	// Env holds KEY=VALUE pairs added to the environment: secrets, kept
	// out of the process list (the demo's are public values).
	Env []string
	// Log is the file its output is appended to.
	Log string
	// Health answers 200 once the part is ready to serve.
	Health string
	// URL is where clients reach it: nats://… for a node, the console for
	// a replica, the simulator's base URL.
	URL string
}

// Binaries are the programs a cluster runs.
type Binaries struct {
	NATSServer, Switchboard, Graphsim string
	// Web is the console's static files and app.wasm (--web).
	Web string
}

// FindBinaries returns the programs built into bin (nats-server,
// switchboard, graphsim) and the console's files in web, as absolute
// paths, or says which is missing and which target builds it.
func FindBinaries(bin, web, target string) (Binaries, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return Binaries{}, err
	}
	web, err = filepath.Abs(web)
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{NATSServer: filepath.Join(bin, "nats-server"), Switchboard: filepath.Join(bin, "switchboard"),
		Graphsim: filepath.Join(bin, "graphsim"), Web: web}
	for _, p := range []string{b.NATSServer, b.Switchboard, b.Graphsim} {
		if _, err := os.Stat(p); err != nil {
			return Binaries{}, fmt.Errorf("%s is missing: %s builds it", p, target)
		}
	}
	return b, nil
}

// Ports fixes where a plan listens. A zero Ports picks free loopback ports.
type Ports struct {
	// NATS, Route and Monitor are the first node's client, cluster and
	// HTTP monitoring ports; node i adds i.
	NATS, Route, Monitor int
	// Replica is the first replica's HTTP port; replica i adds i.
	Replica int
	// Simulator is graphsim's port.
	Simulator int
}

// DemoPorts are the ports of `make cluster`: NATS on 4222–4224 (cluster
// 6222–6224, monitoring 8222–8224), replicas on 8080 and 8081, the
// simulator on 9090.
var DemoPorts = Ports{NATS: 4222, Route: 6222, Monitor: 8222, Replica: 8080, Simulator: 9090}

// Options shape a Plan. Zero values take the defaults.
type Options struct {
	// Dir holds every part's data, configuration and log (required).
	Dir string
	// Nodes is the NATS cluster's size (default 3); Replicas the number of
	// Switchboard replicas (default 2).
	Nodes, Replicas int
	// Ports; the zero value picks free loopback ports.
	Ports Ports
	// PublicHost is the host in the replicas' public URLs (default
	// 127.0.0.1). A browser must reach the console at exactly that URL
	// for sign-in to work: the demo cluster uses localhost.
	PublicHost string
	// SimRate is the simulator's new calls per minute (0: none; it still
	// serves the Graph API the replicas call). Seed makes its traffic
	// repeatable.
	SimRate float64
	Seed    int64
	// AutoAnswer answers incoming calls nobody acted on (0: never).
	AutoAnswer time.Duration
	// ReplicaArgs are added to every replica's flags.
	ReplicaArgs []string
	// ClusterName names the NATS cluster (default switchboard-local).
	ClusterName string
	Bin         Binaries
}

// The simulator's demo identities (cmd/graphsim's defaults): public values
// that guard nothing.
const (
	simTenant = "11111111-1111-4111-8111-111111111111"
	simApp    = "22222222-2222-4222-8222-222222222222"
	simSecret = "graphsim-demo-secret"
)

// Plan is a cluster laid out on loopback.
type Plan struct {
	Options
	Nodes     []NodeAddr
	Replicas  []ReplicaAddr
	Simulator string // graphsim's host:port
}

// NodeAddr is where one NATS node listens.
type NodeAddr struct {
	Name                   string
	Client, Route, Monitor string // host:port
}

// ReplicaAddr is where one replica listens.
type ReplicaAddr struct {
	Name      string
	Addr      string // host:port
	PublicURL string
}

// NewPlan lays out a cluster: names, ports and directories.
func NewPlan(o Options) (*Plan, error) {
	if o.Dir == "" {
		return nil, errors.New("localcluster: a plan needs a directory")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("localcluster: directory: %w", err)
	}
	o.Dir = dir
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Replicas <= 0 {
		o.Replicas = 2
	}
	if o.PublicHost == "" {
		o.PublicHost = "127.0.0.1"
	}
	if o.ClusterName == "" {
		o.ClusterName = "switchboard-local"
	}
	pick, release := portPicker(o.Ports)
	defer release()
	p := &Plan{Options: o}
	for i := range o.Nodes {
		n := NodeAddr{Name: "n" + strconv.Itoa(i+1)}
		if n.Client, err = pick(o.Ports.NATS, i); err == nil {
			if n.Route, err = pick(o.Ports.Route, i); err == nil {
				n.Monitor, err = pick(o.Ports.Monitor, i)
			}
		}
		if err != nil {
			return nil, err
		}
		p.Nodes = append(p.Nodes, n)
	}
	for i := range o.Replicas {
		addr, err := pick(o.Ports.Replica, i)
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(addr)
		p.Replicas = append(p.Replicas, ReplicaAddr{Name: "replica-" + string(rune('a'+i)), Addr: addr,
			PublicURL: "http://" + net.JoinHostPort(o.PublicHost, port)})
	}
	if p.Simulator, err = pick(o.Ports.Simulator, 0); err != nil {
		return nil, err
	}
	return p, nil
}

// portPicker returns a function giving base+i on 127.0.0.1, or a free
// loopback port when the ports are not fixed. Free ports stay taken until
// release, so that one plan never gets the same port twice.
func portPicker(ports Ports) (pick func(base, i int) (string, error), release func()) {
	fixed := ports != Ports{}
	var held []net.Listener
	release = func() {
		for _, ln := range held {
			ln.Close()
		}
	}
	pick = func(base, i int) (string, error) {
		if fixed {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i)), nil
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("localcluster: find a free loopback port: %w", err)
		}
		held = append(held, ln)
		return ln.Addr().String(), nil
	}
	return pick, release
}

// NATSURL lists every node's client URL, comma-separated (--nats-url).
func (p *Plan) NATSURL() string {
	urls := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		urls[i] = "nats://" + n.Client
	}
	return strings.Join(urls, ",")
}

// SimURL is the simulator's base URL.
func (p *Plan) SimURL() string { return "http://" + p.Simulator }

// WebhookURL is a replica's notification webhook.
func (r ReplicaAddr) WebhookURL() string { return r.PublicURL + "/api/graph/notifications" }

// LocalURL reaches the replica on its loopback address, whatever its
// public host.
func (r ReplicaAddr) LocalURL() string { return "http://" + r.Addr }

// Parts builds every part: the nodes first, then the simulator, then the
// replicas, the order they must start in.
func (p *Plan) Parts() []Part {
	var parts []Part
	for _, n := range p.Nodes {
		parts = append(parts, p.nodePart(n))
	}
	parts = append(parts, p.simPart())
	for _, r := range p.Replicas {
		parts = append(parts, p.replicaPart(r))
	}
	return parts
}

func (p *Plan) logFile(name string) string { return filepath.Join(p.Dir, "logs", name+".log") }

func (p *Plan) nodePart(n NodeAddr) Part {
	return Part{Name: n.Name, Kind: KindNode, Path: p.Bin.NATSServer,
		Args: []string{"-c", filepath.Join(p.Dir, n.Name+".conf")}, Log: p.logFile(n.Name),
		Health: "http://" + n.Monitor + "/healthz", URL: "nats://" + n.Client}
}

// nodeConfig is node n's nats-server configuration: JetStream on its own
// directory, routes to every node of the cluster.
func (p *Plan) nodeConfig(n NodeAddr) string {
	routes := make([]string, len(p.Nodes))
	for i, m := range p.Nodes {
		routes[i] = strconv.Quote("nats://" + m.Route)
	}
	return fmt.Sprintf(`# %s of the local Switchboard cluster
server_name: %s
listen: %s
http: %s
jetstream {
  store_dir: %s
}
cluster {
  name: %s
  listen: %s
  routes: [%s]
}
`, n.Name, n.Name, n.Client, n.Monitor, strconv.Quote(filepath.Join(p.Dir, "data", n.Name)), p.ClusterName, n.Route, strings.Join(routes, ", "))
}

func (p *Plan) simPart() Part {
	hooks := make([]string, len(p.Replicas))
	for i, r := range p.Replicas {
		hooks[i] = r.WebhookURL()
	}
	args := []string{"--addr", p.Simulator, "--callback-url", strings.Join(hooks, ","),
		"--rate", strconv.FormatFloat(p.SimRate, 'f', -1, 64), "--seed", strconv.FormatInt(p.Seed, 10),
		"--tenant-id", simTenant, "--client-id", simApp, "--app-id", simApp}
	return Part{Name: "graphsim", Kind: KindSimulator, Path: p.Bin.Graphsim, Args: args,
		Env: []string{"GRAPHSIM_CLIENT_SECRET=" + simSecret}, Log: p.logFile("graphsim"),
		Health: p.SimURL() + "/v1/keys", URL: p.SimURL()}
}

func (p *Plan) replicaPart(r ReplicaAddr) Part {
	sim := p.SimURL()
	args := []string{"--addr", r.Addr, "--public-url", r.PublicURL,
		"--nats-url", p.NATSURL(), "--replicas", strconv.Itoa(min(3, len(p.Nodes))),
		"--dev-identity", "--web", p.Bin.Web, "--data", filepath.Join(p.Dir, "data", r.Name),
		"--graph-url", sim + "/v1.0", "--token-url", sim + "/" + simTenant + "/oauth2/v2.0/token",
		"--tenant-id", simTenant, "--client-id", simApp, "--notify-jwks-url", sim + "/v1/keys",
		"--auto-answer-after", p.AutoAnswer.String()}
	args = append(args, p.ReplicaArgs...)
	return Part{Name: r.Name, Kind: KindReplica, Path: p.Bin.Switchboard, Args: args,
		Env: []string{"SWITCHBOARD_CLIENT_SECRET=" + simSecret}, Log: p.logFile(r.Name),
		Health: r.LocalURL() + "/readyz", URL: r.PublicURL}
}

// Prepare creates the plan's directories and writes the nodes'
// configuration files.
func (p *Plan) Prepare() error {
	for _, d := range []string{filepath.Join(p.Dir, "logs"), filepath.Join(p.Dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("localcluster: %w", err)
		}
	}
	for _, n := range p.Nodes {
		if err := os.WriteFile(filepath.Join(p.Dir, n.Name+".conf"), []byte(p.nodeConfig(n)), 0o644); err != nil {
			return fmt.Errorf("localcluster: %s configuration: %w", n.Name, err)
		}
	}
	return nil
}
