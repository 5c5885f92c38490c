package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Record is what became of one notification.
type Record struct {
	Marker
	CallID string
	// Sent is when its first attempt started.
	Sent time.Time
	// Accepted is set once a replica answered 202: replica By, at At.
	Accepted bool
	By       int
	At       time.Time
	// Refused is a final refusal's status (a 4xx other than 408 and 429),
	// after which the notification is not sent again.
	Refused int
	// Attempts is how many POSTs it took.
	Attempts int
}

// Attempt is one POST of one notification to one replica.
type Attempt struct {
	N      int // the notification
	Target int // the replica, an index of Poster.Targets
	Start  time.Time
	Took   time.Duration
	// Status is the answer's status, 0 when none came (Err says why).
	Status int
	Err    string
}

// OK reports whether the replica accepted the notification.
func (a Attempt) OK() bool { return a.Status == http.StatusAccepted }

// Poster sends notifications at a steady rate to the webhook's replicas,
// like Graph behind a load balancer: each notification goes to the next
// replica in turn and, when refused (5xx, 408, 429) or not answered, at
// once to the next one; when every replica refused it, it is tried again
// after Retry, until GiveUp. A call's notifications go one after the
// other, each once the previous one was accepted; a call whose
// notification was given up on is abandoned.
type Poster struct {
	// Targets are the replicas' webhook URLs.
	Targets []string
	// Token returns the bearer token to send (see SimulatorToken).
	Token func(context.Context) (string, error)
	Gen   Generator
	// Rate is new notifications per second (default 20); Lanes how many
	// calls are played at once (default 8).
	Rate  float64
	Lanes int
	// Retry is the wait after every replica refused (default 200 ms);
	// GiveUp how long a notification is tried (default 60 s); Timeout
	// bounds one POST (default 10 s).
	Retry, GiveUp, Timeout time.Duration
	Client                 *http.Client

	mu       sync.Mutex
	records  []Record // index N-1
	attempts []Attempt
	calls    int // calls started
	turn     int
	draining bool
	idle     int
	resume   chan struct{}
}

func (p *Poster) defaults() {
	if p.Rate <= 0 {
		p.Rate = 20
	}
	if p.Lanes <= 0 {
		p.Lanes = 8
	}
	if p.Retry <= 0 {
		p.Retry = 200 * time.Millisecond
	}
	if p.GiveUp <= 0 {
		p.GiveUp = time.Minute
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	if p.Client == nil {
		p.Client = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}}
	}
}

// Run posts until ctx ends and returns once every lane has stopped (at
// most Timeout after ctx ends).
func (p *Poster) Run(ctx context.Context) error {
	if len(p.Targets) == 0 || p.Token == nil {
		return errors.New("traffic: a poster needs targets and a token")
	}
	p.mu.Lock()
	p.defaults()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
	tokens := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { pace(ctx, tokens, time.Duration(float64(time.Second)/p.Rate)) })
	for range p.Lanes {
		wg.Go(func() { p.lane(ctx, tokens) })
	}
	wg.Wait()
	return nil
}

// pace puts a token in tokens every interval (dropping it when the last
// one was not taken), so lanes together never exceed the rate.
func pace(ctx context.Context, tokens chan<- struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			select {
			case tokens <- struct{}{}:
			default:
			}
		}
	}
}

// lane plays one call after another.
func (p *Poster) lane(ctx context.Context, tokens <-chan struct{}) {
	for {
		k, ok := p.nextCall(ctx)
		if !ok {
			return
		}
		for j := range Steps(k) {
			select {
			case <-tokens:
			case <-ctx.Done():
				return
			}
			if !p.send(ctx, p.newRecord(k, j)) {
				break // abandoned: its later steps would not apply
			}
		}
	}
}

// nextCall waits while the poster is drained and returns a new call's
// index; false when ctx ended.
func (p *Poster) nextCall(ctx context.Context) (int, bool) {
	p.mu.Lock()
	for p.draining {
		p.idle++
		resume := p.resume
		p.mu.Unlock()
		select {
		case <-resume:
		case <-ctx.Done():
			return 0, false
		}
		p.mu.Lock()
		p.idle--
	}
	defer p.mu.Unlock()
	if ctx.Err() != nil {
		return 0, false
	}
	k := p.calls
	p.calls++
	return k, true
}

func (p *Poster) newRecord(k, j int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.records) + 1
	p.records = append(p.records, Record{Marker: Marker{N: n, Call: k, Step: j}, CallID: p.Gen.CallID(k), Sent: time.Now()})
	return n
}

// order is the replicas in the order the next notification tries them.
func (p *Poster) order() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := p.turn % len(p.Targets)
	p.turn++
	out := make([]int, len(p.Targets))
	for i := range out {
		out[i] = (first + i) % len(p.Targets)
	}
	return out
}

// final reports whether a refusal is for good: a client error other than
// timeout and throttling.
func final(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// send tries notification n until a replica accepts it, one refuses it
// for good, GiveUp passes or ctx ends. It reports whether it was accepted.
func (p *Poster) send(ctx context.Context, n int) bool {
	p.mu.Lock()
	rec := p.records[n-1]
	p.mu.Unlock()
	body, err := p.Gen.Body(rec.Marker)
	if err != nil {
		return false
	}
	order := p.order()
	deadline := rec.Sent.Add(p.GiveUp)
	for {
		for _, t := range order {
			a := p.post(ctx, n, t, body)
			switch {
			case a.OK():
				p.update(n, func(r *Record) { r.Accepted, r.By, r.At = true, t, a.Start.Add(a.Took) })
				return true
			case final(a.Status):
				p.update(n, func(r *Record) { r.Refused = a.Status })
				return false
			case ctx.Err() != nil:
				return false
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(p.Retry):
		}
	}
}

func (p *Poster) update(n int, f func(*Record)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.records[n-1])
}

// post makes one attempt and records it.
func (p *Poster) post(ctx context.Context, n, target int, body []byte) Attempt {
	a := Attempt{N: n, Target: target, Start: time.Now()}
	status, err := p.postOnce(ctx, p.Targets[target], body)
	a.Took, a.Status = time.Since(a.Start), status
	if err != nil {
		a.Err = err.Error()
	}
	p.mu.Lock()
	p.attempts = append(p.attempts, a)
	p.records[n-1].Attempts++
	p.mu.Unlock()
	return a
}

func (p *Poster) postOnce(ctx context.Context, url string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	tok, err := p.Token(ctx)
	if err != nil {
		return 0, fmt.Errorf("notification token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := p.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Pause stops starting calls; the calls under way go on to their end.
// Resume starts calls again.
func (p *Poster) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draining = true
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
}

// Drain pauses the poster and waits until every call under way has sent
// its last notification (or been abandoned), at most timeout, so the
// event log goes quiet.
func (p *Poster) Drain(ctx context.Context, timeout time.Duration) error {
	p.Pause()
	p.mu.Lock()
	lanes := p.Lanes
	p.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		idle := p.idle
		p.mu.Unlock()
		if idle >= lanes {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("traffic: %d of %d calls still under way after %s", lanes-idle, lanes, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Resume lets a drained poster start calls again.
func (p *Poster) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draining {
		p.draining = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
}

// Records returns what became of every notification so far, by number.
func (p *Poster) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.records...)
}

// Attempts returns every POST so far, in the order they ended.
func (p *Poster) Attempts() []Attempt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Attempt(nil), p.attempts...)
}

// SimulatorToken returns a Token function that fetches the notification
// token from a Graph simulator (graphsim's POST /sim/notification-token)
// and reuses it for five minutes (it is valid for an hour).
func SimulatorToken(simURL string, client *http.Client) func(context.Context) (string, error) {
	var mu sync.Mutex
	var tok string
	var got time.Time
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if tok != "" && time.Since(got) < 5*time.Minute {
			return tok, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, simURL+"/sim/notification-token", nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", fmt.Errorf("traffic: notification token: %w", err)
		}
		defer resp.Body.Close()
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.Token == "" {
			return "", fmt.Errorf("traffic: notification token: %s from %s (%v)", resp.Status, simURL, err)
		}
		tok, got = body.Token, time.Now()
		return tok, nil
	}
}
