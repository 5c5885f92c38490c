package feed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
)

// client is one connected console.
//
// A client costs one goroutine while idle: the one reading its connection
// (the websocket library needs a reader for pings, pongs and the close
// handshake). A writer goroutine exists only while the client has
// something to send, and a little after; pings run on a timer. Its queue
// grows on demand (an idle client holds no buffer) up to QueueLimit
// messages and QueueBytes bytes.
type client struct {
	hub      *Hub
	session  string
	limit    int
	maxBytes int
	after    uint64 // messages at or below this sequence are already known to the client
	// redactable is set for a console that reads external parties masked
	// while masking is on; masked, when it does now (set as it subscribes).
	redactable bool
	masked     bool

	conn *websocket.Conn
	// raw is the connection under the websocket, when the hijack let us
	// see it: writes are bounded by its deadline instead of a context, and
	// gathered into one system call by gather.
	raw    net.Conn
	gather *gatherWriter

	mu sync.Mutex
	// opening is the first message, in pieces written as one websocket
	// message (a snapshot: header, the calls shared with other consoles,
	// closing brackets), so a snapshot is never joined or copied whole.
	opening *opening
	queue   [][]byte
	queued  int    // bytes in queue
	reason  string // set once: why the hub wants the connection closed
	writing bool   // a writer goroutine runs
	gone    bool   // the connection ended: nothing more is written
	wake    chan struct{}
	// lastWrite is when the writer last wrote a frame.
	lastWrite time.Time
	ping      *time.Timer
	// arrive tells presence the console is looking, and returns what
	// tells it the console left (nil: nobody follows presence).
	arrive func() (leave func())
}

func newClient(h *Hub, session string) *client {
	return &client{hub: h, session: session, limit: h.opts.QueueLimit, maxBytes: h.opts.QueueBytes, wake: make(chan struct{}, 1)}
}

// abandon cuts the connection without a word (see Hub.Abandon).
func (c *client) abandon() {
	c.mu.Lock()
	c.gone = true
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.CloseNow()
	}
}

// enqueue adds e unless the client already has it; false means the client
// is too far behind.
func (c *client) enqueue(e entry) bool {
	if e.seq <= c.after {
		return true
	}
	data := e.data
	if c.masked {
		if data = e.maskedData(); data == nil {
			return true // a change that cannot be masked is not sent
		}
	}
	return c.push(data)
}

// push queues data; false means the queue is full.
func (c *client) push(data []byte) bool {
	c.mu.Lock()
	if len(c.queue) >= c.limit || (len(c.queue) > 0 && c.queued+len(data) > c.maxBytes) {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, data)
	c.queued += len(data)
	c.kickLocked()
	c.mu.Unlock()
	return true
}

// open sets the feed's first message, written before anything queued.
func (c *client) open(o *opening) {
	c.mu.Lock()
	c.opening = o
	c.kickLocked()
	c.mu.Unlock()
}

// kickLocked makes sure a writer runs and hears there is work; c.mu is held.
func (c *client) kickLocked() {
	if c.gone || c.conn == nil {
		return
	}
	if !c.writing {
		c.writing = true
		go c.write()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close asks the writer to close the connection with reason.
func (c *client) close(reason string) {
	c.mu.Lock()
	if c.reason == "" {
		c.reason = reason
	}
	c.kickLocked()
	c.mu.Unlock()
}

// batch is what the writer sends next.
type batch struct {
	opening *opening
	frame   *[]byte // from framePool
	reason  string
}

// framePool holds the buffers frames are joined in: a frame lives only
// until it is written, so consoles share a few buffers instead of each
// allocating its own copy of the same messages.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledFrame is the largest buffer put back in the pool.
const maxPooledFrame = 1 << 20

// take removes the opening message, or else up to maxBytes of queued
// messages joined into one frame, one message per line. An empty batch
// means there is nothing to write.
func (c *client) take(maxBytes int) batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != "" {
		// Dropped: what is queued is moot, the client resumes with since.
		c.queue, c.queued, c.opening = nil, 0, nil
		return batch{reason: c.reason}
	}
	if c.opening != nil {
		b := batch{opening: c.opening}
		c.opening = nil
		return b
	}
	if len(c.queue) == 0 {
		if c.queue != nil && cap(c.queue) > 64 {
			c.queue = nil // give a burst's memory back
		}
		return batch{}
	}
	buf := framePool.Get().(*[]byte)
	frame := (*buf)[:0]
	n, size := 0, 0
	for n < len(c.queue) && (n == 0 || size+len(c.queue[n]) < maxBytes) {
		if n > 0 {
			frame = append(frame, '\n')
		}
		frame = append(frame, c.queue[n]...)
		size += len(c.queue[n]) + 1
		n++
	}
	*buf = frame
	// What is left moves to the front, so the queue's array serves the
	// next messages: slicing it off instead left appends no room, and
	// every busy console grew a new array every frame.
	left := copy(c.queue, c.queue[n:])
	clear(c.queue[left:])
	c.queue = c.queue[:left]
	c.queued -= size - n
	return batch{frame: buf}
}

// idle ends the writer if nothing came meanwhile; c.mu is taken.
func (c *client) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) > 0 || c.opening != nil || c.reason != "" {
		return false
	}
	c.writing = false
	return true
}

// write is the writer goroutine: it sends what is queued, no more often
// than the hub's WriteInterval, and ends once nothing came for a while.
func (c *client) write() {
	o := &c.hub.opts
	linger := time.NewTimer(o.WriterLinger)
	defer linger.Stop()
	for {
		c.pace(o.WriteInterval)
		b := c.take(o.MaxFrame)
		switch {
		case b.reason != "":
			c.closeWith(b.reason)
			return
		case b.opening != nil:
			if !c.sendOpening(b.opening) {
				return
			}
			continue
		case b.frame != nil:
			ok := c.send(*b.frame)
			if cap(*b.frame) <= maxPooledFrame {
				framePool.Put(b.frame)
			}
			if !ok {
				return
			}
			continue
		}
		linger.Reset(o.WriterLinger)
		select {
		case <-c.wake:
			continue
		case <-linger.C:
		}
		if c.idle() {
			return
		}
	}
}

// pace waits until interval has passed since the last write, so that a
// busy feed sends what piled up meanwhile in one frame: fewer writes,
// fewer system calls, for a delay no longer than interval. A quiet feed
// writes at once.
func (c *client) pace(interval time.Duration) {
	if interval <= 0 {
		return
	}
	c.mu.Lock()
	wait := time.Until(c.lastWrite.Add(interval))
	c.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
}

// send writes data as one websocket message; false means the connection
// failed and is closed.
func (c *client) send(data []byte) bool {
	return c.sendWith(func(ctx context.Context) error {
		return c.conn.Write(ctx, websocket.MessageText, data)
	})
}

// sendOpening writes o as one websocket message, in fragments of at most
// openingChunk bytes copied through a pooled buffer: each goes out before
// the buffer takes the next, so a snapshot of the whole view costs a
// console a small buffer, not a copy of the view.
func (c *client) sendOpening(o *opening) bool {
	return c.sendWith(func(ctx context.Context) error {
		w, err := c.conn.Writer(ctx, websocket.MessageText)
		if err != nil {
			return err
		}
		buf := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(buf)
		cur := &cursor{o: o}
		for n := cur.fill(*buf); n > 0; n = cur.fill(*buf) {
			if _, err := w.Write((*buf)[:n]); err != nil {
				w.Close()
				return err
			}
			if c.gather != nil {
				// The fragment went out by reference to buf: send it
				// before buf is filled again.
				if err := c.gather.flush(c.hub.opts.WriteTimeout); err != nil {
					w.Close()
					return err
				}
			}
		}
		return w.Close()
	})
}

// openingChunk is the size of the fragments an opening is written in, and
// of the buffer each console writing one holds meanwhile: small, because a
// storm of consoles reconnecting after a restart all take a snapshot at
// once (a thousand of them hold 64 MiB, not the view a thousand times). A
// fragment is one system call; 36 MB is some 550 of them.
const openingChunk = 64 << 10

// chunkPool holds the buffers openings are written through.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, openingChunk); return &b }}

// sendWith writes one websocket message with write; false means the
// connection failed and is closed. A write that makes no progress for the
// write timeout fails: a large snapshot to a slow console may take longer
// as a whole, as long as it keeps moving.
func (c *client) sendWith(write func(ctx context.Context) error) bool {
	timeout := c.hub.opts.WriteTimeout
	ctx := context.Background()
	if c.gather != nil {
		c.gather.begin()
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := write(ctx)
	if c.gather != nil {
		if gerr := c.gather.end(timeout); err == nil {
			err = gerr
		}
	}
	c.mu.Lock()
	c.lastWrite = time.Now()
	c.mu.Unlock()
	if err != nil {
		c.hub.opts.Logger.Debug("feed: a write to a console failed; closing it", "err", err)
		c.fail()
		return false
	}
	return true
}

// closeWith ends the connection with the close handshake and reason.
func (c *client) closeWith(reason string) {
	if c.raw != nil {
		c.raw.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
	}
	c.conn.Close(closeCode(reason), reason)
	c.fail()
}

// fail marks the connection ended and closes it; the reader sees it and
// unsubscribes the client.
func (c *client) fail() {
	c.mu.Lock()
	c.gone, c.writing = true, false
	c.queue, c.queued, c.opening = nil, 0, nil
	c.mu.Unlock()
	c.conn.CloseNow()
}

// pinger keeps an idle connection honest: every PingInterval it pings, on
// a timer's own goroutine, and closes the connection when no pong comes
// within the write timeout.
func (c *client) pinger() {
	o := &c.hub.opts
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ping = time.AfterFunc(o.PingInterval, func() {
		ctx, cancel := context.WithTimeout(context.Background(), o.WriteTimeout)
		err := c.conn.Ping(ctx)
		cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gone {
			return
		}
		if err != nil {
			c.hub.opts.Logger.Debug("feed: a console did not answer a ping; closing it", "err", err)
			go c.conn.CloseNow()
			return
		}
		c.ping.Reset(o.PingInterval)
	})
}

// stopPing stops the ping timer.
func (c *client) stopPing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone = true
	if c.ping != nil {
		c.ping.Stop()
	}
}

// Authorizer decides whether a request may open the feed, and names the
// session it belongs to so that logging out closes it. A non-nil error is
// answered with status (401 or 403) before the upgrade.
type Authorizer func(r *http.Request) (session string, status int, err error)

// Handler returns the websocket handler for /api/feed. authorize may be nil
// (no sessions: the demo without identity, and tests); then the websocket
// library's own same-origin check applies.
//
// The handler returns once the feed is set up: the connection is then
// served by the client's reader goroutine (and a writer while there is
// something to write), not by the request's goroutine, whose stack grew
// through every middleware on the way in.
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
		hw := &hijackWriter{ResponseWriter: w}
		conn, err := websocket.Accept(hw, r, opts)
		if err != nil {
			h.leave(session)
			return // Accept has answered
		}
		c := newClient(h, session)
		c.redactable = h.opts.Redacted != nil && h.opts.Redacted(r)
		c.conn, c.raw, c.gather = conn, hw.conn, hw.gather
		if h.opts.Arrive != nil {
			c.arrive = func() func() { return h.opts.Arrive(r, session) }
		}
		go h.serve(conn, c, since, resume)
	})
}

// hijackWriter keeps the connection the websocket library hijacks, so the
// feed can bound its writes with the connection's deadline rather than a
// context per write, and gives the library small buffers: a feed only ever
// reads control frames, and its writes go through a gatherWriter.
type hijackWriter struct {
	http.ResponseWriter
	conn   net.Conn
	gather *gatherWriter
}

// Buffer sizes of a feed connection. Control frames are at most 131 bytes,
// so each fits its buffer whole; data frames pass through the write
// buffer to the gatherWriter without being copied.
const (
	readBuffer  = 512
	writeBuffer = 256
)

// Hijack implements http.Hijacker.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = conn
	w.gather = &gatherWriter{conn: conn}
	r := brw.Reader
	if n := r.Buffered(); n <= readBuffer {
		// What the client sent after its handshake stays first in line.
		head, _ := r.Peek(n)
		var src io.Reader = conn
		if n > 0 {
			src = io.MultiReader(bytes.NewReader(bytes.Clone(head)), conn)
		}
		r = bufio.NewReaderSize(src, readBuffer)
	}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(w.gather, writeBuffer)), nil
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// gatherWriter is what the websocket library's write buffer flushes to.
// Outside a gathered write it passes every write straight to the
// connection. Inside one (between begin and end, around the feed's own
// message writes), it keeps the pieces, the message's payload by
// reference, and sends them all at the end with one vectored write: a frame
// is one system call whatever its size, and is never copied into a buffer.
type gatherWriter struct {
	conn net.Conn

	mu      sync.Mutex
	holding bool
	pieces  net.Buffers
	arena   []byte // copies of the small pieces (headers, control frames)
}

// largePiece is the size from which a piece is kept by reference: only the
// feed's own payloads are that large, and they stay unchanged until end.
// Anything smaller may be a buffer the library reuses, so it is copied.
const largePiece = 1024

// Write implements io.Writer.
func (g *gatherWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.holding {
		return g.conn.Write(p)
	}
	if len(p) >= largePiece {
		g.pieces = append(g.pieces, p)
		return len(p), nil
	}
	if cap(g.arena)-len(g.arena) < len(p) {
		g.arena = make([]byte, 0, max(512, len(p))) // earlier pieces keep the old array
	}
	start := len(g.arena)
	g.arena = append(g.arena, p...)
	g.pieces = append(g.pieces, g.arena[start:len(g.arena):len(g.arena)])
	return len(p), nil
}

// begin starts gathering.
func (g *gatherWriter) begin() {
	g.mu.Lock()
	g.holding = true
	g.mu.Unlock()
}

// gatherChunk is the most one vectored write sends: each chunk has the
// write timeout to itself.
const gatherChunk = 1 << 20

// end sends what was gathered and stops gathering. Each chunk of at most
// gatherChunk bytes must go within timeout (none when 0).
func (g *gatherWriter) end(timeout time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holding = false
	err := g.sendLocked(timeout)
	if cap(g.pieces) > 64 {
		g.pieces = nil
	}
	return err
}

// flush sends what was gathered so far and goes on gathering: the pieces
// kept by reference may be reused once it returns.
func (g *gatherWriter) flush(timeout time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sendLocked(timeout)
}

// sendLocked writes the pieces gathered, a chunk at a time, and forgets
// them; g.mu is held.
func (g *gatherWriter) sendLocked(timeout time.Duration) error {
	pieces := g.pieces
	var err error
	for len(pieces) > 0 && err == nil {
		var chunk net.Buffers
		chunk, pieces = nextChunk(pieces, gatherChunk)
		if timeout > 0 {
			g.conn.SetWriteDeadline(time.Now().Add(timeout))
		}
		_, err = chunk.WriteTo(g.conn)
	}
	if timeout > 0 {
		g.conn.SetWriteDeadline(time.Time{})
	}
	clear(g.pieces)
	g.pieces, g.arena = g.pieces[:0], g.arena[:0]
	return err
}

// nextChunk splits off the first size bytes of pieces (at least one
// piece's worth, cutting a piece larger than size).
func nextChunk(pieces net.Buffers, size int) (chunk, rest net.Buffers) {
	n := 0
	for len(pieces) > 0 {
		p := pieces[0]
		switch {
		case len(p) > size-n && n == 0:
			return append(chunk, p[:size]), append(net.Buffers{p[size:]}, pieces[1:]...)
		case len(p) > size-n:
			return chunk, pieces
		}
		chunk, n, pieces = append(chunk, p), n+len(p), pieces[1:]
	}
	return chunk, nil
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

// serve is the client's reader goroutine: it subscribes the client, then
// reads the connection (pings, pongs, the close handshake) until it ends.
// The feed is one-way: a data message from the client ends it.
func (h *Hub) serve(conn *websocket.Conn, c *client, since uint64, resume bool) {
	defer h.leave(c.session)
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if reason := h.subscribe(ctx, c, since, resume); reason != "" {
		if c.raw != nil {
			c.raw.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		}
		conn.Close(closeCode(reason), reason)
		return
	}
	defer h.unsubscribe(c)
	if c.arrive != nil {
		defer c.arrive()()
	}
	c.pinger()
	defer c.stopPing()
	_, _, err := conn.Reader(ctx)
	if err == nil {
		c.stopPing()
		conn.Close(websocket.StatusPolicyViolation, "a feed takes no messages from the console")
		return
	}
	h.opts.Logger.Debug("feed: a console's connection ended", "err", err)
}

// closeCode is the websocket status that goes with a close reason: "going
// away" for a shutdown (reconnect elsewhere), "policy violation" otherwise.
func closeCode(reason string) websocket.StatusCode {
	if reason == feedwire.ReasonShutdown {
		return websocket.StatusGoingAway
	}
	return websocket.StatusPolicyViolation
}
