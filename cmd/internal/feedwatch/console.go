package feedwatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
)

// Policy says which replica a console connects to after a disconnect.
type Policy int

// The policies, like the load balancers in front of replicas.
const (
	// Sticky always goes back to the home replica (session affinity).
	Sticky Policy = iota
	// Failover stays on the replica it was on until an attempt there
	// fails, then tries the next.
	Failover
	// Random draws a replica for every attempt (no affinity).
	Random
)

func (p Policy) String() string {
	switch p {
	case Sticky:
		return "sticky"
	case Failover:
		return "failover"
	case Random:
		return "random"
	default:
		return "policy " + strconv.Itoa(int(p))
	}
}

// Options configure a Console.
type Options struct {
	Name string
	// Replicas are the replicas' base URLs (http://host:port); the console
	// starts on Home and moves as Policy says.
	Replicas []string
	Home     int
	Policy   Policy
	// SignIn opens a session at a replica and returns the cookie jar
	// holding it; it is called at start and whenever the feed answers 401.
	SignIn func(ctx context.Context, replica string) (http.CookieJar, error)
	// MinBackoff and MaxBackoff bound the wait between attempts, doubling
	// with each failure in a row, with jitter (defaults 500 ms and 15 s,
	// the console's).
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds a handshake (default 5 s).
	DialTimeout time.Duration
}

// Console is one simulated console. Its methods are safe for concurrent use.
type Console struct {
	opts Options

	mu      sync.Mutex
	view    *view
	events  []Event
	applied []Applied
	on      int // the replica of the open feed, -1 when none
}

// New returns a console; Run connects it.
func New(o Options) *Console {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(o.MinBackoff, 15*time.Second)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	return &Console{opts: o, view: newView(), on: -1}
}

// Name is the console's name.
func (c *Console) Name() string { return c.opts.Name }

// Options returns the console's options.
func (c *Console) Options() Options { return c.opts }

// errUnauthorized ends a connection whose session is gone.
var errUnauthorized = errors.New("feedwatch: the feed answered 401")

// Run keeps the console connected until ctx ends. It fails only when
// signing in fails at the start.
func (c *Console) Run(ctx context.Context) error {
	target := c.opts.Home
	jar, err := c.signIn(ctx, target)
	if err != nil {
		return err
	}
	failures := 0
	fresh := true // the next connection asks for a snapshot
	for ctx.Err() == nil {
		target = c.pick(target, failures)
		opened, restart, err := c.connect(ctx, jar, target, fresh)
		fresh = restart
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errUnauthorized) {
			if j, serr := c.signIn(ctx, target); serr == nil {
				jar = j
			}
		}
		if opened {
			failures = 0
		} else {
			failures++
		}
		wait := c.backoff(failures)
		if restart {
			wait = 0 // start over with a snapshot at once, as the console does
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	return nil
}

func (c *Console) signIn(ctx context.Context, target int) (http.CookieJar, error) {
	jar, err := c.opts.SignIn(ctx, c.opts.Replicas[target])
	if err != nil {
		c.record(Event{Kind: Refused, Replica: target, Detail: "sign-in failed: " + err.Error()})
		return nil, fmt.Errorf("feedwatch: %s: %w", c.opts.Name, err)
	}
	c.record(Event{Kind: SignedIn, Replica: target})
	return jar, nil
}

// pick chooses the replica of the next attempt.
func (c *Console) pick(last, failures int) int {
	n := len(c.opts.Replicas)
	switch c.opts.Policy {
	case Failover:
		if failures > 0 {
			return (last + 1) % n
		}
		return last
	case Random:
		return rand.IntN(n)
	default:
		return c.opts.Home
	}
}

// backoff is the wait after failures attempts in a row failed: the
// console's exponential backoff with jitter.
func (c *Console) backoff(failures int) time.Duration {
	d := c.opts.MinBackoff
	if failures > 1 {
		d = c.opts.MinBackoff << min(failures-1, 20)
	}
	d = min(d, c.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// connect makes one connection and reads it until it ends. opened says
// whether the feed opened (a snapshot or resume arrived); startOver that
// the console must start over with a snapshot.
func (c *Console) connect(ctx context.Context, jar http.CookieJar, target int, fresh bool) (opened, startOver bool, err error) {
	base := c.opts.Replicas[target]
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/feed"
	c.mu.Lock()
	if c.view.has && !fresh {
		u += "?since=" + strconv.FormatUint(c.view.held, 10)
	}
	c.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	client := &http.Client{Jar: jar, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	conn, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{"Origin": {base}}})
	cancel()
	if err != nil {
		detail := shortError(err)
		if resp != nil {
			detail = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
		}
		c.record(Event{Kind: Refused, Replica: target, Detail: detail})
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return false, false, errUnauthorized
		}
		return false, false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20)
	c.setOn(target)
	defer c.setOn(-1)
	return c.read(ctx, conn, target)
}

func (c *Console) setOn(target int) {
	c.mu.Lock()
	c.on = target
	c.mu.Unlock()
}

// read applies every message of conn until the connection ends or the
// console must reconnect.
func (c *Console) read(ctx context.Context, conn *websocket.Conn, target int) (opened, fresh bool, err error) {
	first := true
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.record(Event{Kind: Closed, Replica: target, Detail: closeReason(err)})
			}
			return opened, false, err
		}
		msgs, err := feedwire.Decode(data)
		if err != nil {
			c.record(Event{Kind: Protocol, Replica: target, Detail: err.Error()})
			conn.Close(websocket.StatusInvalidFramePayloadData, "bad message")
			return opened, true, err
		}
		for _, m := range msgs {
			if first && m.Type != feedwire.TypeSnapshot && m.Type != feedwire.TypeResume {
				if m.Type == feedwire.TypeCall || m.Type == feedwire.TypeRemoved {
					c.record(Event{Kind: Protocol, Replica: target, Seq: m.Seq, Detail: "feed opened with " + m.Type})
					conn.Close(websocket.StatusProtocolError, "expected a snapshot or resume")
					return opened, true, errors.New("feedwatch: the feed opened with " + m.Type)
				}
			}
			v, kind := c.take(m, target)
			if v == apply && (m.Type == feedwire.TypeSnapshot || m.Type == feedwire.TypeResume) {
				first, opened = false, true
				c.record(Event{Kind: Connected, Replica: target, Seq: m.Seq})
			}
			if v == restart {
				// A stale snapshot: keep the view and try again after the
				// backoff (the replica is catching up). A gap: start over
				// with a snapshot at once.
				conn.Close(websocket.StatusNormalClosure, "resync")
				return opened, kind != StaleSnapshot, nil
			}
		}
	}
}

// take applies m to the view and records what happened.
func (c *Console) take(m feedwire.Message, target int) (verdict, Kind) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	held := c.view.held
	v, kind := c.view.take(m)
	if v == apply && (m.Type == feedwire.TypeCall || m.Type == feedwire.TypeRemoved) {
		id := m.CallID
		if m.Call != nil {
			id = m.Call.ID
		}
		c.applied = append(c.applied, Applied{At: now, Seq: m.Seq, CallID: id})
	}
	if kind != "" {
		e := Event{At: now, Kind: kind, Replica: target, Seq: m.Seq}
		switch kind {
		case StaleSnapshot, Gap:
			e.Detail = "holding " + strconv.FormatUint(held, 10)
		case Status:
			e.Detail = m.Type
		}
		c.events = append(c.events, e)
	}
	return v, kind
}

func (c *Console) record(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

// closeReason says why a connection ended, with the server's close reason
// when it gave one.
func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("closed by the server: %d %s", ce.Code, ce.Reason)
	}
	return shortError(err)
}

func shortError(err error) string {
	msg := err.Error()
	for _, known := range []string{"connection refused", "connection reset", "EOF", "deadline exceeded"} {
		if strings.Contains(msg, known) {
			return known
		}
	}
	return msg
}

// State is what a console holds at one moment.
type State struct {
	Calls map[string]CallState
	Held  uint64
	// On is the replica it is connected to, -1 when none.
	On int
}

// State returns a copy of the console's view.
func (c *Console) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := make(map[string]CallState, len(c.view.calls))
	for id, s := range c.view.calls {
		calls[id] = s
	}
	return State{Calls: calls, Held: c.view.held, On: c.on}
}

// Events returns what the console saw so far, in order.
func (c *Console) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// AppliedChanges returns every change the console applied, in order.
func (c *Console) AppliedChanges() []Applied {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Applied(nil), c.applied...)
}
