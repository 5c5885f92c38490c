// Command swchaos drives Switchboard on a local NATS JetStream cluster
// through faults while traffic flows, and writes what happened as a
// markdown report (make chaos writes docs/reliability.md).
//
// It starts its own cluster on free loopback ports, in a directory of its
// own: three nats-server nodes with JetStream, two Switchboard replicas
// (--replicas 3, sign-in at the development identity provider) and the
// Graph simulator serving their Graph API and notification keys. It posts
// about 20 notifications a second to both replicas in turn, like Graph
// behind a load balancer, each signed with the simulator's notification
// token and marked so it can be found in the event log; it keeps consoles
// on both replicas (real websocket clients that resume with since), and
// polls every replica's /readyz every 200 ms. Then it injects one fault
// at a time:
//
//   - baseline: no fault;
//   - leader-kill: kill -9 the node leading the event log's stream, and
//     start it again 10 s later;
//   - replica-kill: kill -9 a replica and start it again at once, as a
//     supervisor would, while its consoles race to reconnect to it and to
//     the other replica;
//   - leader-freeze: SIGSTOP the leading node for 20 s, then SIGCONT;
//   - cluster-restart: stop all three nodes, start them again 15 s later.
//
// After each fault the traffic pauses until every call under way is done,
// and the tool waits for the replicas and consoles to settle, reads the
// event log back and compares: notifications sent, accepted and stored
// (exactly once), every console against the server's view, replica
// exits, the longest stretch the webhook accepted nothing, and the
// windows /readyz said not ready. A replica that exits by itself is
// counted and started again, as a supervisor would.
//
// Usage:
//
//	go run ./cmd/swchaos [--out docs/reliability.md] [--only leader-kill,replica-kill] [flags]
//
// Every child process runs in a process group of its own and is stopped
// at the end, on error and on Ctrl-C (and killed by the kernel if the tool
// dies). Every wait is bounded; only loopback addresses are used.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/cmd/internal/cli"
)

func main() {
	cli.Main("swchaos", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// options are the command line.
type options struct {
	Out, Bin, Web, Dir string
	Keep               bool
	Only               []string
	Rate               float64
	Consoles           int
	Note               string
	// The fault's timings.
	Baseline, Before, After, LeaderDown, ReplicaDown, Freeze, Outage time.Duration
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("swchaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Out, "out", "", "write the markdown report to this file (default standard output)")
	fs.StringVar(&o.Bin, "bin", "bin", "directory of the nats-server, switchboard and graphsim binaries")
	fs.StringVar(&o.Web, "web", "web", "the console's static files (--web of the replicas)")
	fs.StringVar(&o.Dir, "dir", "", "directory of the cluster's data and logs (default a temporary one, removed at the end)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the cluster's directory (logs) at the end")
	only := fs.String("only", strings.Join(faultNames(), ","), "the faults to inject, comma-separated, in this order")
	fs.Float64Var(&o.Rate, "rate", 20, "notifications posted per second")
	fs.IntVar(&o.Consoles, "consoles", 3, "consoles per replica")
	fs.StringVar(&o.Note, "note", "", "a sentence for the report about the conditions of the run")
	fs.DurationVar(&o.Baseline, "baseline", time.Minute, "how long the baseline (no fault) runs")
	fs.DurationVar(&o.Before, "before", 10*time.Second, "traffic before each fault")
	fs.DurationVar(&o.After, "after", 10*time.Second, "traffic after each recovery")
	fs.DurationVar(&o.LeaderDown, "leader-down", 10*time.Second, "how long a killed leader stays down")
	fs.DurationVar(&o.ReplicaDown, "replica-down", 0, "how long a killed replica stays down (0: started again at once)")
	fs.DurationVar(&o.Freeze, "freeze", 20*time.Second, "how long the leader stays frozen")
	fs.DurationVar(&o.Outage, "outage", 15*time.Second, "how long the whole cluster stays stopped")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for name := range strings.SplitSeq(*only, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(faultNames(), name) {
			return o, fmt.Errorf("--only: unknown fault %q (the faults are %s)", name, strings.Join(faultNames(), ", "))
		}
		o.Only = append(o.Only, name)
	}
	if len(o.Only) == 0 {
		return o, errors.New("--only names no fault")
	}
	if o.Rate <= 0 || o.Consoles < 1 {
		return o, errors.New("--rate and --consoles must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rep, err := chaos(ctx, o, log)
	if ctx.Err() != nil {
		log.Warn("interrupted: every process was stopped; no report was written")
		return ctx.Err()
	}
	if rep != nil {
		rep.Command = commandLine(args)
		if werr := writeReport(o.Out, rep, stdout); werr != nil {
			return errors.Join(err, werr)
		}
		if o.Out != "" {
			log.Info("report written", "file", o.Out)
		}
	}
	return err
}

// commandLine is the invocation as a user would type it.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./cmd/swchaos"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
