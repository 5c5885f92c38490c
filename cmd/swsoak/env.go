package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"switchboard/cmd/internal/devlogin"
	"switchboard/cmd/internal/feedwatch"
	"switchboard/cmd/internal/localcluster"
)

// metricsToken guards the replicas' /metrics during the run; it guards
// nothing else and lives as long as the run.
const metricsToken = "swsoak-metrics"

// env is the running cluster with its consoles.
type env struct {
	o        options
	log      *slog.Logger
	plan     *localcluster.Plan
	cluster  *localcluster.Cluster
	exits    *localcluster.Supervisor
	http     *http.Client
	consoles []*feedwatch.Console
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopped  bool
}

func startEnv(ctx context.Context, o options, dir string, log *slog.Logger) (_ *env, err error) {
	b, err := localcluster.FindBinaries(o.Bin, o.Web, "make soak")
	if err != nil {
		return nil, err
	}
	plan, err := localcluster.NewPlan(localcluster.Options{Dir: dir, ClusterName: "switchboard-soak", Bin: b,
		SimRate: o.Rate, Seed: time.Now().UnixNano(), AutoAnswer: 5 * time.Second,
		ReplicaArgs: []string{"--history", o.History.String(), "--event-retention", o.Retention.String(), "--feed-ring-bytes", o.Ring,
			"--metrics-token", metricsToken, "--client-burst", strconv.Itoa(4 * o.Consoles)}})
	if err != nil {
		return nil, err
	}
	e := &env{o: o, log: log, plan: plan, http: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second}}
	if e.cluster, err = localcluster.NewCluster(plan, false, nil, log); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	log.Info("starting the cluster", "dir", dir)
	if err := e.cluster.Start(ctx); err != nil {
		return e, err
	}
	e.exits = localcluster.Supervise(runCtx, e.cluster, log)
	return e, e.startConsoles(ctx, runCtx)
}

// startConsoles signs o.Consoles consoles in as the demo's viewer, half on
// each replica, each staying with its own.
func (e *env) startConsoles(ctx, runCtx context.Context) error {
	logPath := filepath.Join(e.plan.Dir, "logs", e.plan.Replicas[0].Name+".log")
	u, err := devlogin.PickViewer(devlogin.Users(localcluster.Tail(logPath, 1<<20)))
	if err != nil {
		return err
	}
	var urls []string
	for _, r := range e.plan.Replicas {
		urls = append(urls, r.LocalURL())
	}
	for i := range e.o.Consoles {
		home := i % len(urls)
		c := feedwatch.New(feedwatch.Options{Name: fmt.Sprintf("console %d", i+1), Replicas: urls, Home: home,
			Policy: feedwatch.Sticky, SignIn: func(ctx context.Context, replica string) (http.CookieJar, error) {
				return devlogin.SignIn(ctx, replica, u)
			}})
		e.consoles = append(e.consoles, c)
		e.wg.Go(func() {
			if err := c.Run(runCtx); err != nil && runCtx.Err() == nil {
				e.log.Error("console stopped", "console", c.Name(), "err", err)
			}
		})
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range e.consoles {
		for c.State().On < 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s has no feed after 60 s", c.Name())
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	e.log.Info("consoles connected", "n", len(e.consoles))
	return nil
}

// sample is the figures at one moment.
type sample struct {
	At time.Duration // since the traffic started
	// Per replica, in plan order.
	RSS, Heap, Goroutines, FeedClients []float64
	LiveCalls                          float64
	DataBytes                          int64 // the NATS nodes' store directories
	Connected                          int   // consoles with an open feed
}

// sample takes the figures every o.Every for o.Duration.
func (e *env) sample(ctx context.Context) ([]sample, error) {
	var out []sample
	start := time.Now()
	tick := time.NewTicker(e.o.Every)
	defer tick.Stop()
	for {
		s := e.take(ctx, time.Since(start))
		out = append(out, s)
		e.log.Info("sample", "t", s.At.Round(time.Second), "rss_mb", mbs(s.RSS), "goroutines", s.Goroutines,
			"data_mb", float64(s.DataBytes)/(1<<20), "live", s.LiveCalls, "connected", s.Connected)
		if time.Since(start) >= e.o.Duration {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-tick.C:
		}
	}
}

func mbs(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x/(1<<20), 'f', 1, 64)
	}
	return out
}

func (e *env) take(ctx context.Context, at time.Duration) sample {
	s := sample{At: at, LiveCalls: -1}
	for _, r := range e.plan.Replicas {
		m := e.metrics(ctx, r.LocalURL())
		s.RSS = append(s.RSS, m["process_resident_memory_bytes"])
		s.Heap = append(s.Heap, m["go_memstats_heap_inuse_bytes"])
		s.Goroutines = append(s.Goroutines, m["go_goroutines"])
		s.FeedClients = append(s.FeedClients, m["switchboard_feed_clients"])
		if live, ok := m["switchboard_live_calls"]; ok {
			s.LiveCalls = max(s.LiveCalls, live)
		}
	}
	for _, n := range e.plan.Nodes {
		s.DataBytes += diskUsage(filepath.Join(e.plan.Dir, "data", n.Name))
	}
	for _, c := range e.consoles {
		if c.State().On >= 0 {
			s.Connected++
		}
	}
	return s
}

// metrics reads the plain gauges of a replica's /metrics (no labels);
// what cannot be read is missing.
func (e *env) metrics(ctx context.Context, base string) map[string]float64 {
	out := map[string]float64{}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := e.http.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// diskUsage is the disk the files under dir take, in bytes (blocks
// allocated, as du counts them).
func diskUsage(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total
}

// stop ends the consoles and the cluster; it may be called twice.
func (e *env) stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
	if e.exits != nil {
		e.exits.Stop()
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			e.log.Warn("stopping the cluster", "err", err)
		}
	}
}

// failures are the parts that exited by themselves.
func (e *env) failures() []localcluster.Failure {
	if e.exits == nil {
		return nil
	}
	return e.exits.Failures()
}
