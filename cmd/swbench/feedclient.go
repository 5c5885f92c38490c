package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
)

// feedOptions are what feed clients of one workload share.
type feedOptions struct {
	URL    string // the server's base URL (http://…)
	Client *http.Client
	Gen    generator
	// Base is the run's clock origin (see marker.Sent).
	Base time.Time
	// Latency makes clients keep a latency sample per notification.
	Latency bool
	// ExpectMessages sizes the latency buffer.
	ExpectMessages int
	// DialTimeout bounds each connection attempt.
	DialTimeout time.Duration
	// Baseline makes a call's first message free to be at any step: the
	// client connected after the call's first notifications, which its
	// snapshot holds (W4).
	Baseline bool
	// Seeded says that calls 0…Seeded−1 were created and answered (steps
	// 0 and 1) before the client connected, so its first snapshot holds
	// them at step 1: a message at that step (a keepAlive recorded before
	// the call's next notification) is no new reception, and a later step
	// must follow it without a gap.
	Seeded int
	// Reconnect makes a client whose feed ends reconnect with ?since=, as a
	// console does, until ReconnectFor has passed (W5, W6).
	Reconnect    bool
	ReconnectFor time.Duration
}

// feedClient is one console connected to /api/feed. It reads every frame,
// checks the feed's promises (sequences only go up; each generated call's
// notifications arrive once, in order, none skipped) and, with
// feedOptions.Latency, measures how long each notification took from the
// sender to it.
type feedClient struct {
	conn *websocket.Conn
	opts feedOptions

	snapshot atomic.Bool   // the first message (snapshot or resume) arrived
	first    atomic.Uint64 // its sequence
	lastSeq  atomic.Uint64
	unique   atomic.Int64 // generated notifications received the first time
	stopping atomic.Bool
	done     chan struct{}
	// dialed is when the client started to connect; opened is how long
	// the first message (the snapshot) took to arrive in full after that,
	// and openSize its size in bytes.
	dialed   time.Time
	opened   atomic.Int64
	openSize atomic.Int64
	// mu guards conn and reopens, which change when the client reconnects.
	mu      sync.Mutex
	reopens []reopen
	open    atomic.Bool // a feed is open and its first message arrived

	// rec and err belong to the reading goroutine until done is closed.
	rec delivery
	err error
}

// delivery is what one client received.
type delivery struct {
	Unique     int // generated notifications received the first time, in order
	Repeats    int // a call's step received again, or an earlier one after it
	Gaps       int // times a call skipped steps
	OutOfOrder int // messages whose sequence was not above the previous one
	Foreign    int // call messages that no generated notification explains
	// Others counts changes of a call that no notification made: the same
	// step again at a later sequence (the server kept the call alive with
	// Graph, and recorded it).
	Others int
	// Last is, by call index, the last step received (-1: none).
	Last []int32
	// Latencies are sender→client delays in microseconds (feedOptions.Latency).
	Latencies []uint32
}

// reopen is one reconnection of a client whose feed ended.
type reopen struct {
	// Lost is when the feed ended; Opened when the new feed's first
	// message arrived (zero if it never did).
	Lost, Opened time.Time
	// Resumed is set when the server resumed the feed (a resume message)
	// rather than sending a snapshot.
	Resumed bool
	// Attempts counts the connection attempts it took.
	Attempts int
}

// lastUnknown marks a call whose next step may be any (see Baseline):
// what came before is in a snapshot the client did not read call by call.
const lastUnknown = -2

// seededStep is the step seeding leaves every live call at (answered).
const seededStep = 1

// dialFeed connects a client and starts reading.
func dialFeed(ctx context.Context, o feedOptions) (*feedClient, error) {
	c := &feedClient{opts: o, done: make(chan struct{}), dialed: time.Now()}
	conn, err := c.dial(ctx, 0, false)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	if o.Latency {
		c.rec.Latencies = make([]uint32, 0, o.ExpectMessages)
	}
	go c.run()
	return c, nil
}

// errUnavailable is a feed refused before the upgrade because the server
// is starting (503): try again.
var errUnavailable = errors.New("the feed is not available yet")

// dial opens a feed, resuming after since when resume is set.
func (c *feedClient) dial(ctx context.Context, since uint64, resume bool) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	u := "ws" + strings.TrimPrefix(c.opts.URL, "http") + "/api/feed"
	if resume {
		u += "?since=" + strconv.FormatUint(since, 10)
	}
	// A browser sends its Origin; a server with sign-in checks it.
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.opts.Client, HTTPHeader: http.Header{"Origin": {c.opts.URL}}})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
			return nil, fmt.Errorf("dial the feed: %w (%v)", errUnavailable, err)
		}
		return nil, fmt.Errorf("dial the feed: %w", err)
	}
	conn.SetReadLimit(1 << 30) // a snapshot holds every live call and the last hour's
	return conn, nil
}

// run reads the feed, and reconnects when the options ask for it.
func (c *feedClient) run() {
	defer close(c.done)
	for {
		err := c.read()
		if c.stopping.Load() {
			return
		}
		if !c.opts.Reconnect {
			c.err = err
			return
		}
		if err := c.reconnect(); err != nil {
			c.err = err
			return
		}
	}
}

// reconnect opens the feed again with since, as a console does: attempts
// with a growing wait (100 ms to 1 s), for at most ReconnectFor.
func (c *feedClient) reconnect() error {
	r := reopen{Lost: time.Now()}
	c.open.Store(false)
	wait := 100 * time.Millisecond
	for !c.stopping.Load() {
		r.Attempts++
		conn, err := c.dial(context.Background(), c.lastSeq.Load(), true)
		if err == nil {
			c.mu.Lock()
			c.conn = conn
			c.reopens = append(c.reopens, r)
			c.mu.Unlock()
			return nil
		}
		if time.Since(r.Lost) > c.opts.ReconnectFor {
			return fmt.Errorf("reconnect for %s: %w", c.opts.ReconnectFor, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}
	return nil
}

// read reads one connection's frames until it ends.
func (c *feedClient) read() error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	defer conn.CloseNow()
	var buf bytes.Buffer
	for {
		_, r, err := conn.Reader(context.Background())
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err == nil {
			err = c.frame(buf.Bytes(), time.Since(c.opts.Base))
		}
		if err != nil {
			return err
		}
	}
}

// reopened marks the current reconnection open with the feed's first
// message.
func (c *feedClient) reopened(resumed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.reopens); n > 0 && c.reopens[n-1].Opened.IsZero() {
		c.reopens[n-1].Opened, c.reopens[n-1].Resumed = time.Now(), resumed
	}
}

// Reopens returns the client's reconnections so far.
func (c *feedClient) Reopens() []reopen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]reopen(nil), c.reopens...)
}

// frame handles one frame: one or more messages, one per line.
func (c *feedClient) frame(data []byte, at time.Duration) error {
	if !c.snapshot.Load() {
		c.opened.Store(int64(time.Since(c.dialed)))
		c.openSize.Store(int64(len(data)))
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := scanMessage(line)
		if err != nil {
			return err
		}
		if err := c.message(m, at); err != nil {
			return err
		}
	}
	return nil
}

func (c *feedClient) message(m feedMessage, at time.Duration) error {
	if !c.open.Load() {
		if m.Type != feedwire.TypeSnapshot && m.Type != feedwire.TypeResume {
			return fmt.Errorf("the feed opened with a %q message, not a snapshot", m.Type)
		}
		c.open.Store(true)
		if !c.snapshot.Load() {
			c.first.Store(m.Seq)
			c.lastSeq.Store(m.Seq)
			for len(c.rec.Last) < c.opts.Seeded {
				c.rec.Last = append(c.rec.Last, seededStep)
			}
			c.snapshot.Store(true)
			return nil
		}
		// A reconnection: a resume goes on where the client was; a
		// snapshot replaces what it held, calls included.
		c.reopened(m.Type == feedwire.TypeResume)
		if m.Type == feedwire.TypeSnapshot {
			c.lastSeq.Store(m.Seq)
			for k := range c.rec.Last {
				c.rec.Last[k] = lastUnknown
			}
		}
		return nil
	}
	if m.Type == feedwire.TypeStatus || m.Type == feedwire.TypePresence || m.Type == feedwire.TypeClaims {
		return nil // no events of the log
	}
	inOrder := m.Seq > c.lastSeq.Load()
	if inOrder {
		c.lastSeq.Store(m.Seq)
	} else {
		c.rec.OutOfOrder++
	}
	if m.Type == feedwire.TypeCall {
		c.call(m, at, inOrder)
	}
	return nil
}

// call checks a call message against the generator's script.
func (c *feedClient) call(m feedMessage, at time.Duration, inOrder bool) {
	k, okID := c.opts.Gen.callIndex(m.CallID)
	mk, okSubject := parseSubject(m.Subject)
	if !okID || !okSubject || mk.Call != k {
		c.rec.Foreign++
		return
	}
	unseen := int32(-1)
	if c.opts.Baseline {
		unseen = lastUnknown
	}
	for len(c.rec.Last) <= k {
		c.rec.Last = append(c.rec.Last, unseen)
	}
	last := int(c.rec.Last[k])
	switch {
	case last == lastUnknown:
	case mk.Step == last && inOrder:
		c.rec.Others++
		return
	case mk.Step <= last:
		c.rec.Repeats++
		return
	case mk.Step > last+1:
		c.rec.Gaps++
	}
	c.rec.Last[k] = int32(mk.Step)
	c.rec.Unique++
	c.unique.Add(1)
	if c.opts.Latency {
		c.rec.Latencies = append(c.rec.Latencies, uint32(min(max(at-mk.Sent, 0)/time.Microsecond, 1<<32-1)))
	}
}

// stop closes the connection and waits for the reader. After stop, rec
// and err are the client's final record.
func (c *feedClient) stop() {
	c.stopping.Store(true)
	c.closeConn()
	<-c.done
}

func (c *feedClient) closeConn() {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.CloseNow()
	}
}

// ended reports whether the connection ended on its own (the server
// closed it, or it broke), and why.
func (c *feedClient) ended() (bool, error) {
	select {
	case <-c.done:
		if c.stopping.Load() {
			return false, nil
		}
		return true, c.err
	default:
		return false, nil
	}
}

// dialMany connects n clients, at most parallel at a time. It stops at the
// first failure and returns the clients connected so far with the error.
func dialMany(ctx context.Context, o feedOptions, n, parallel int, log *slog.Logger) ([]*feedClient, error) {
	clients := make([]*feedClient, n)
	sem := make(chan struct{}, max(1, parallel))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var connected atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := dialFeed(ctx, o)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("feed client %d of %d: %w", i+1, n, err)
				}
				mu.Unlock()
				cancel()
				return
			}
			clients[i] = c
			if done := connected.Add(1); done%1000 == 0 {
				log.Info("feed clients connected", "n", done, "of", n)
			}
		}()
	}
	wg.Wait()
	var out []*feedClient
	for _, c := range clients {
		if c != nil {
			out = append(out, c)
		}
	}
	if firstErr == nil && ctx.Err() != nil && len(out) < n {
		firstErr = fmt.Errorf("connect feed clients: %w", ctx.Err())
	}
	return out, firstErr
}

// stopAll stops every client.
func stopAll(clients []*feedClient) {
	for _, c := range clients {
		c.stopping.Store(true)
		c.closeConn()
	}
	for _, c := range clients {
		<-c.done
	}
}

// waitAll polls until cond holds for every client, a client's connection
// ends on its own (an error naming it), or timeout passes.
func waitAll(ctx context.Context, clients []*feedClient, timeout time.Duration, what string, cond func(*feedClient) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for i, c := range clients {
			if ended, err := c.ended(); ended {
				return fmt.Errorf("feed client %d closed while waiting for %s: %v", i+1, what, describeClose(err))
			}
			if !cond(c) {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d feed clients still waiting for %s after %s", pending, len(clients), what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// describeClose says why a feed ended, with the server's close reason
// when it gave one.
func describeClose(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("closed by the server with %d %q", ce.Code, ce.Reason)
	}
	if err == nil {
		return "closed"
	}
	return err.Error()
}

// headSeq is the server's current sequence: the snapshot a new client gets.
func headSeq(ctx context.Context, o feedOptions) (uint64, error) {
	o.Latency = false
	c, err := dialFeed(ctx, o)
	if err != nil {
		return 0, fmt.Errorf("read the server's sequence: %w", err)
	}
	defer c.stop()
	if err := waitAll(ctx, []*feedClient{c}, 30*time.Second, "the snapshot", (*feedClient).hasSnapshot); err != nil {
		return 0, fmt.Errorf("read the server's sequence: %w", err)
	}
	return c.first.Load(), nil
}

// hasSnapshot reports whether the feed's first message has arrived.
func (c *feedClient) hasSnapshot() bool { return c.snapshot.Load() }
