// Command swsoak runs Switchboard for a while under steady traffic and
// many consoles, and records whether it stays within its bounds: the
// replicas' memory and goroutines, and the disk NATS uses, sampled over
// time. make soak writes its section of docs/reliability.md.
//
// It starts its own cluster on free loopback ports (three nats-server
// nodes, two replicas, the Graph simulator making calls at a busy rate and
// feeding both replicas), with a short console history and a short event
// retention so that both fill during the run: from then on every figure
// must stay flat, not grow with time. Consoles (real websocket clients that
// sign in and resume with since) stay connected throughout.
//
// Usage:
//
//	go run ./cmd/swsoak [--out docs/reliability.md] [--duration 10m] [--rate 240] [--consoles 50]
//
// Every child process is stopped at the end, on error and on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"switchboard/cmd/internal/cli"
)

func main() {
	cli.Main("swsoak", func(ctx context.Context) error { return run(ctx, os.Args[1:]) })
}

// options are the command line.
type options struct {
	Out, Bin, Web, Dir string
	Keep               bool
	Duration, Every    time.Duration
	History, Retention time.Duration
	Rate               float64
	Ring               string
	Consoles           int
	Note               string
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("swsoak", flag.ContinueOnError)
	fs.StringVar(&o.Out, "out", "", "markdown report to write the soak's section into (empty: standard output)")
	fs.StringVar(&o.Bin, "bin", "bin", "directory of the built switchboard, graphsim and nats-server")
	fs.StringVar(&o.Web, "web", "web", "the console's files")
	fs.StringVar(&o.Dir, "dir", "", "directory for the cluster's data and logs (default a temporary one)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the cluster's directory afterwards")
	fs.DurationVar(&o.Duration, "duration", 10*time.Minute, "how long the traffic runs")
	fs.DurationVar(&o.Every, "every", 15*time.Second, "how often the figures are sampled")
	fs.DurationVar(&o.History, "history", 2*time.Minute, "the replicas' --history: ended calls on consoles")
	fs.DurationVar(&o.Retention, "retention", 4*time.Minute, "the replicas' --event-retention")
	fs.Float64Var(&o.Rate, "rate", 240, "new simulated calls a minute")
	fs.IntVar(&o.Consoles, "consoles", 50, "consoles, split between the two replicas")
	fs.StringVar(&o.Ring, "feed-ring", "8MiB", "the replicas' --feed-ring-bytes, small enough to fill during the run")
	fs.StringVar(&o.Note, "note", "", "a note to print in the report")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Duration <= 0 || o.Every <= 0 || o.Rate <= 0 || o.Consoles < 2 {
		return o, errors.New("--duration, --every and --rate must be positive, --consoles at least 2")
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	dir, cleanup, err := workDir(o)
	if err != nil {
		return err
	}
	defer cleanup()
	started := time.Now()
	e, err := startEnv(ctx, o, dir, log)
	if e != nil {
		defer e.stop()
	}
	if err != nil {
		return err
	}
	samples, err := e.sample(ctx)
	if err != nil {
		return err
	}
	r := newReport(o, e, samples, started)
	e.stop()
	return r.write(o.Out)
}

// workDir is o.Dir, or a temporary directory removed at the end unless
// --keep.
func workDir(o options) (string, func(), error) {
	if o.Dir != "" {
		return o.Dir, func() {}, os.MkdirAll(o.Dir, 0o755)
	}
	dir, err := os.MkdirTemp("", "swsoak-")
	if err != nil {
		return "", nil, err
	}
	if o.Keep {
		fmt.Fprintln(os.Stderr, "swsoak: keeping", dir)
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
