package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// w2Config shapes W2: many consoles, a steady stream of notifications.
type w2Config struct {
	Duration time.Duration
	Clients  int
	Rate     float64
	Posters  int
	Lanes    int
}

// w2Result is what W2 measured.
type w2Result struct {
	Config w2Config
	// Planned is how many notifications the pace called for.
	Planned int
	// Accepted, Failed and Refusals are the sender's counts.
	Accepted, Failed, Refusals int
	LastRefusal                string
	// Elapsed is how long sending took; Rate is Accepted per second over it.
	Elapsed time.Duration
	Rate    float64
	// SenderLag is how late, at worst, a notification left the sender
	// compared to its slot in the pace.
	SenderLag time.Duration
	// Webhook is the webhook's round trip as the sender saw it.
	Webhook latency
	// Latency is webhook-send → client-receive over every delivery.
	Latency latency
	// SlowDrops is the server's count of clients cut off as too slow.
	SlowDrops float64
	// CPU is how sending and delivering used the machine.
	CPU      cpuUse
	Delivery deliveryCheck
}

// Issue 2's W2 goals.
const (
	w2P99Goal  = 50 * time.Millisecond
	w2LostGoal = 0
)

// CPUPerDelivery is the server's CPU time per notification delivered to
// one client, over the phase of sending and delivering.
func (r *w2Result) CPUPerDelivery() time.Duration {
	n := r.Delivery.Received
	if n == 0 || r.CPU.Wall <= 0 {
		return 0
	}
	return r.CPU.Server / time.Duration(n)
}

// runW2 connects the clients, sends notifications at a steady pace, waits
// for the clients to receive them, and gathers every latency sample.
func (b *bench) runW2(ctx context.Context, kind, name string, cfg w2Config) (*w2Result, error) {
	res := &w2Result{Config: cfg, Planned: int(cfg.Rate * cfg.Duration.Seconds())}
	if res.Planned < 1 {
		res.Planned = 1
	}
	err := b.withServer(ctx, kind, launchOptions{}, func(srv *server) error {
		base := time.Now()
		fo := b.feedOptions(srv, b.opts.DialParallel, base)
		fo.Latency, fo.ExpectMessages = true, res.Planned
		clients, err := dialMany(ctx, fo, cfg.Clients, b.opts.DialParallel, b.log)
		defer stopAll(clients)
		if err != nil {
			return err
		}
		if err := waitAll(ctx, clients, 60*time.Second, "the snapshot", (*feedClient).hasSnapshot); err != nil {
			return err
		}
		b.log.Info("W2 sending", "clients", len(clients), "rate", cfg.Rate, "notifications", res.Planned)
		meter := b.startCPU(ctx, srv)
		profiled := b.profile(ctx, srv, name, cfg.Duration-time.Second)
		totals := b.postPaced(ctx, srv, base, cfg, res.Planned)
		profiled()
		res.Accepted, res.Failed, res.Refusals, res.LastRefusal = totals.Accepted, totals.Failed, totals.Refusals, totals.LastRefusal
		res.Elapsed, res.SenderLag = totals.elapsed, totals.lag
		res.Rate = float64(totals.Accepted) / totals.elapsed.Seconds()
		res.Webhook = summarize(totals.Latencies, time.Nanosecond)
		caughtUp := waitDelivered(ctx, clients, totals.Accepted, b.opts.Drain)
		res.CPU = b.stopCPU(ctx, srv, meter)
		head, err := headSeq(ctx, fo)
		if err != nil {
			return err
		}
		m, err := scrape(ctx, b.http, srv, metricSlowDrops)
		if err != nil {
			return err
		}
		res.SlowDrops = m[metricSlowDrops]
		stopAll(clients)
		res.Delivery = checkDelivery(clients, totals.Acked, totals.Accepted, head, !caughtUp)
		res.Latency = mergeLatencies(clients)
		return nil
	})
	return res, err
}

// pacedTotals are the paced posters' totals.
type pacedTotals struct {
	postTotals
	elapsed, lag time.Duration
}

// postPaced sends planned notifications at cfg.Rate. Poster p sends
// notifications p, p+P, p+2P…, each at its slot (start + i/rate), or at
// once when it is late; a poster owns its calls, so each call's
// notifications stay in order.
func (b *bench) postPaced(ctx context.Context, srv *server, base time.Time, cfg w2Config, planned int) pacedTotals {
	posters := min(cfg.Posters, planned)
	pc := posterConfig{URL: srv.URL + webhookPath, Client: newHTTPClient(posters), Gen: b.gen, Base: base,
		Calls: new(atomic.Int64), Lanes: cfg.Lanes, Attempts: 3}
	var sent atomic.Int64
	pctx, stopProgress := context.WithCancel(ctx)
	go progress(pctx, b.log, 10*time.Second, "W2 progress", func() []any { return []any{"sent", sent.Load(), "of", planned} })
	defer stopProgress()

	interval := time.Duration(float64(time.Second) / cfg.Rate)
	start := time.Now()
	results := make([]postResult, posters)
	lags := make([]time.Duration, posters)
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			po := newPoster(pc)
			for i := p; i < planned && ctx.Err() == nil; i += posters {
				slot := start.Add(time.Duration(i) * interval)
				if wait := time.Until(slot); wait > 0 {
					time.Sleep(wait)
				} else {
					lags[p] = max(lags[p], -wait)
				}
				if err := po.sendNext(ctx); err != nil {
					b.log.Error("W2 poster stopped", "err", err)
					break
				}
				sent.Add(1)
			}
			results[p] = po.res
		}()
	}
	wg.Wait()
	t := pacedTotals{postTotals: mergePosts(results), elapsed: time.Since(start)}
	for _, l := range lags {
		t.lag = max(t.lag, l)
	}
	return t
}

// mergeLatencies summarises the latency samples of every stopped client.
func mergeLatencies(clients []*feedClient) latency {
	n := 0
	for _, c := range clients {
		n += len(c.rec.Latencies)
	}
	all := make([]uint32, 0, n)
	for _, c := range clients {
		all = append(all, c.rec.Latencies...)
		c.rec.Latencies = nil
	}
	return summarize(all, time.Microsecond)
}
