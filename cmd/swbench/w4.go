package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// w4Config shapes W4: a big contact centre's view under steady news.
type w4Config struct {
	Calls    int
	Rate     float64
	Duration time.Duration
	Consoles int
	Posters  int
	// SeedBatch is how many notifications one seeding POST carries, and
	// SeedPosters how many POSTs are in flight at once.
	SeedBatch, SeedPosters int
	// LateEvery is how often a console connects while the load runs, to
	// time its snapshot.
	LateEvery time.Duration
	// Wave is how many consoles connect at once before the load, each wave
	// after the last has its snapshots.
	Wave int
}

// w4Result is what W4 measured.
type w4Result struct {
	Config w4Config
	Seed   seeded
	// LiveCalls is the server's count of live calls once seeded.
	LiveCalls float64
	// Snapshot is the time from dialling to holding the whole snapshot,
	// for the consoles that connected at once before the load (First) and
	// for those that connected one at a time during it (Late); SnapshotBytes
	// is the size of the largest.
	First, Late   latency
	SnapshotBytes int64
	// The load, as W2 measures it.
	Planned                    int
	Accepted, Failed, Refusals int
	LastRefusal                string
	Elapsed                    time.Duration
	Rate                       float64
	SenderLag                  time.Duration
	Webhook, Latency           latency
	SlowDrops                  float64
	// RSS and Heap are the highest the server reached during the load.
	RSS, Heap float64
	CPU       cpuUse
	Delivery  deliveryCheck
	// Events counts the events the server stored, by kind (its
	// switchboard_events_total), when it exports them.
	Events map[string]float64
}

// runW4 seeds the live calls, connects the consoles at once, then sends
// the load while a console now and then connects, and checks what every
// console received.
func (b *bench) runW4(ctx context.Context, kind, name string, cfg w4Config) (*w4Result, error) {
	res := &w4Result{Config: cfg, Planned: max(1, int(cfg.Rate*cfg.Duration.Seconds()))}
	err := b.withServer(ctx, kind, launchOptions{}, func(srv *server) error {
		base := time.Now()
		fo := b.feedOptions(srv, b.opts.DialParallel, base)
		fo.Baseline, fo.Latency, fo.ExpectMessages, fo.Seeded = true, true, res.Planned, cfg.Calls
		var err error
		if res.Seed, err = b.seedLive(ctx, []string{srv.URL}, fo, cfg.Calls, cfg.SeedBatch, cfg.SeedPosters); err != nil {
			return err
		}
		m, err := scrape(ctx, b.http, srv, metricLiveCalls)
		if err != nil {
			return err
		}
		res.LiveCalls = m[metricLiveCalls]
		clients, err := b.connectInWaves(ctx, fo, cfg.Consoles, cfg.Wave)
		defer stopAll(clients)
		if err != nil {
			return err
		}
		res.First, res.SnapshotBytes = openTimes(clients)
		b.log.Info("W4 consoles hold the snapshot", "consoles", len(clients), "p50", res.First.P50, "max", res.First.Max,
			"bytes", res.SnapshotBytes)

		b.log.Info("W4 sending", "rate", cfg.Rate, "notifications", res.Planned)
		meter := b.startCPU(ctx, srv)
		mem := b.startSampler(ctx, srv)
		profiled := b.profile(ctx, srv, name, cfg.Duration-time.Second)
		lctx, stopLate := context.WithCancel(ctx)
		lateDone := make(chan []*feedClient, 1)
		go func() { lateDone <- b.lateConsoles(lctx, fo, cfg.LateEvery) }()
		totals := b.postLive(ctx, base, liveLoad{Calls: cfg.Calls, Rate: cfg.Rate, Duration: cfg.Duration, Posters: cfg.Posters, URLs: []string{srv.URL}})
		b.heapProfile(ctx, srv, name)
		stopLate()
		late := <-lateDone
		profiled()
		res.Accepted, res.Failed, res.Refusals, res.LastRefusal = totals.Accepted, totals.Failed, totals.Refusals, totals.LastRefusal
		res.Elapsed, res.SenderLag = totals.elapsed, totals.lag
		res.Rate = float64(totals.Accepted) / totals.elapsed.Seconds()
		res.Webhook = summarize(totals.Latencies, time.Nanosecond)
		caughtUp := waitDelivered(ctx, clients, totals.Accepted, b.opts.Drain)
		res.CPU = b.stopCPU(ctx, srv, meter)
		res.RSS, res.Heap = mem.finish()
		var lateBytes int64
		res.Late, lateBytes = openTimes(late)
		res.SnapshotBytes = max(res.SnapshotBytes, lateBytes)
		head, err := headSeq(ctx, fo)
		if err != nil {
			return err
		}
		// Changes no notification made (keepAlive) may still come: the
		// consoles must reach the sequence read, not stay on it.
		if caughtUp {
			waitAll(ctx, clients, b.opts.Drain, "the server's sequence", func(c *feedClient) bool { return c.lastSeq.Load() >= head })
		}
		if m, err = scrape(ctx, b.http, srv, metricSlowDrops); err != nil {
			return err
		}
		res.SlowDrops = m[metricSlowDrops]
		if text, err := scrapeText(ctx, b.http, srv); err == nil {
			res.Events = labelled(text, "switchboard_events_total")
		}
		stopAll(clients)
		res.Delivery = checkDelivery(clients, totals.Acked, totals.Accepted, head, !caughtUp)
		res.Latency = mergeLatencies(clients)
		return nil
	})
	return res, err
}

// connectInWaves connects n consoles, wave at a time, each wave once the
// one before holds its snapshots.
func (b *bench) connectInWaves(ctx context.Context, fo feedOptions, n, wave int) ([]*feedClient, error) {
	var all []*feedClient
	for len(all) < n {
		clients, err := dialMany(ctx, fo, min(wave, n-len(all)), wave, b.log)
		all = append(all, clients...)
		if err != nil {
			return all, err
		}
		if err := waitAll(ctx, clients, 2*time.Minute, "the snapshot", (*feedClient).hasSnapshot); err != nil {
			return all, err
		}
	}
	return all, nil
}

// lateConsoles connects a console every interval until ctx ends, waits
// for its snapshot and lets it go; it returns them all, stopped. A console
// that fails to get its snapshot within a minute is logged and left out.
func (b *bench) lateConsoles(ctx context.Context, fo feedOptions, every time.Duration) []*feedClient {
	fo.Latency = false
	var (
		mu  sync.Mutex
		out []*feedClient
		wg  sync.WaitGroup
	)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return out
		case <-t.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialFeed(context.WithoutCancel(ctx), fo)
			if err != nil {
				b.log.Warn("late console", "err", err)
				return
			}
			defer c.stop()
			if err := waitAll(context.WithoutCancel(ctx), []*feedClient{c}, time.Minute, "the snapshot", (*feedClient).hasSnapshot); err != nil {
				b.log.Warn("late console", "err", err)
				return
			}
			mu.Lock()
			out = append(out, c)
			mu.Unlock()
		}()
	}
}

// openTimes summarises how long clients took from dialling to holding
// their first message, and the largest first message.
func openTimes(clients []*feedClient) (latency, int64) {
	var d []time.Duration
	var size int64
	for _, c := range clients {
		if c.hasSnapshot() {
			d = append(d, time.Duration(c.opened.Load()))
			size = max(size, c.openSize.Load())
		}
	}
	return summarize(slices.Clip(d), time.Nanosecond), size
}

// w4String names W4's shape in one line.
func (c w4Config) String() string {
	return fmt.Sprintf("%d live calls, %.0f notifications/s for %s, %d consoles", c.Calls, c.Rate, c.Duration, c.Consoles)
}
