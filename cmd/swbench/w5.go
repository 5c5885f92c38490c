package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// w5Config shapes W5 (a replica restarting under W4's load) and W6 (the
// same on a 3-node cluster with two replicas).
type w5Config struct {
	Calls    int
	Rate     float64
	Duration time.Duration
	Consoles int
	Posters  int
	// KillAfter is when, into the load, the replica is killed (SIGKILL)
	// and started again at once.
	KillAfter              time.Duration
	SeedBatch, SeedPosters int
}

// w5Result is what W5 or W6 measured.
type w5Result struct {
	Config  w5Config
	Cluster bool
	Seed    seeded
	// LiveCalls is the restarted replica's count of live calls once ready.
	LiveCalls float64
	// The restart, each from the moment the new process started (the old
	// one was killed just before): NATS answered (the embedded server
	// started; on a cluster NATS never went away, so 0), the replica was
	// assembled, its view loaded the saved state, and /readyz said ready.
	NATS, Assembled, Loaded, Ready time.Duration
	// LoadedCalls, Checkpoint and LogSeq are what the view loaded: the
	// saved calls, the checkpoint they reflect, and the log's last
	// sequence then; the tail replayed is LogSeq − Checkpoint.
	LoadedCalls         int
	Checkpoint, LogSeq  uint64
	ReadyAfterNATS      time.Duration
	ConsolesBack        latency // from the new process's start to each console's feed open again
	Resumed, Snapshots  int     // how the consoles' feeds opened again
	NotBack             int     // consoles whose feed never opened again
	Accepted, Failed    int
	Refusals            int
	LastRefusal         string
	Elapsed             time.Duration
	Latency             latency
	Head                uint64
	AtHead, Gaps, OutOf int // consoles at the server's sequence at the end; gaps and order faults seen
	Lost                int // deliveries missing on consoles that resumed (a snapshot holds the rest)
}

// restartEnv is what a restart workload needs of its target.
type restartEnv struct {
	// webhooks are the replicas' base URLs; consoles connect to home.
	webhooks []string
	home     *server
	// kill kills the home replica and start starts it again.
	kill, start func() error
	// logAfter returns what the home replica logged since t.
	logAfter func(t time.Time) string
	// embedded is set when NATS runs inside the replica.
	embedded bool
}

// runW5 runs the restart on one replica with embedded NATS.
func (b *bench) runW5(ctx context.Context, name string, cfg w5Config) (*w5Result, error) {
	res := &w5Result{Config: cfg}
	err := b.withServer(ctx, kindSwitchboard, launchOptions{}, func(srv *server) error {
		env := restartEnv{webhooks: []string{srv.URL}, home: srv, embedded: true,
			kill:     func() error { srv.kill(); return nil },
			start:    srv.restart,
			logAfter: func(t time.Time) string { return srv.output.String() }}
		return b.restartRun(ctx, name, env, res)
	})
	return res, err
}

// restartRun seeds the live calls, connects the consoles to the home
// replica, starts the load, kills and restarts the home replica in the
// middle of it, and measures how it comes back.
func (b *bench) restartRun(ctx context.Context, name string, env restartEnv, res *w5Result) error {
	cfg := res.Config
	base := time.Now()
	fo := b.feedOptions(env.home, cfg.Consoles, base)
	planned := max(1, int(cfg.Rate*cfg.Duration.Seconds()))
	fo.Baseline, fo.Latency, fo.ExpectMessages, fo.Seeded = true, true, planned, cfg.Calls
	fo.Reconnect, fo.ReconnectFor = true, 3*time.Minute
	var err error
	if res.Seed, err = b.seedLive(ctx, env.webhooks, fo, cfg.Calls, cfg.SeedBatch, cfg.SeedPosters); err != nil {
		return err
	}
	clients, err := dialMany(ctx, fo, cfg.Consoles, cfg.Consoles, b.log)
	defer stopAll(clients)
	if err != nil {
		return err
	}
	if err := waitAll(ctx, clients, 2*time.Minute, "the snapshot", (*feedClient).hasSnapshot); err != nil {
		return err
	}
	b.log.Info(name+" sending", "rate", cfg.Rate, "notifications", planned, "kill_after", cfg.KillAfter)
	loaded := make(chan pacedTotals, 1)
	go func() {
		loaded <- b.postLive(ctx, base, liveLoad{Calls: cfg.Calls, Rate: cfg.Rate, Duration: cfg.Duration, Posters: cfg.Posters,
			URLs: env.webhooks, RetryFor: 2 * time.Minute})
	}()
	if !sleepCtx(ctx, cfg.KillAfter) {
		return ctx.Err()
	}
	b.log.Info(name+": killing the replica", "url", env.home.URL)
	if err := env.kill(); err != nil {
		return err
	}
	started := time.Now()
	if err := env.start(); err != nil {
		return err
	}
	readyAt, err := waitReadyAt(ctx, b.http, env.home.URL, 3*time.Minute)
	if err != nil {
		return err
	}
	res.Ready = readyAt.Sub(started)
	b.log.Info(name+": the replica is ready again", "after", res.Ready.Round(time.Millisecond))
	if !waitReopened(ctx, clients, 3*time.Minute) {
		b.log.Warn(name + ": some consoles did not come back")
	}
	b.readRestartLog(env.logAfter(started), started, env.embedded, res)
	res.ReadyAfterNATS = res.Ready - res.NATS
	if m, err := scrape(ctx, b.http, env.home, metricLiveCalls); err == nil {
		res.LiveCalls = m[metricLiveCalls]
	}
	totals := <-loaded
	res.Accepted, res.Failed, res.Refusals, res.LastRefusal = totals.Accepted, totals.Failed, totals.Refusals, totals.LastRefusal
	res.Elapsed = totals.elapsed
	waitDelivered(ctx, clients, totals.Accepted, b.opts.Drain)
	if res.Head, err = headSeq(ctx, fo); err != nil {
		return err
	}
	// Changes no notification made (keepAlive) may still come: the
	// consoles must reach the sequence read, not stay on it.
	waitAll(ctx, clients, b.opts.Drain, "the server's sequence", func(c *feedClient) bool { return c.lastSeq.Load() >= res.Head })
	stopAll(clients)
	res.restartFigures(clients, started, totals.Accepted)
	res.Latency = mergeLatencies(clients)
	return nil
}

// restartFigures sums up how the consoles came back and what they got.
func (res *w5Result) restartFigures(clients []*feedClient, started time.Time, accepted int) {
	var d []time.Duration
	for _, c := range clients {
		rs := c.Reopens()
		if len(rs) == 0 || rs[len(rs)-1].Opened.IsZero() {
			res.NotBack++
			continue
		}
		last := rs[len(rs)-1]
		d = append(d, last.Opened.Sub(started))
		resumed := true
		for _, r := range rs {
			resumed = resumed && r.Resumed
		}
		if resumed {
			res.Resumed++
			if missing := accepted - c.rec.Unique; missing > 0 {
				res.Lost += missing
			}
		} else {
			res.Snapshots++
		}
		if c.lastSeq.Load() >= res.Head {
			res.AtHead++
		}
		res.Gaps += c.rec.Gaps
		res.OutOf += c.rec.OutOfOrder
	}
	res.ConsolesBack = summarize(d, time.Nanosecond)
}

// waitReadyAt polls url's /readyz every 50 ms until it answers 200 and
// returns when it did.
func waitReadyAt(ctx context.Context, client *http.Client, url string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		if err == nil && resp.StatusCode == http.StatusOK {
			return time.Now(), nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return time.Time{}, ctx.Err()
		}
	}
	return time.Time{}, fmt.Errorf("the restarted replica was not ready after %s", timeout)
}

// waitReopened waits until every client's feed opened again after its
// last loss; false means some had not within timeout.
func waitReopened(ctx context.Context, clients []*feedClient, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for _, c := range clients {
			rs := c.Reopens()
			if len(rs) == 0 || rs[len(rs)-1].Opened.IsZero() || !c.open.Load() {
				pending++
			}
		}
		if pending == 0 {
			return true
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 50*time.Millisecond) {
			return false
		}
	}
}

// readRestartLog reads, from the restarted replica's JSON log, when NATS
// answered, when the replica was assembled and what its view loaded.
func (b *bench) readRestartLog(log string, started time.Time, embedded bool, res *w5Result) {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"msg":`) {
			continue
		}
		var l struct {
			Time       time.Time `json:"time"`
			Msg        string    `json:"msg"`
			Calls      int       `json:"calls"`
			Checkpoint uint64    `json:"checkpoint"`
			Log        uint64    `json:"log"`
		}
		if json.Unmarshal(line, &l) != nil || l.Time.Before(started) {
			continue
		}
		at := max(l.Time.Sub(started), 0)
		switch l.Msg {
		case "embedded NATS with JetStream started":
			res.NATS = at
		case "replica assembled":
			res.Assembled = at
		case "live view loaded":
			res.Loaded, res.LoadedCalls, res.Checkpoint, res.LogSeq = at, l.Calls, l.Checkpoint, l.Log
		}
	}
	if !embedded {
		res.NATS = 0 // the cluster answered all along
	}
	if res.Assembled == 0 {
		b.log.Warn("the restarted replica's log does not say when it was assembled")
	}
}
