package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Delivery limits, like Graph's: each POST gets deliveryTimeout to be
// answered, and a failed delivery is retried maxDeliveryRetries times.
const (
	deliveryTimeout    = 5 * time.Second
	maxDeliveryRetries = 3
)

// parcel is one notification POST waiting to be delivered.
type parcel struct {
	callID string
	url    string
	body   []byte
	done   chan struct{} // closed once delivered or given up on
}

// outbox is a call's queue of notifications. One courier goroutine per busy
// outbox delivers them in order, so a call's notifications never overtake
// each other, while different calls are delivered concurrently.
type outbox struct {
	mu    sync.Mutex
	queue []parcel
	busy  bool
}

// emit queues env for delivery to c's callback, twice now and then as Graph
// sometimes does. It returns a channel closed once the last copy has been
// delivered or given up on. The caller holds s.mu.
func (s *Sim) emit(c *call, env envelope) <-chan struct{} {
	body, err := json.Marshal(env)
	if err != nil {
		// Every value is built by this package; this cannot happen.
		s.log.Error("notification not encoded", "call", c.info.ID, "error", err)
		done := make(chan struct{})
		close(done)
		return done
	}
	copies := 1
	if s.chance(c, quirkDuplicate) {
		copies = 2
	}
	var done chan struct{}
	for range copies {
		done = make(chan struct{})
		s.post(c.out, parcel{callID: c.info.ID, url: c.callback, body: body, done: done})
	}
	return done
}

// post queues p on o and starts o's courier if it is idle. The caller holds
// s.mu and has checked that s is not closed, so wg.Add never races Close.
func (s *Sim) post(o *outbox, p parcel) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queue = append(o.queue, p)
	if !o.busy {
		o.busy = true
		s.wg.Add(1)
		go s.courier(o)
	}
}

// courier delivers o's parcels in order until the queue is empty.
func (s *Sim) courier(o *outbox) {
	defer s.wg.Done()
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.busy = false
			o.mu.Unlock()
			return
		}
		p := o.queue[0]
		o.queue[0] = parcel{}
		o.queue = o.queue[1:]
		o.mu.Unlock()
		s.deliver(s.base, p)
		close(p.done)
	}
}

// deliver POSTs p, retrying connection errors, 5xx and 429 with exponential
// backoff. Any other answer is final: a webhook refusing the token (401)
// will not accept it later either. A notification for the webhook's
// replicas tries each of them, starting with the next in turn, before it
// waits to retry.
func (s *Sim) deliver(ctx context.Context, p parcel) {
	targets := s.targets(p.url)
	backoff := s.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		url, status, err := s.postAny(ctx, p, targets)
		switch {
		case err == nil && status < 300:
			return
		case !retryable(status, err):
			s.log.Warn("notification refused", "call", p.callID, "url", url, "status", status)
			return
		case ctx.Err() != nil:
			s.log.Debug("notification dropped: the simulator is closing", "call", p.callID)
			return
		case attempt > maxDeliveryRetries:
			s.log.Warn("notification not delivered", "call", p.callID, "url", url,
				"attempts", attempt, "status", status, "error", err)
			return
		}
		s.log.Debug("notification delivery failed, retrying", "call", p.callID,
			"attempt", attempt, "status", status, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// retryable reports whether a delivery that got status or err may succeed
// later, or at another replica: the webhook was down, failed (5xx) or
// throttled (429).
func retryable(status int, err error) bool {
	return err != nil || status == http.StatusTooManyRequests || status >= 500
}

// targets are the URLs a notification for url is tried at, in order: every
// replica starting with the next in turn when url is one of the webhook's
// replicas, else url alone.
func (s *Sim) targets(url string) []string {
	replicas := s.cfg.CallbackURLs
	n := len(replicas)
	if n < 2 || !slices.Contains(replicas, url) {
		return []string{url}
	}
	first := int((s.turn.Add(1) - 1) % uint64(n))
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, replicas[(first+i)%n])
	}
	return out
}

// postAny posts p to each target in turn until one takes it or refuses it
// for good, and returns the last target tried and its answer.
func (s *Sim) postAny(ctx context.Context, p parcel, targets []string) (url string, status int, err error) {
	for _, url = range targets {
		status, err = s.postOnce(ctx, p, url)
		if !retryable(status, err) || ctx.Err() != nil {
			return url, status, err
		}
		s.log.Debug("notification delivery failed, trying the next replica", "call", p.callID,
			"url", url, "status", status, "error", err)
	}
	return url, status, err
}

// postOnce makes one delivery attempt of p to url and returns the
// webhook's status.
func (s *Sim) postOnce(ctx context.Context, p parcel, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	tok, err := s.notificationToken(time.Now())
	if err != nil {
		return 0, fmt.Errorf("notification token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(p.body))
	if err != nil {
		return 0, fmt.Errorf("notification request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post notification: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
