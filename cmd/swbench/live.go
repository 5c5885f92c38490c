package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The workloads of a big contact centre (W4, W5, W6) share their load: a
// population of calls that stay live (created, answered, then put on hold
// and taken back again and again), seeded first, then notifications at a
// steady pace spread over all of them while consoles watch.

// seeded is what seeding a population of live calls did.
type seeded struct {
	Calls    int
	Accepted int // notifications accepted (two per call)
	Failed   int
	Took     time.Duration
	// Head is the server's sequence once it applied them all.
	Head uint64
}

// Rate is notifications accepted per second while seeding.
func (s seeded) Rate() float64 {
	if s.Took <= 0 {
		return 0
	}
	return float64(s.Accepted) / s.Took.Seconds()
}

// seedLive creates calls live calls on the server at url (steps 0 and 1
// of each: created, then established), batch notifications per POST from
// posters at once, and waits until a new console's snapshot holds them.
func (b *bench) seedLive(ctx context.Context, urls []string, fo feedOptions, calls, batch, posters int) (seeded, error) {
	res := seeded{Calls: calls}
	start := time.Now()
	type job struct{ from, to, step int }
	jobs := make(chan job)
	go func() {
		defer close(jobs)
		for step := 0; step < 2; step++ {
			for from := 0; from < calls; from += batch {
				select {
				case jobs <- job{from, min(from+batch, calls), step}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	// The first step of every call is in before any second one: a job of
	// step 1 waits for the step-0 jobs to be done.
	var created sync.WaitGroup
	created.Add((calls + batch - 1) / batch)
	var accepted, failed atomic.Int64
	var wg sync.WaitGroup
	client := newHTTPClient(posters)
	errs := make(chan error, posters)
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := posterConfig{URL: urls[p%len(urls)] + webhookPath, Client: client, Attempts: 5, RetryFor: 30 * time.Second}
			if len(urls) > 1 {
				cfg.Failover = urls[(p+1)%len(urls)] + webhookPath
			}
			var pr postResult
			for j := range jobs {
				if j.step == 1 {
					created.Wait()
				}
				markers := make([]marker, 0, j.to-j.from)
				for k := j.from; k < j.to; k++ {
					markers = append(markers, marker{Call: k, Step: j.step, Sent: time.Since(fo.Base)})
				}
				body, err := b.gen.liveBody(markers...)
				if err != nil {
					if j.step == 0 {
						created.Done()
					}
					errs <- err
					return
				}
				if deliverBody(ctx, cfg, body, &pr) {
					accepted.Add(int64(len(markers)))
				} else {
					failed.Add(int64(len(markers)))
				}
				if j.step == 0 {
					created.Done()
				}
				pr.Latencies = pr.Latencies[:0]
			}
		}()
	}
	pctx, stopProgress := context.WithCancel(ctx)
	go progress(pctx, b.log, 5*time.Second, "seeding live calls", func() []any { return []any{"accepted", accepted.Load(), "of", 2 * calls} })
	wg.Wait()
	stopProgress()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.Accepted, res.Failed = int(accepted.Load()), int(failed.Load())
	if res.Failed > 0 {
		return res, fmt.Errorf("seeding: %d of %d notifications were never accepted", res.Failed, 2*calls)
	}
	// Every accepted notification is one event: the log's sequence reaches
	// Accepted once the server applied them all.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		head, err := headSeq(ctx, fo)
		if err == nil && head >= uint64(res.Accepted) {
			res.Head = head
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("seeding: the server's sequence is %d after %s, want %d (%v)", head, 3*time.Minute, res.Accepted, err)
		}
		if !sleepCtx(ctx, time.Second) {
			return res, ctx.Err()
		}
	}
	res.Took = time.Since(start)
	b.log.Info("live calls seeded", "calls", calls, "per_second", fmt.Sprintf("%.0f", res.Rate()), "took", res.Took.Round(time.Millisecond))
	return res, nil
}

// liveLoad is the steady load on seeded calls.
type liveLoad struct {
	Calls    int
	Rate     float64
	Duration time.Duration
	Posters  int
	// URLs are the webhooks' base URLs: poster p posts to URLs[p%n], and
	// fails over to the next one.
	URLs []string
	// RetryFor keeps a refused notification being sent (see posterConfig).
	RetryFor time.Duration
}

// postLive sends notifications at cfg.Rate for cfg.Duration, spread over
// the seeded calls: poster p owns calls p, p+P, p+2P… and sends the next
// step of each in turn (steps 2, 3, … alternate hold and established),
// one notification per POST as Graph does.
func (b *bench) postLive(ctx context.Context, base time.Time, cfg liveLoad) pacedTotals {
	planned := max(1, int(cfg.Rate*cfg.Duration.Seconds()))
	posters := min(cfg.Posters, planned, cfg.Calls)
	client := newHTTPClient(posters)
	var sent atomic.Int64
	pctx, stopProgress := context.WithCancel(ctx)
	go progress(pctx, b.log, 10*time.Second, "live load", func() []any { return []any{"sent", sent.Load(), "of", planned} })
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
			pc := posterConfig{URL: cfg.URLs[p%len(cfg.URLs)] + webhookPath, Client: client, Attempts: 3, RetryFor: cfg.RetryFor}
			if len(cfg.URLs) > 1 {
				pc.Failover = cfg.URLs[(p+1)%len(cfg.URLs)] + webhookPath
			}
			res := postResult{Acked: make(map[int]int)}
			steps := make(map[int]int)
			next := p // the poster's next call
			for i := p; i < planned && ctx.Err() == nil; i += posters {
				slot := start.Add(time.Duration(i) * interval)
				if wait := time.Until(slot); wait > 0 {
					time.Sleep(wait)
				} else {
					lags[p] = max(lags[p], -wait)
				}
				k := next
				if next += posters; next >= cfg.Calls {
					next = p
				}
				step, ok := steps[k]
				if !ok {
					step = 2
				}
				body, err := b.gen.liveBody(marker{Call: k, Step: step, Sent: time.Since(base)})
				if err != nil {
					b.log.Error("live poster stopped", "err", err)
					break
				}
				if deliverBody(ctx, pc, body, &res) {
					res.Accepted++
					res.Acked[k] = step
					steps[k] = step + 1
				} else {
					res.Failed++
				}
				sent.Add(1)
			}
			results[p] = res
		}()
	}
	wg.Wait()
	t := pacedTotals{postTotals: mergePosts(results), elapsed: time.Since(start)}
	for _, l := range lags {
		t.lag = max(t.lag, l)
	}
	// Calls the load never reached have no entry: their last step here is
	// "none" (-1), as the clients, which got them in a snapshot, have it.
	if len(t.Acked) < cfg.Calls {
		more := make([]int32, cfg.Calls-len(t.Acked))
		for i := range more {
			more[i] = -1
		}
		t.Acked = append(t.Acked, more...)
	}
	return t
}

// sampler scrapes the server's memory every second until stopped, and
// keeps the highest RSS and heap seen.
type sampler struct {
	mu              sync.Mutex
	maxRSS, maxHeap float64
	lastRSS         float64
	samples, failed int
	stop            context.CancelFunc
	done            chan struct{}
}

func (b *bench) startSampler(ctx context.Context, srv *server) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			m, err := scrape(ctx, b.http, srv, metricRSS, metricHeapInuse)
			s.mu.Lock()
			if err == nil {
				s.samples++
				s.maxRSS, s.maxHeap, s.lastRSS = max(s.maxRSS, m[metricRSS]), max(s.maxHeap, m[metricHeapInuse]), m[metricRSS]
			} else if ctx.Err() == nil {
				s.failed++
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the highest RSS and heap seen.
func (s *sampler) finish() (rss, heap float64) {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxRSS, s.maxHeap
}
