package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"switchboard/cmd/internal/machine"
)

// bench runs the workloads of one invocation.
type bench struct {
	opts options
	bin  serverBinary
	log  *slog.Logger
	// http serves readiness checks and metrics scrapes.
	http *http.Client
	gen  generator
}

func newBench(opts options, bin serverBinary, log *slog.Logger) *bench {
	var tag [2]byte
	rand.Read(tag[:])
	return &bench{opts: opts, bin: bin, log: log, http: newHTTPClient(4), gen: generator{run: binary.BigEndian.Uint16(tag[:])}}
}

// runAll runs the chosen workloads in order. A workload that fails is
// recorded in the report and the next one still runs.
func (b *bench) runAll(ctx context.Context) *report {
	rep := &report{Started: time.Now().UTC(), Machine: machine.Read(b.bin.Path), Options: b.opts, Server: b.bin}
	for _, w := range b.opts.Only {
		if ctx.Err() != nil {
			rep.fail(w, ctx.Err())
			continue
		}
		b.log.Info("workload starting", "workload", w)
		var err error
		switch w {
		case "W1":
			rep.W1, err = b.runW1(ctx, b.opts.W1)
		case "W2":
			rep.W2, err = b.runW2(ctx, b.opts.W2)
		case "W3":
			rep.W3, err = b.runW3(ctx, b.opts.W3)
		}
		if err != nil {
			b.log.Error("workload failed", "workload", w, "err", err)
			rep.fail(w, err)
			continue
		}
		b.log.Info("workload done", "workload", w)
	}
	rep.Finished = time.Now().UTC()
	rep.LoadAfter = machine.LoadAverage()
	return rep
}

// withServer starts a fresh server, runs f against it and stops it. An
// unclean stop is an error even when f succeeded.
func (b *bench) withServer(ctx context.Context, f func(*server) error) error {
	srv, err := startServer(ctx, b.bin, b.http, b.log)
	if err != nil {
		return err
	}
	ferr := f(srv)
	if ferr == nil {
		ferr = srv.alive()
	}
	b.log.Info("stopping server", "pid", srv.Pid())
	if serr := srv.stop(); serr != nil && ferr == nil {
		ferr = fmt.Errorf("stop the server: %w", serr)
	}
	return ferr
}

// feedOptions are the options of feed clients of srv, which open up to
// conns connections at once.
func (b *bench) feedOptions(srv *server, conns int, base time.Time) feedOptions {
	client := newHTTPClient(conns)
	client.Jar = srv.Jar
	return feedOptions{URL: srv.URL, Client: client, Gen: b.gen, Base: base, DialTimeout: b.opts.DialTimeout}
}

// progress logs every interval until ctx ends; say returns the attrs.
func progress(ctx context.Context, log *slog.Logger, interval time.Duration, msg string, say func() []any) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			log.Info(msg, say()...)
		}
	}
}
