package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
// will not accept it later either.
func (s *Sim) deliver(ctx context.Context, p parcel) {
	backoff := s.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		status, err := s.postOnce(ctx, p)
		switch {
		case err == nil && status < 300:
			return
		case err == nil && status != http.StatusTooManyRequests && status < 500:
			s.log.Warn("notification refused", "call", p.callID, "url", p.url, "status", status)
			return
		case ctx.Err() != nil:
			s.log.Debug("notification dropped: the simulator is closing", "call", p.callID)
			return
		case attempt > maxDeliveryRetries:
			s.log.Warn("notification not delivered", "call", p.callID, "url", p.url,
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

// postOnce makes one delivery attempt and returns the webhook's status.
func (s *Sim) postOnce(ctx context.Context, p parcel) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	tok, err := s.notificationToken(time.Now())
	if err != nil {
		return 0, fmt.Errorf("notification token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
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
