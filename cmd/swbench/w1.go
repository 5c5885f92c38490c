package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// w1Config shapes W1: webhook throughput with a few consoles watching.
type w1Config struct {
	Duration time.Duration
	Clients  int
	Posters  int
	Lanes    int
}

// w1Result is what W1 measured.
type w1Result struct {
	Config w1Config
	// Elapsed is how long the posting phase really took (in-flight posts
	// finish after Duration).
	Elapsed time.Duration
	// Accepted, Failed and Refusals are the posters' counts.
	Accepted, Failed, Refusals int
	LastRefusal                string
	// Calls is how many generated calls received notifications.
	Calls int
	// Rate is accepted notifications per second over Elapsed.
	Rate float64
	// Webhook is the webhook's round trip as the posters saw it.
	Webhook latency
	// CPU is how the posting phase used the machine.
	CPU      cpuUse
	Delivery deliveryCheck
}

// w1Goal is issue 2's throughput goal on 2 cores.
const w1Goal = 5000.0

// runW1 connects the feed clients, then has the posters send notifications
// as fast as the server accepts them for the duration, then checks that
// every client received every accepted notification.
func (b *bench) runW1(ctx context.Context, kind, name string, cfg w1Config) (*w1Result, error) {
	res := &w1Result{Config: cfg}
	err := b.withServer(ctx, kind, launchOptions{}, func(srv *server) error {
		base := time.Now()
		fo := b.feedOptions(srv, cfg.Clients, base)
		clients, err := dialMany(ctx, fo, cfg.Clients, b.opts.DialParallel, b.log)
		defer stopAll(clients)
		if err != nil {
			return err
		}
		if err := waitAll(ctx, clients, 30*time.Second, "the snapshot", (*feedClient).hasSnapshot); err != nil {
			return err
		}
		b.log.Info("W1 posting", "clients", len(clients), "posters", cfg.Posters, "duration", cfg.Duration)
		meter := b.startCPU(ctx, srv)
		profiled := b.profile(ctx, srv, name, cfg.Duration-time.Second)
		totals := b.postFlat(ctx, srv, base, cfg)
		res.CPU = b.stopCPU(ctx, srv, meter)
		profiled()
		res.Elapsed = totals.elapsed
		res.Accepted, res.Failed, res.Refusals, res.LastRefusal = totals.Accepted, totals.Failed, totals.Refusals, totals.LastRefusal
		res.Calls = countCalls(totals.Acked)
		res.Rate = float64(totals.Accepted) / totals.elapsed.Seconds()
		res.Webhook = summarize(totals.Latencies, time.Nanosecond)
		b.log.Info("W1 posted", "accepted", res.Accepted, "per_second", fmt.Sprintf("%.0f", res.Rate), "p99", res.Webhook.P99)
		if res.Accepted == 0 {
			return fmt.Errorf("the webhook accepted no notification (last refusal: %s)", totals.LastRefusal)
		}
		caughtUp := waitDelivered(ctx, clients, totals.Accepted, b.opts.Drain)
		head, err := headSeq(ctx, fo)
		if err != nil {
			return err
		}
		stopAll(clients)
		res.Delivery = checkDelivery(clients, totals.Acked, totals.Accepted, head, !caughtUp)
		return nil
	})
	return res, err
}

// flatTotals are the posters' totals and how long they ran.
type flatTotals struct {
	postTotals
	elapsed time.Duration
}

// postFlat runs cfg.Posters posters flat out until cfg.Duration has passed.
func (b *bench) postFlat(ctx context.Context, srv *server, base time.Time, cfg w1Config) flatTotals {
	pc := posterConfig{URL: srv.URL + webhookPath, Client: newHTTPClient(cfg.Posters), Gen: b.gen, Base: base,
		Calls: new(atomic.Int64), Lanes: cfg.Lanes, Attempts: 3}
	var accepted atomic.Int64
	pctx, stopProgress := context.WithCancel(ctx)
	go progress(pctx, b.log, 5*time.Second, "W1 progress", func() []any { return []any{"accepted", accepted.Load()} })
	defer stopProgress()

	start := time.Now()
	deadline := start.Add(cfg.Duration)
	results := make([]postResult, cfg.Posters)
	var wg sync.WaitGroup
	for i := range cfg.Posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPoster(pc)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				before := p.res.Accepted
				if err := p.sendNext(ctx); err != nil {
					b.log.Error("W1 poster stopped", "err", err)
					break
				}
				accepted.Add(int64(p.res.Accepted - before))
			}
			results[i] = p.res
		}()
	}
	wg.Wait()
	return flatTotals{postTotals: mergePosts(results), elapsed: time.Since(start)}
}

// countCalls counts the calls with at least one accepted notification.
func countCalls(acked []int32) int {
	n := 0
	for _, s := range acked {
		if s >= 0 {
			n++
		}
	}
	return n
}
