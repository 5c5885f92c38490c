// Command swcluster runs Switchboard on a local NATS JetStream cluster, in
// the background, so anyone can watch a console survive a killed node or
// replica: three nats-server nodes with JetStream, two Switchboard
// replicas (--replicas 3, sign-in at the development identity provider,
// calls answered after 5 s) and one Graph simulator feeding both replicas
// in turn, all on loopback.
//
// Usage:
//
//	swcluster up             start the cluster and wait until it is ready (make cluster)
//	swcluster down           stop everything and remove its directory (make cluster-stop)
//	swcluster status         what runs, what is ready, which node leads the event log
//	swcluster kill PART      kill -9 a part (PART "leader": the event log's leading node)
//	swcluster stop PART      stop a part gracefully (SIGTERM)
//	swcluster freeze PART    SIGSTOP a part; swcluster thaw PART sends SIGCONT
//	swcluster start PART     start a stopped or killed part again and wait until it is ready
//
// The parts are n1, n2, n3 (NATS), graphsim, replica-a (:8080) and
// replica-b (:8081). Their data, configuration, logs and the state of the
// cluster live in --dir (default ./cluster).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"switchboard/backend/eventlog"
	"switchboard/cmd/internal/cli"
	"switchboard/cmd/internal/devlogin"
	"switchboard/cmd/internal/localcluster"
)

func main() {
	cli.Main("swcluster", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// options are the flags every command takes.
type options struct {
	dir, bin, web string
	rate          float64
	seed          int64
}

func parse(cmd string, args []string, stderr io.Writer) (options, []string, error) {
	var o options
	fs := flag.NewFlagSet("swcluster "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "cluster", "directory of the cluster's data, configuration, logs and state")
	fs.StringVar(&o.bin, "bin", "bin", "directory of the nats-server, switchboard and graphsim binaries")
	fs.StringVar(&o.web, "web", "web", "the console's static files and built app.wasm")
	fs.Float64Var(&o.rate, "rate", 12, "up: the simulator's new calls per minute")
	fs.Int64Var(&o.seed, "seed", time.Now().Unix(), "up: the simulator's random seed")
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	return o, fs.Args(), nil
}

const usage = `usage: swcluster up|down|status|kill PART|stop PART|freeze PART|thaw PART|start PART [--dir cluster]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd := args[0]
	o, rest, err := parse(cmd, args[1:], stderr)
	if err != nil {
		return err
	}
	switch cmd {
	case "up":
		return up(ctx, o, stdout, stderr)
	case "down":
		return down(o, stdout)
	case "status":
		return status(ctx, o, stdout)
	case "kill", "stop", "freeze", "thaw", "start":
		if len(rest) != 1 {
			return fmt.Errorf("%s needs one part's name (%s)", cmd, usage)
		}
		return act(ctx, o, cmd, rest[0], stdout)
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// plan is the demo cluster's layout: fixed ports, the console at
// localhost so that a browser's sign-in works.
func (o options) plan() (*localcluster.Plan, error) {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return nil, err
	}
	web, err := filepath.Abs(o.web)
	if err != nil {
		return nil, err
	}
	return localcluster.NewPlan(localcluster.Options{Dir: o.dir, Ports: localcluster.DemoPorts, PublicHost: "localhost",
		SimRate: o.rate, Seed: o.seed, AutoAnswer: 5 * time.Second,
		Bin: localcluster.Binaries{NATSServer: filepath.Join(bin, "nats-server"), Switchboard: filepath.Join(bin, "switchboard"),
			Graphsim: filepath.Join(bin, "graphsim"), Web: web}})
}

func up(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if s, err := loadState(o.dir); err == nil {
		for _, p := range s.Parts {
			if p.alive() {
				return fmt.Errorf("a cluster already runs from %s (%s is pid %d): make cluster-stop first", o.dir, p.Name, p.Pid)
			}
		}
		os.RemoveAll(o.dir) // the remains of a cluster whose processes are gone
	}
	plan, err := o.plan()
	if err != nil {
		return err
	}
	if err := checkBinaries(plan.Bin); err != nil {
		return err
	}
	if err := checkPortsFree(plan); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	c, err := localcluster.NewCluster(plan, true, nil, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Starting a 3-node NATS JetStream cluster, the Graph simulator and two Switchboard replicas (logs in %s)…\n", filepath.Join(o.dir, "logs"))
	if err := c.Start(ctx); err != nil {
		os.RemoveAll(o.dir)
		return fmt.Errorf("%w\neverything started was stopped", err)
	}
	s := &state{}
	for _, p := range c.Processes() {
		s.Parts = append(s.Parts, partState{Part: p.Part, Pid: p.Pid()})
	}
	if err := s.save(o.dir); err != nil {
		c.Stop()
		return err
	}
	printUp(ctx, stdout, o, plan, s)
	return nil
}

// checkBinaries says which binary is missing and how to build it.
func checkBinaries(b localcluster.Binaries) error {
	for _, path := range []string{b.NATSServer, b.Switchboard, b.Graphsim} {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s is missing: make cluster builds it", path)
		}
	}
	if _, err := os.Stat(filepath.Join(b.Web, "app.wasm")); err != nil {
		return fmt.Errorf("the console is not built (%s): make cluster builds it", filepath.Join(b.Web, "app.wasm"))
	}
	return nil
}

// checkPortsFree fails early, naming the address, when something
// listens where a part must.
func checkPortsFree(plan *localcluster.Plan) error {
	addrs := []string{plan.Simulator}
	for _, n := range plan.Nodes {
		addrs = append(addrs, n.Client, n.Route, n.Monitor)
	}
	for _, r := range plan.Replicas {
		addrs = append(addrs, r.Addr)
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("%s is taken (%v): stop what listens there (make run, or another cluster?)", a, err)
		}
		ln.Close()
	}
	return nil
}

func printUp(ctx context.Context, w io.Writer, o options, plan *localcluster.Plan, s *state) {
	fmt.Fprintf(w, "\nSwitchboard runs on a local NATS JetStream cluster (state and logs in %s):\n\n", o.dir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range plan.Nodes {
		p, _ := s.part(n.Name)
		fmt.Fprintf(tw, "  NATS node\t%s\tnats://%s\tmonitoring http://%s\tpid %d\n", n.Name, n.Client, n.Monitor, p.Pid)
	}
	sim, _ := s.part("graphsim")
	fmt.Fprintf(tw, "  Graph simulator\tgraphsim\t%s\t%g calls a minute, to both replicas in turn\tpid %d\n", plan.SimURL(), plan.SimRate, sim.Pid)
	for _, r := range plan.Replicas {
		p, _ := s.part(r.Name)
		fmt.Fprintf(tw, "  Switchboard\t%s\t%s\tconsole and webhook, --replicas 3 on every node\tpid %d\n", r.Name, r.PublicURL, p.Pid)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nOpen %s and %s and sign in as %s.\n", plan.Replicas[0].PublicURL, plan.Replicas[1].PublicURL, demoUsersLine(plan))
	leader := "n1"
	if name, err := leaderOf(ctx, plan); err == nil {
		leader = name
		fmt.Fprintf(w, "The event log (stream %s) is led by %s.\n", eventlog.StreamName, leader)
	}
	fmt.Fprintf(w, `
Try a fault and watch the consoles:
  bin/swcluster kill leader       kill -9 the node leading the event log (or: kill n1, n2, n3)
  bin/swcluster start %[1]s          start a killed node again
  bin/swcluster freeze leader     SIGSTOP the leading node; bin/swcluster thaw %[1]s resumes it
  bin/swcluster kill replica-a    kill -9 a replica; bin/swcluster start replica-a brings it back
  bin/swcluster status            what runs and what is ready
(kill -9 <pid> works too.) Stop everything with: make cluster-stop
`, leader)
}

// demoUsersLine names the demo users the first replica printed.
func demoUsersLine(plan *localcluster.Plan) string {
	users := devlogin.Users(localcluster.Tail(filepath.Join(plan.Dir, "logs", plan.Replicas[0].Name+".log"), 1<<20))
	if len(users) == 0 {
		return "alice / alice"
	}
	var parts []string
	for _, u := range users {
		parts = append(parts, fmt.Sprintf("%s / %s (%s)", u.Username, u.Password, strings.TrimPrefix(u.Roles, "Switchboard.")))
	}
	return strings.Join(parts, ", ")
}

func leaderOf(ctx context.Context, plan *localcluster.Plan) (string, error) {
	nc, js, err := plan.Connect("swcluster")
	if err != nil {
		return "", err
	}
	defer nc.Close()
	return localcluster.StreamLeader(ctx, js, eventlog.StreamName)
}

func down(o options, stdout io.Writer) error {
	s, err := loadState(o.dir)
	if errors.Is(err, errNoCluster) {
		fmt.Fprintln(stdout, "No cluster runs from", o.dir+".")
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, kind := range []localcluster.Kind{localcluster.KindReplica, localcluster.KindSimulator, localcluster.KindNode} {
		for i := range s.Parts {
			p := &s.Parts[i]
			if p.Kind != kind || !p.alive() {
				continue
			}
			fmt.Fprintf(stdout, "stopping %s (pid %d)\n", p.Name, p.Pid)
			if err := p.stop(localcluster.StopGrace); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.RemoveAll(o.dir); err != nil {
		return fmt.Errorf("remove %s: %w", o.dir, err)
	}
	fmt.Fprintf(stdout, "The cluster is stopped and %s removed.\n", o.dir)
	return nil
}

func status(ctx context.Context, o options, stdout io.Writer) error {
	s, err := loadState(o.dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PART\tPID\tSTATE\tURL")
	for i := range s.Parts {
		p := &s.Parts[i]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", p.Name, p.Pid, partStatus(ctx, p), p.URL)
	}
	tw.Flush()
	plan, err := o.plan()
	if err != nil {
		return err
	}
	if leader, err := leaderOf(ctx, plan); err == nil {
		fmt.Fprintf(stdout, "The event log (stream %s) is led by %s.\n", eventlog.StreamName, leader)
	} else {
		fmt.Fprintf(stdout, "The event log's leader is unknown: %v\n", err)
	}
	return nil
}

// partStatus says in a word or two how a part is.
func partStatus(ctx context.Context, p *partState) string {
	switch {
	case !p.alive():
		return "not running"
	case p.frozen():
		return "frozen (SIGSTOP)"
	}
	st, line, err := localcluster.Check(ctx, p.Health)
	switch {
	case err != nil:
		return "running, not answering"
	case st == 200:
		return "ready"
	default:
		if len(line) > 80 {
			line = line[:77] + "..."
		}
		return fmt.Sprintf("running, not ready (%d %s)", st, line)
	}
}

// act applies one command to one part.
func act(ctx context.Context, o options, cmd, name string, stdout io.Writer) error {
	s, err := loadState(o.dir)
	if err != nil {
		return err
	}
	if name == "leader" {
		plan, err := o.plan()
		if err != nil {
			return err
		}
		if name, err = leaderOf(ctx, plan); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "the event log's leader is %s\n", name)
	}
	p, err := s.part(name)
	if err != nil {
		return err
	}
	switch cmd {
	case "kill":
		err = p.signal(syscall.SIGKILL)
	case "stop":
		err = p.stop(localcluster.StopGrace)
	case "freeze":
		err = p.signal(syscall.SIGSTOP)
	case "thaw":
		err = p.signal(syscall.SIGCONT)
	case "start":
		return start(ctx, o, s, p, stdout)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s (pid %d)\n", cmd, p.Name, p.Pid)
	return nil
}

// start runs a part again with the flags it had, and waits until it is ready.
func start(ctx context.Context, o options, s *state, p *partState, stdout io.Writer) error {
	if p.alive() {
		return fmt.Errorf("%s is running (pid %d)", p.Name, p.Pid)
	}
	proc := &localcluster.Process{Part: p.Part, Detach: true}
	if err := proc.Start(); err != nil {
		return err
	}
	p.Pid = proc.Pid()
	if err := s.save(o.dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "started %s (pid %d); waiting until it is ready…\n", p.Name, p.Pid)
	timeout := localcluster.ReplicaReadyTimeout
	if p.Kind == localcluster.KindNode {
		timeout = localcluster.NodeReadyTimeout
	}
	if err := localcluster.WaitHealthy(ctx, p.Part, proc.Done(), timeout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is ready\n", p.Name)
	return nil
}
