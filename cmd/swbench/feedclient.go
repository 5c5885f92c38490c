package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	// Last is, by call index, the last step received (-1: none).
	Last []int32
	// Latencies are sender→client delays in microseconds (feedOptions.Latency).
	Latencies []uint32
}

// dialFeed connects a client and starts reading.
func dialFeed(ctx context.Context, o feedOptions) (*feedClient, error) {
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	u := "ws" + strings.TrimPrefix(o.URL, "http") + "/api/feed"
	// A browser sends its Origin; a server with sign-in checks it.
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: o.Client, HTTPHeader: http.Header{"Origin": {o.URL}}})
	if err != nil {
		return nil, fmt.Errorf("dial the feed: %w", err)
	}
	conn.SetReadLimit(512 << 20) // a snapshot holds every call of the last hour
	c := &feedClient{conn: conn, opts: o, done: make(chan struct{})}
	if o.Latency {
		c.rec.Latencies = make([]uint32, 0, o.ExpectMessages)
	}
	go c.read()
	return c, nil
}

func (c *feedClient) read() {
	defer close(c.done)
	var buf bytes.Buffer
	for {
		_, r, err := c.conn.Reader(context.Background())
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err == nil {
			err = c.frame(buf.Bytes(), time.Since(c.opts.Base))
		}
		if err != nil {
			if !c.stopping.Load() {
				c.err = err
			}
			c.conn.CloseNow()
			return
		}
	}
}

// frame handles one frame: one or more messages, one per line.
func (c *feedClient) frame(data []byte, at time.Duration) error {
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
	if !c.snapshot.Load() {
		if m.Type != feedwire.TypeSnapshot && m.Type != feedwire.TypeResume {
			return fmt.Errorf("the feed opened with a %q message, not a snapshot", m.Type)
		}
		c.first.Store(m.Seq)
		c.lastSeq.Store(m.Seq)
		c.snapshot.Store(true)
		return nil
	}
	if m.Seq <= c.lastSeq.Load() {
		c.rec.OutOfOrder++
	} else {
		c.lastSeq.Store(m.Seq)
	}
	if m.Type == feedwire.TypeCall {
		c.call(m, at)
	}
	return nil
}

// call checks a call message against the generator's script.
func (c *feedClient) call(m feedMessage, at time.Duration) {
	k, okID := c.opts.Gen.callIndex(m.CallID)
	mk, okSubject := parseSubject(m.Subject)
	if !okID || !okSubject || mk.Call != k {
		c.rec.Foreign++
		return
	}
	for len(c.rec.Last) <= k {
		c.rec.Last = append(c.rec.Last, -1)
	}
	last := int(c.rec.Last[k])
	switch {
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
	c.conn.CloseNow()
	<-c.done
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
		c.conn.CloseNow()
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
