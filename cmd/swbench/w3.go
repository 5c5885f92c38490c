package main

import (
	"context"
	"fmt"
	"math"
	"time"
)

// w3Config shapes W3: memory held by idle consoles.
type w3Config struct {
	Clients int
	Settle  time.Duration
	Samples int
}

// memSample is the server's memory at one moment, from its /metrics.
type memSample struct {
	RSS, HeapInuse, Goroutines float64
}

// w3Result is what W3 measured.
type w3Result struct {
	Config    w3Config
	Connected int
	// Before is the idle server's memory, With is with every client
	// connected: each field is the minimum over the samples taken.
	Before, With memSample
	// RSSPerClient and HeapPerClient are in bytes.
	RSSPerClient, HeapPerClient, GoroutinesPerClient float64
	// ServerFileLimit is the server's open files limit, as the kernel has it.
	ServerFileLimit string
}

// w3Goal is issue 2's goal for memory per idle feed client.
const w3Goal = 20 << 10

// runW3 samples the idle server, connects the clients in batches, waits
// until the server counts them all, lets it settle and samples again.
func (b *bench) runW3(ctx context.Context, kind string, cfg w3Config) (*w3Result, error) {
	res := &w3Result{Config: cfg}
	err := b.withServer(ctx, kind, launchOptions{}, func(srv *server) error {
		var err error
		if res.ServerFileLimit, err = processFileLimit(srv.Pid()); err != nil {
			b.log.Warn("W3", "err", err)
		}
		if !sleepCtx(ctx, 2*time.Second) {
			return ctx.Err()
		}
		if res.Before, err = b.sampleMemory(ctx, srv, cfg.Samples); err != nil {
			return err
		}
		fo := b.feedOptions(srv, b.opts.DialParallel, time.Now())
		clients, err := dialMany(ctx, fo, cfg.Clients, b.opts.DialParallel, b.log)
		defer stopAll(clients)
		res.Connected = len(clients)
		if err != nil {
			return err
		}
		if err := waitAll(ctx, clients, 60*time.Second, "the snapshot", (*feedClient).hasSnapshot); err != nil {
			return err
		}
		if err := b.waitFeedClients(ctx, srv, cfg.Clients, 60*time.Second); err != nil {
			return err
		}
		b.log.Info("W3 clients connected; settling", "clients", len(clients), "settle", cfg.Settle)
		if !sleepCtx(ctx, cfg.Settle) {
			return ctx.Err()
		}
		if res.With, err = b.sampleMemory(ctx, srv, cfg.Samples); err != nil {
			return err
		}
		b.heapProfile(ctx, srv, "W3-"+kind)
		for i, c := range clients {
			if ended, cerr := c.ended(); ended {
				return fmt.Errorf("feed client %d closed while idle: %s", i+1, describeClose(cerr))
			}
		}
		n := float64(len(clients))
		res.RSSPerClient = (res.With.RSS - res.Before.RSS) / n
		res.HeapPerClient = (res.With.HeapInuse - res.Before.HeapInuse) / n
		res.GoroutinesPerClient = (res.With.Goroutines - res.Before.Goroutines) / n
		return nil
	})
	return res, err
}

// sampleMemory scrapes the server n times, a second apart, and keeps the
// minimum of each figure: the server's garbage collector runs when it
// likes, and the minimum is the closest to what is really live.
func (b *bench) sampleMemory(ctx context.Context, srv *server, n int) (memSample, error) {
	low := memSample{RSS: math.Inf(1), HeapInuse: math.Inf(1), Goroutines: math.Inf(1)}
	for i := range n {
		if i > 0 && !sleepCtx(ctx, time.Second) {
			return low, ctx.Err()
		}
		m, err := scrape(ctx, b.http, srv, metricRSS, metricHeapInuse, metricGoroutines)
		if err != nil {
			return low, err
		}
		low.RSS = min(low.RSS, m[metricRSS])
		low.HeapInuse = min(low.HeapInuse, m[metricHeapInuse])
		low.Goroutines = min(low.Goroutines, m[metricGoroutines])
	}
	b.log.Info("memory sampled", "rss_mib", fmt.Sprintf("%.1f", low.RSS/(1<<20)),
		"heap_inuse_mib", fmt.Sprintf("%.1f", low.HeapInuse/(1<<20)), "goroutines", low.Goroutines)
	return low, nil
}

// waitFeedClients polls the server's feed client gauge until it reads want.
func (b *bench) waitFeedClients(ctx context.Context, srv *server, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		m, err := scrape(ctx, b.http, srv, metricFeedClients)
		if err != nil {
			return err
		}
		got := int(m[metricFeedClients])
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server counts %d feed clients after %s, want %d", got, timeout, want)
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// sleepCtx sleeps for d; false means ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
