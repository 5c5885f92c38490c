// Package readiness polls a replica's /readyz and turns the answers into
// the windows during which it said "not ready", so a fault-injection run
// can check that readiness tells the truth: not ready whenever the
// replica would refuse a notification.
package readiness

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sample is one answer of /readyz.
type Sample struct {
	At time.Time
	// Status is the answer's status; 0 when none came (Err says why).
	Status int
	// Reason is the first line of a not-ready answer, or the error.
	Reason string
}

// Ready reports whether the sample said ready.
func (s Sample) Ready() bool { return s.Status == http.StatusOK }

// Poller asks URL every Every (default 200 ms), each answer bounded by
// Timeout (default 1 s).
type Poller struct {
	URL            string
	Every, Timeout time.Duration
	Client         *http.Client

	mu      sync.Mutex
	samples []Sample
}

// Run polls until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	every := p.Every
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	client, timeout := p.asking()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s := probe(ctx, client, p.URL, timeout)
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		p.samples = append(p.samples, s)
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// asking is the client and the timeout each answer is asked with.
func (p *Poller) asking() (*http.Client, time.Duration) {
	client, timeout := p.Client, p.Timeout
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	if timeout <= 0 {
		timeout = time.Second
	}
	return client, timeout
}

func probe(ctx context.Context, client *http.Client, url string, timeout time.Duration) Sample {
	s := Sample{At: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		s.Reason = err.Error()
		return s
	}
	resp, err := client.Do(req)
	if err != nil {
		s.Reason = shortError(err)
		return s
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	s.Status = resp.StatusCode
	if !s.Ready() {
		s.Reason, _, _ = strings.Cut(strings.TrimSpace(string(body)), "\n")
	}
	return s
}

// shortError names a failed request's cause without its URL.
func shortError(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "deadline exceeded"), strings.Contains(msg, "Timeout"):
		return "no answer in time"
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"):
		return "connection dropped"
	}
	return msg
}

// Probe asks once now, between the polls, and keeps the answer with
// theirs, in time order: a fault that is over within one poll (a replica
// killed and started again at once) is then seen whenever whoever made it
// probes right after.
func (p *Poller) Probe(ctx context.Context) {
	client, timeout := p.asking()
	s := probe(ctx, client, p.URL, timeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.samples, s.At, func(x Sample, at time.Time) int { return x.At.Compare(at) })
	p.samples = slices.Insert(p.samples, i, s)
}

// Samples returns every answer so far, oldest first.
func (p *Poller) Samples() []Sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.samples)
}

// Window is a span during which the replica did not say ready.
type Window struct {
	// From is the first not-ready sample; To the next ready one (or the
	// end of the period looked at, with Open set).
	From, To time.Time
	Open     bool
	// Reasons are the distinct answers given, in order.
	Reasons []string
}

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// NotReady finds the windows of not-ready samples taken in [from, to).
func NotReady(samples []Sample, from, to time.Time) []Window {
	var out []Window
	var cur *Window
	for _, s := range samples {
		if s.At.Before(from) || !s.At.Before(to) {
			continue
		}
		switch {
		case !s.Ready() && cur == nil:
			cur = &Window{From: s.At, Reasons: []string{reason(s)}}
		case !s.Ready():
			if r := reason(s); !slices.Contains(cur.Reasons, r) {
				cur.Reasons = append(cur.Reasons, r)
			}
		case cur != nil:
			cur.To = s.At
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		cur.To, cur.Open = to, true
		out = append(out, *cur)
	}
	return out
}

func reason(s Sample) string {
	if s.Status == 0 {
		return s.Reason
	}
	if s.Reason == "" {
		return http.StatusText(s.Status)
	}
	return s.Reason
}

// ReadyThroughout reports whether the replica said ready both at the last
// sample taken at or before from and at the first taken at or after to,
// and at every sample between: a refusal between from and to happened
// while readiness claimed all was well. Without a sample on either side
// it says false (nothing is known).
func ReadyThroughout(samples []Sample, from, to time.Time) bool {
	before, after := -1, -1
	for i, s := range samples {
		if !s.At.After(from) {
			before = i
		}
		if !s.At.Before(to) && after < 0 {
			after = i
		}
	}
	if before < 0 || after < 0 {
		return false
	}
	for _, s := range samples[before : after+1] {
		if !s.Ready() {
			return false
		}
	}
	return true
}
