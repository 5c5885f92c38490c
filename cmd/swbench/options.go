package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// options are the command line.
type options struct {
	Out    string
	Only   []string // workload names, in run order
	Server string

	W1 w1Config
	W2 w2Config
	W3 w3Config
	W4 w4Config
	W5 w5Config
	W6 w5Config

	// Runs is how many times each workload runs against each target.
	Runs int
	// NoFloor skips the bare fan-out floor.
	NoFloor bool
	// Profile is a directory for CPU profiles of the server (W1, W2, W4).
	Profile string
	// NATSServer and Web are what W6's cluster runs besides the server.
	NATSServer, Web string
	// ServerFlags are added to every server's flags (an experiment with a
	// setting, say).
	ServerFlags []string

	// DialParallel and DialTimeout bound how feed clients connect.
	DialParallel int
	DialTimeout  time.Duration
	// Drain bounds the wait for clients to receive the last notifications.
	Drain time.Duration
	// Note is free text for the report: what else the machine was doing.
	Note string
}

// workloads returns the workload names in the order they run.
func workloads() []string { return []string{"W1", "W2", "W3", "W4", "W5", "W6"} }

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var only string
	fs := flag.NewFlagSet("swbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Out, "out", "", "markdown report to write (standard output when empty)")
	fs.StringVar(&only, "only", strings.Join(workloads(), ","), "workloads to run, comma-separated")
	fs.StringVar(&o.Server, "server", "bin/switchboard", "the server binary (make build)")
	fs.DurationVar(&o.W1.Duration, "w1-duration", 20*time.Second, "W1: how long the posters run")
	fs.IntVar(&o.W1.Clients, "w1-clients", 10, "W1: feed clients")
	fs.IntVar(&o.W1.Posters, "w1-posters", 48, "W1: concurrent posters, each on its own keep-alive connection")
	fs.IntVar(&o.W1.Lanes, "w1-lanes", 4, "W1: calls each poster interleaves")
	fs.DurationVar(&o.W2.Duration, "w2-duration", 60*time.Second, "W2: how long the paced sender runs")
	fs.IntVar(&o.W2.Clients, "w2-clients", 1000, "W2: feed clients")
	fs.Float64Var(&o.W2.Rate, "w2-rate", 200, "W2: notifications per second")
	fs.IntVar(&o.W2.Posters, "w2-posters", 32, "W2: posters sharing the pace (enough that a slow webhook does not hold the pace back)")
	fs.IntVar(&o.W2.Lanes, "w2-lanes", 4, "W2: calls each poster interleaves")
	fs.IntVar(&o.W3.Clients, "w3-clients", 5000, "W3: idle feed clients")
	fs.DurationVar(&o.W3.Settle, "w3-settle", 5*time.Second, "W3: wait after connecting before sampling memory")
	fs.IntVar(&o.W3.Samples, "w3-samples", 5, "W3: memory samples (one a second; the minimum is kept)")
	fs.IntVar(&o.W4.Calls, "w4-calls", 50000, "W4: live calls held")
	fs.Float64Var(&o.W4.Rate, "w4-rate", 2000, "W4: notifications per second across the live calls")
	fs.DurationVar(&o.W4.Duration, "w4-duration", 60*time.Second, "W4: how long the notifications come")
	fs.IntVar(&o.W4.Consoles, "w4-consoles", 100, "W4: consoles watching")
	fs.IntVar(&o.W4.Posters, "w4-posters", 32, "W4: posters sharing the pace")
	fs.DurationVar(&o.W4.LateEvery, "w4-late-every", 5*time.Second, "W4: how often a console connects during the load, to time its snapshot")
	fs.IntVar(&o.W4.Wave, "w4-wave", 10, "W4: consoles connecting at once before the load")
	fs.IntVar(&o.W5.Calls, "w5-calls", 50000, "W5: live calls held")
	fs.Float64Var(&o.W5.Rate, "w5-rate", 2000, "W5: notifications per second")
	fs.DurationVar(&o.W5.Duration, "w5-duration", 40*time.Second, "W5: how long the notifications come")
	fs.DurationVar(&o.W5.KillAfter, "w5-kill-after", 15*time.Second, "W5: when, into the load, the replica is killed and started again")
	fs.IntVar(&o.W5.Consoles, "w5-consoles", 100, "W5: consoles watching the replica")
	fs.IntVar(&o.W6.Calls, "w6-calls", 50000, "W6: live calls held")
	fs.Float64Var(&o.W6.Rate, "w6-rate", 2000, "W6: notifications per second")
	fs.DurationVar(&o.W6.Duration, "w6-duration", 40*time.Second, "W6: how long the notifications come")
	fs.DurationVar(&o.W6.KillAfter, "w6-kill-after", 15*time.Second, "W6: when, into the load, the first replica is killed and started again")
	fs.IntVar(&o.W6.Consoles, "w6-consoles", 100, "W6: consoles watching the first replica")
	fs.IntVar(&o.Runs, "runs", 3, "runs of each workload against each target, the server's and the floor's alternating")
	fs.BoolVar(&o.NoFloor, "no-floor", false, "skip the bare fan-out floor")
	fs.StringVar(&o.Profile, "profile", "", "directory for CPU profiles of the server under load (W1, W2, W4), taken through --pprof-addr")
	fs.StringVar(&o.NATSServer, "nats-server", "", "W6: the nats-server binary (default: next to --server)")
	fs.StringVar(&o.Web, "web", "web", "W6: the console's web directory the replicas serve")
	fs.Func("server-flag", "a flag added to the server's (repeat it for more), e.g. --server-flag=--feed-write-interval=5ms", func(v string) error {
		o.ServerFlags = append(o.ServerFlags, v)
		return nil
	})
	fs.IntVar(&o.DialParallel, "dial-parallel", 100, "feed clients connecting at once")
	fs.DurationVar(&o.DialTimeout, "dial-timeout", 10*time.Second, "timeout of each feed connection")
	fs.DurationVar(&o.Drain, "drain", 60*time.Second, "longest wait for clients to receive the last notifications")
	fs.StringVar(&o.Note, "note", "", "a sentence for the report about the conditions of the run (a shared machine, say)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.W4.Posters = max(o.W4.Posters, 1)
	o.W5.Posters, o.W6.Posters = o.W4.Posters, o.W4.Posters
	o.W4.SeedBatch, o.W4.SeedPosters = 20, 48
	o.W5.SeedBatch, o.W5.SeedPosters = 20, 48
	o.W6.SeedBatch, o.W6.SeedPosters = 20, 48
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.Only, err = parseOnly(only); err != nil {
		return o, err
	}
	return o, o.validate()
}

// parseOnly reads --only: known names, any case, no repeats; they run in
// the canonical order.
func parseOnly(s string) ([]string, error) {
	want := map[string]bool{}
	for name := range strings.SplitSeq(s, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		if !slices.Contains(workloads(), name) {
			return nil, fmt.Errorf("--only: %q is not a workload (%s)", name, strings.Join(workloads(), ", "))
		}
		want[name] = true
	}
	var out []string
	for _, w := range workloads() {
		if want[w] {
			out = append(out, w)
		}
	}
	return out, nil
}

func (o options) validate() error {
	var errs []error
	positive := func(name string, ok bool) {
		if !ok {
			errs = append(errs, fmt.Errorf("--%s must be positive", name))
		}
	}
	positive("w1-duration", o.W1.Duration > 0)
	positive("w1-clients", o.W1.Clients > 0)
	positive("w1-posters", o.W1.Posters > 0)
	positive("w1-lanes", o.W1.Lanes > 0)
	positive("w2-duration", o.W2.Duration > 0)
	positive("w2-clients", o.W2.Clients > 0)
	positive("w2-rate", o.W2.Rate > 0)
	positive("w2-posters", o.W2.Posters > 0)
	positive("w2-lanes", o.W2.Lanes > 0)
	positive("w3-clients", o.W3.Clients > 0)
	positive("w3-settle", o.W3.Settle > 0)
	positive("w3-samples", o.W3.Samples > 0)
	positive("w4-calls", o.W4.Calls > 0)
	positive("w4-rate", o.W4.Rate > 0)
	positive("w4-duration", o.W4.Duration > 0)
	positive("w4-consoles", o.W4.Consoles > 0)
	positive("w4-late-every", o.W4.LateEvery > 0)
	positive("w4-wave", o.W4.Wave > 0)
	for _, w := range []struct {
		name string
		c    w5Config
	}{{"w5", o.W5}, {"w6", o.W6}} {
		positive(w.name+"-calls", w.c.Calls > 0)
		positive(w.name+"-rate", w.c.Rate > 0)
		positive(w.name+"-duration", w.c.Duration > 0)
		positive(w.name+"-consoles", w.c.Consoles > 0)
		if w.c.KillAfter <= 0 || w.c.KillAfter >= w.c.Duration {
			errs = append(errs, fmt.Errorf("--%s-kill-after must be positive and shorter than --%s-duration", w.name, w.name))
		}
	}
	positive("runs", o.Runs > 0)
	positive("dial-parallel", o.DialParallel > 0)
	positive("dial-timeout", o.DialTimeout > 0)
	positive("drain", o.Drain > 0)
	if o.Server == "" {
		errs = append(errs, errors.New("--server is required"))
	}
	return errors.Join(errs...)
}
