package feed

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
)

// client is one connected console. Its queue grows on demand (an idle client
// holds no buffer) up to QueueLimit messages and QueueBytes bytes.
type client struct {
	session  string
	limit    int
	maxBytes int
	after    uint64 // messages at or below this sequence are already known to the client

	mu     sync.Mutex
	queue  [][]byte
	queued int    // bytes in queue
	reason string // set once: why the hub wants the connection closed
	wake   chan struct{}
	cut    func() // closes the connection at once, without a close frame
}

// abandon cuts the connection without a word (see Hub.Abandon).
func (c *client) abandon() {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	if cut != nil {
		cut()
	}
}

func newClient(session string, limit, maxBytes int) *client {
	return &client{session: session, limit: limit, maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

// enqueue adds e unless the client already has it; false means the client
// is too far behind.
func (c *client) enqueue(e entry) bool {
	if e.seq <= c.after {
		return true
	}
	return c.push(e.data)
}

// push queues data unconditionally (the snapshot or resume that opens the
// feed); false means the queue is full.
func (c *client) push(data []byte) bool {
	c.mu.Lock()
	if len(c.queue) >= c.limit || (len(c.queue) > 0 && c.queued+len(data) > c.maxBytes) {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, data)
	c.queued += len(data)
	c.mu.Unlock()
	c.signal()
	return true
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *client) close(reason string) {
	c.mu.Lock()
	if c.reason == "" {
		c.reason = reason
	}
	c.mu.Unlock()
	c.signal()
}

// take removes up to maxBytes of queued messages and joins them into one
// frame, one message per line.
func (c *client) take(maxBytes int) (frame []byte, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != "" {
		// Dropped: what is queued is moot, the client resumes with since.
		c.queue, c.queued = nil, 0
		return nil, c.reason
	}
	if len(c.queue) == 0 {
		if c.queue != nil && cap(c.queue) > 64 {
			c.queue = nil // give a burst's memory back
		}
		return nil, c.reason
	}
	n, size := 0, 0
	for n < len(c.queue) && (n == 0 || size+len(c.queue[n]) < maxBytes) {
		size += len(c.queue[n]) + 1
		n++
	}
	frame = bytes.Join(c.queue[:n], []byte{'\n'})
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	c.queued -= size - n
	return frame, ""
}

// Authorizer decides whether a request may open the feed, and names the
// session it belongs to so that logging out closes it. A non-nil error is
// answered with status (401 or 403) before the upgrade.
type Authorizer func(r *http.Request) (session string, status int, err error)

// Handler returns the websocket handler for /api/feed. authorize may be nil
// (no sessions: the demo without identity, and tests); then the websocket
// library's own same-origin check applies.
func (h *Hub) Handler(authorize Authorizer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		since, resume, err := parseSince(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !h.Ready() {
			// Before the upgrade, so that every client sees it: the console
			// retries with backoff, a load balancer tries another replica.
			w.Header().Set("Retry-After", "1")
			http.Error(w, feedwire.ReasonStarting, http.StatusServiceUnavailable)
			return
		}
		var session string
		opts := &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled}
		if authorize != nil {
			var status int
			if session, status, err = authorize(r); err != nil {
				http.Error(w, err.Error(), status)
				return
			}
			opts.InsecureSkipVerify = true // authorize checked the Origin
		}
		if reason := h.admit(session); reason != "" {
			w.Header().Set("Retry-After", "5")
			http.Error(w, reason, http.StatusTooManyRequests)
			return
		}
		defer h.leave(session)
		conn, err := websocket.Accept(w, r, opts)
		if err != nil {
			return // Accept has answered
		}
		h.serve(r.Context(), conn, newClient(session, h.opts.QueueLimit, h.opts.QueueBytes), since, resume)
	})
}

func parseSince(r *http.Request) (uint64, bool, error) {
	s := r.URL.Query().Get("since")
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, errors.New("since must be a sequence number")
	}
	return n, true, nil
}

// serve runs the client's writer until the client leaves or is dropped.
func (h *Hub) serve(ctx context.Context, conn *websocket.Conn, c *client, since uint64, resume bool) {
	defer conn.CloseNow()
	c.mu.Lock()
	c.cut = func() { conn.CloseNow() }
	c.mu.Unlock()
	// The feed is one-way: reading only handles pings, pongs and close.
	ctx = conn.CloseRead(ctx)
	if reason := h.subscribe(ctx, c, since, resume); reason != "" {
		conn.Close(closeCode(reason), reason)
		return
	}
	defer h.unsubscribe(c)
	ping := time.NewTicker(h.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if err := h.ping(ctx, conn); err != nil {
				return
			}
		case <-c.wake:
			if !h.flush(ctx, conn, c) {
				return
			}
		}
	}
}

// flush writes everything queued; false ends the connection.
func (h *Hub) flush(ctx context.Context, conn *websocket.Conn, c *client) bool {
	for {
		frame, reason := c.take(h.opts.MaxFrame)
		if frame == nil {
			if reason != "" {
				conn.Close(closeCode(reason), reason)
				return false
			}
			return true
		}
		wctx, cancel := context.WithTimeout(ctx, h.opts.WriteTimeout)
		err := conn.Write(wctx, websocket.MessageText, frame)
		cancel()
		if err != nil {
			return false
		}
	}
}

func (h *Hub) ping(ctx context.Context, conn *websocket.Conn) error {
	pctx, cancel := context.WithTimeout(ctx, h.opts.WriteTimeout)
	defer cancel()
	return conn.Ping(pctx)
}

// closeCode is the websocket status that goes with a close reason: "going
// away" for a shutdown (reconnect elsewhere), "policy violation" otherwise.
func closeCode(reason string) websocket.StatusCode {
	if reason == feedwire.ReasonShutdown {
		return websocket.StatusGoingAway
	}
	return websocket.StatusPolicyViolation
}
