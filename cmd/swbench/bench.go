package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

// kinds are the targets workload w runs against, in the order they
// alternate: the server, then the floor when the workload has one and
// the floor is measured.
func (b *bench) kinds(w string) []string {
	if b.opts.NoFloor || !hasFloor(w) {
		return []string{kindSwitchboard}
	}
	return []string{kindSwitchboard, kindFloor}
}

// hasFloor reports whether workload w is also run against the floor. A
// restart (W5, W6) has no floor: the floor keeps nothing to restart with.
func hasFloor(w string) bool { return w != "W5" && w != "W6" }

// runAll runs the chosen workloads in order, each Runs times, every run of
// the server followed by a run of the floor. A run that fails is recorded
// in the report and the next one still runs.
func (b *bench) runAll(ctx context.Context) *report {
	rep := &report{Started: time.Now().UTC(), Machine: machine.Read(b.bin.Path), Options: b.opts, Server: b.bin}
	for _, w := range b.opts.Only {
		for run := 1; run <= b.opts.Runs; run++ {
			for _, kind := range b.kinds(w) {
				rep.Runs = append(rep.Runs, b.runOne(ctx, w, kind, run))
			}
		}
	}
	rep.Finished = time.Now().UTC()
	rep.LoadAfter = machine.LoadAverage()
	return rep
}

// runOne runs workload w once against a target of the given kind.
func (b *bench) runOne(ctx context.Context, w, kind string, run int) *runResult {
	r := &runResult{Workload: w, Kind: kind, Run: run, Started: time.Now().UTC(), LoadBefore: machine.LoadAverage()}
	if ctx.Err() != nil {
		r.Err = ctx.Err().Error()
		return r
	}
	b.log.Info("workload starting", "workload", w, "target", kind, "run", run)
	var err error
	switch w {
	case "W1":
		r.W1, err = b.runW1(ctx, kind, r.name(), b.opts.W1)
	case "W2":
		r.W2, err = b.runW2(ctx, kind, r.name(), b.opts.W2)
	case "W3":
		r.W3, err = b.runW3(ctx, kind, b.opts.W3)
	case "W4":
		r.W4, err = b.runW4(ctx, kind, r.name(), b.opts.W4)
	case "W5":
		r.W5, err = b.runW5(ctx, r.name(), b.opts.W5)
	case "W6":
		r.W5, err = b.runW6(ctx, r.name(), b.opts.W6)
	}
	r.Elapsed = time.Since(r.Started)
	if err != nil {
		b.log.Error("workload failed", "workload", w, "target", kind, "run", run, "err", err)
		r.Err = err.Error()
		return r
	}
	b.log.Info("workload done", "workload", w, "target", kind, "run", run, "took", r.Elapsed.Round(time.Second))
	return r
}

// withServer starts a fresh target, runs f against it and stops it. An
// unclean stop is an error even when f succeeded.
func (b *bench) withServer(ctx context.Context, kind string, lo launchOptions, f func(*server) error) error {
	lo.Pprof = lo.Pprof || b.opts.Profile != ""
	lo.Extra = append(lo.Extra, b.opts.ServerFlags...)
	srv, err := b.startTarget(ctx, kind, lo)
	if err != nil {
		return err
	}
	ferr := f(srv)
	if ferr == nil {
		ferr = srv.alive()
	}
	if ferr != nil {
		b.log.Error("the run failed; the end of the target's output follows", "target", kind, "output", lastBytes(srv.output.String(), 16<<10))
	}
	b.log.Info("stopping", "target", kind, "pid", srv.Pid())
	if serr := srv.stop(); serr != nil && ferr == nil {
		ferr = fmt.Errorf("stop the %s: %w", kind, serr)
	}
	return ferr
}

// lastBytes is the end of s, at most n bytes.
func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// feedOptions are the options of feed clients of srv, which open up to
// conns connections at once.
func (b *bench) feedOptions(srv *server, conns int, base time.Time) feedOptions {
	client := newHTTPClient(conns)
	client.Jar = srv.Jar
	return feedOptions{URL: srv.URL, Client: client, Gen: b.gen, Base: base, DialTimeout: b.opts.DialTimeout}
}

// profile takes a CPU profile of srv over d, in the background, into
// --profile's directory as name.pprof, when profiles are asked for and
// the server serves them. The returned function waits for it to be written.
func (b *bench) profile(ctx context.Context, srv *server, name string, d time.Duration) (wait func()) {
	if b.opts.Profile == "" || srv.PprofURL == "" || d < time.Second {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.fetchProfile(ctx, srv, name, d); err != nil {
			b.log.Warn("profile not taken", "name", name, "err", err)
		}
	}()
	return func() { <-done }
}

func (b *bench) fetchProfile(ctx context.Context, srv *server, name string, d time.Duration) error {
	secs := strconv.Itoa(int(d / time.Second))
	return b.saveProfile(ctx, srv, "profile?seconds="+secs, name, d+30*time.Second)
}

// heapProfile saves srv's heap profile as name.heap.pprof, when profiles
// are asked for and the server serves them.
func (b *bench) heapProfile(ctx context.Context, srv *server, name string) {
	if b.opts.Profile == "" || srv.PprofURL == "" {
		return
	}
	if err := b.saveProfile(ctx, srv, "heap", name+".heap", 30*time.Second); err != nil {
		b.log.Warn("heap profile not taken", "name", name, "err", err)
	}
}

// saveProfile saves /debug/pprof/<which> of srv as name.pprof in
// --profile's directory.
func (b *bench) saveProfile(ctx context.Context, srv *server, which, name string, timeout time.Duration) error {
	if err := os.MkdirAll(b.opts.Profile, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.PprofURL+"/debug/pprof/"+which, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	path := filepath.Join(b.opts.Profile, name+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	b.log.Info("profile written", "file", path)
	return f.Close()
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
