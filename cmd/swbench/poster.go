package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// webhookPath is where the server receives Graph's notifications.
const webhookPath = "/api/graph/notifications"

// posterConfig is what the posters of one workload share.
type posterConfig struct {
	URL    string // the webhook's URL
	Client *http.Client
	Gen    generator
	// Base is the run's clock origin: markers carry time since Base.
	Base time.Time
	// Calls hands out call indexes; every poster draws from it so no two
	// posters ever touch the same call (a call's notifications stay in order).
	Calls *atomic.Int64
	// Lanes is how many calls a poster interleaves.
	Lanes int
	// Attempts is how many times a refused notification is sent (Graph
	// retries too); at least 1.
	Attempts int
	// RetryFor, when set, keeps sending a refused notification for this
	// long whatever Attempts says, as Graph redelivers to a webhook that
	// is down (W5, W6). Failover is a second webhook URL tried on every
	// other attempt (the other replica, behind a load balancer).
	RetryFor time.Duration
	Failover string
}

// postResult is what one poster did.
type postResult struct {
	Accepted int // notifications answered 202
	Failed   int // notifications never accepted, after every attempt
	Refusals int // attempts answered otherwise, or not answered
	// LastRefusal describes the last refused attempt.
	LastRefusal string
	// Latencies are the round trips of every attempt, as the sender saw them.
	Latencies []time.Duration
	// Acked maps each call this poster touched to the last step accepted
	// (-1 when even its first notification was refused).
	Acked map[int]int
}

// poster sends the notifications of its own calls, one at a time, over
// keep-alive connections.
type poster struct {
	cfg   posterConfig
	lanes []cursor
	next  int
	res   postResult
}

// cursor is a call in progress and the step it is at.
type cursor struct {
	call, step, steps int
}

func newPoster(cfg posterConfig) *poster {
	p := &poster{cfg: cfg, res: postResult{Acked: make(map[int]int)}}
	for range max(1, cfg.Lanes) {
		p.lanes = append(p.lanes, p.newCall())
	}
	return p
}

func (p *poster) newCall() cursor {
	k := int(p.cfg.Calls.Add(1) - 1)
	p.res.Acked[k] = -1
	return cursor{call: k, steps: len(script(k))}
}

// sendNext sends the next notification of the next lane, round robin, so
// the server sees a mix of created, updated and deleted over many calls.
func (p *poster) sendNext(ctx context.Context) error {
	i := p.next % len(p.lanes)
	p.next++
	c := &p.lanes[i]
	sent := time.Since(p.cfg.Base)
	body, err := p.cfg.Gen.body(marker{Call: c.call, Step: c.step, Sent: sent})
	if err != nil {
		return err
	}
	if p.deliver(ctx, body) {
		p.res.Accepted++
		p.res.Acked[c.call] = c.step
		c.step++
	} else {
		p.res.Failed++
		c.step = c.steps // give up on this call: its later steps would not apply
	}
	if c.step >= c.steps {
		*c = p.newCall()
	}
	return nil
}

// deliver posts body until it is accepted or the attempts run out.
func (p *poster) deliver(ctx context.Context, body []byte) bool {
	return deliverBody(ctx, p.cfg, body, &p.res)
}

// deliverBody posts body until it is accepted, or the attempts (and
// RetryFor) run out, counting into res.
func deliverBody(ctx context.Context, cfg posterConfig, body []byte, res *postResult) bool {
	first := time.Now()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		more := attempt < max(1, cfg.Attempts) || (cfg.RetryFor > 0 && time.Since(first) < cfg.RetryFor)
		if !more {
			break
		}
		if attempt > 0 {
			time.Sleep(min(time.Duration(attempt)*50*time.Millisecond, 500*time.Millisecond))
		}
		url := cfg.URL
		if cfg.Failover != "" && attempt%2 == 1 {
			url = cfg.Failover
		}
		start := time.Now()
		status, err := postOnce(ctx, cfg.Client, url, body)
		res.Latencies = append(res.Latencies, time.Since(start))
		if err == nil && status == http.StatusAccepted {
			return true
		}
		res.Refusals++
		if err != nil {
			res.LastRefusal = err.Error()
		} else {
			res.LastRefusal = fmt.Sprintf("answered %d", status)
		}
	}
	return false
}

// postOnce POSTs one notification body and drains the answer so the
// connection is reused.
func postOnce(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("post notification: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post notification: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// postTotals merges the posters' results.
type postTotals struct {
	Accepted, Failed, Refusals int
	LastRefusal                string
	Latencies                  []time.Duration
	// Acked is the last accepted step of every call, by call index.
	Acked []int32
}

func mergePosts(results []postResult) postTotals {
	var t postTotals
	calls := 0
	for _, r := range results {
		t.Accepted += r.Accepted
		t.Failed += r.Failed
		t.Refusals += r.Refusals
		if r.LastRefusal != "" {
			t.LastRefusal = r.LastRefusal
		}
		t.Latencies = append(t.Latencies, r.Latencies...)
		for k := range r.Acked {
			calls = max(calls, k+1)
		}
	}
	t.Acked = make([]int32, calls)
	for i := range t.Acked {
		t.Acked[i] = -1
	}
	for _, r := range results {
		for k, step := range r.Acked {
			t.Acked[k] = int32(step)
		}
	}
	return t
}

// newHTTPClient is a client for loopback traffic: keep-alive connections
// for up to conns concurrent requests, never a proxy.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}
