// Command swbench is Switchboard's load tool. It runs the server binary as
// a child process on a loopback port, drives it with generated Graph
// notifications and real websocket feed clients, and writes the figures
// of issue 2 as a markdown report:
//
//   - W1: notifications per second the webhook sustains with 10 feed
//     clients connected, the webhook's latency, and whether every client
//     received every change;
//   - W2: 1,000 feed clients while 200 notifications a second arrive for
//     60 s: webhook-send → client-receive latency, and events lost;
//   - W3: memory per idle feed client with 5,000 clients connected.
//
// Usage:
//
//	go run ./cmd/swbench [--out docs/benchmarks.md] [--only W1,W2,W3] [--server bin/switchboard] [flags]
//
// Each workload starts its own server with a fresh temporary data
// directory (removed afterwards) and stops it with SIGTERM. Progress goes
// to standard error; the report goes to --out (standard output when
// empty), and nothing else is written. Every loop is bounded in count and
// time, and only loopback addresses are used.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"switchboard/cmd/internal/cli"
)

func main() {
	cli.Main("swbench", func(ctx context.Context) error {
		if len(os.Args) > 1 && os.Args[1] == "floor" {
			return runFloorCommand(ctx, os.Args[2:], os.Stderr)
		}
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

// run parses args, runs the chosen workloads and writes the report. It
// fails when a workload could not be run to the end; goals not met are
// figures, not failures.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	limit, err := raiseFileLimit()
	if err != nil {
		return err
	}
	log.Info("open files limit", "soft", limit)
	bin, err := inspectServer(ctx, opts.Server)
	if err != nil {
		return err
	}
	b := newBench(opts, bin, log)
	rep := b.runAll(ctx)
	rep.Command = commandLine(args)
	rep.FileLimit = limit
	if err := writeReport(opts.Out, rep, stdout); err != nil {
		return err
	}
	if opts.Out != "" {
		log.Info("report written", "file", opts.Out)
	}
	return rep.Err()
}
