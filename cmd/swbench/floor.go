package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/app/feedwire"
)

// The bare fan-out floor is what the hardware allows a relay with no
// persistence: the bench runs it as a process of its own (swbench floor
// --addr host:port) in place of the server, with the same workloads, so
// that every figure of the server has a figure of the floor beside it,
// taken in the same run on the same machine.
//
// The floor is the relay a developer would write with the same websocket
// library and nothing else: it decodes each notification just enough to
// name the call, gives it the next sequence number, keeps the call's last
// notification in memory (so a console connecting later gets a snapshot)
// and hands the encoded message to every connected console. Each console
// has a queue that grows on demand up to a bound and a writer goroutine
// that sends whatever is queued as one frame, with a write timeout; a
// second goroutine per console reads control frames (the library's
// CloseRead). There is no event log, no reducer, no saved state, no
// sign-in and no resume: a console that falls a whole queue behind is
// cut off and what it missed is lost.
//
// It speaks the feed's wire format (feedwire): call messages carry
// {"id":…,"resource":<the notification's resourceData>}, so the bench's
// clients read both the same way.

// floorOptions tune the floor.
type floorOptions struct {
	Addr string
	// QueueLimit is how many messages a console may have waiting before it
	// is cut off (the server's default).
	QueueLimit int
	// MaxFrame bounds the bytes batched into one frame (the server's default).
	MaxFrame     int
	WriteTimeout time.Duration
	PingInterval time.Duration
}

// runFloorCommand is `swbench floor`: it serves the floor until ctx ends.
func runFloorCommand(ctx context.Context, args []string, stderr io.Writer) error {
	o := floorOptions{QueueLimit: 8192, MaxFrame: 256 << 10, WriteTimeout: 10 * time.Second, PingInterval: 30 * time.Second}
	fs := flag.NewFlagSet("swbench floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := listenLoopback(o.Addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f := newFloor(o, log)
	return f.serve(ctx, ln)
}

// listenLoopback listens on addr, which must be a loopback address: the
// floor has no authentication.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("floor: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("floor: %q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	return ln, nil
}

// floor is the relay.
type floor struct {
	opts floorOptions
	log  *slog.Logger
	reg  *prometheus.Registry

	clientsGauge prometheus.Gauge
	liveGauge    prometheus.Gauge
	dropped      prometheus.Counter

	mu      sync.Mutex
	seq     uint64
	calls   map[string][]byte // a call's id → its call object as last sent
	clients map[*floorClient]struct{}
	closed  bool
	// snap is the last snapshot frame, reused until seq moves.
	snap    []byte
	snapSeq uint64
}

func newFloor(o floorOptions, log *slog.Logger) *floor {
	f := &floor{opts: o, log: log, reg: prometheus.NewRegistry(), calls: make(map[string][]byte), clients: make(map[*floorClient]struct{})}
	f.clientsGauge = prometheus.NewGauge(prometheus.GaugeOpts{Name: metricFeedClients, Help: "Feed clients connected."})
	f.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: metricSlowDrops, Help: "Feed clients cut off as too slow."})
	f.liveGauge = prometheus.NewGauge(prometheus.GaugeOpts{Name: metricLiveCalls, Help: "Calls held (the floor never ends one)."})
	f.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), f.clientsGauge, f.liveGauge, f.dropped)
	return f
}

// handler routes the floor's endpoints: the webhook, the feed, /metrics
// and /readyz.
func (f *floor) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+webhookPath, f.notification)
	mux.HandleFunc("GET /api/feed", f.feed)
	mux.Handle("GET /metrics", promhttp.HandlerFor(f.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ready\n") })
	return mux
}

// serve serves on ln until ctx ends, then cuts every console off.
func (f *floor) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: f.handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("floor: %w", err)
	case <-ctx.Done():
	}
	f.mu.Lock()
	f.closed = true
	for c := range f.clients {
		f.dropLocked(c, feedwire.ReasonShutdown)
	}
	f.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
	}
	return nil
}

// notification takes a commsNotifications body: each item becomes the
// next message of its call.
func (f *floor) notification(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var env struct {
		Value []struct {
			ResourceURL  string          `json:"resourceUrl"`
			ResourceData json.RawMessage `json:"resourceData"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		http.Error(w, "decode the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, item := range env.Value {
		id := path.Base(item.ResourceURL)
		if id == "" || id == "." || id == "/" || len(item.ResourceData) == 0 {
			http.Error(w, "a notification names no call", http.StatusBadRequest)
			return
		}
		quoted, _ := json.Marshal(id)
		call := make([]byte, 0, len(quoted)+len(item.ResourceData)+20)
		call = append(call, `{"id":`...)
		call = append(call, quoted...)
		call = append(call, `,"resource":`...)
		call = append(call, item.ResourceData...)
		call = append(call, '}')
		f.publish(id, call)
	}
	w.WriteHeader(http.StatusAccepted)
}

// publish gives the call's new state the next sequence and queues it for
// every console.
func (f *floor) publish(id string, call []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.calls[id] = call
	f.liveGauge.Set(float64(len(f.calls)))
	msg := make([]byte, 0, len(call)+40)
	msg = append(msg, `{"type":"call","seq":`...)
	msg = strconv.AppendUint(msg, f.seq, 10)
	msg = append(msg, `,"call":`...)
	msg = append(msg, call...)
	msg = append(msg, '}')
	for c := range f.clients {
		if !c.push(msg) {
			f.dropLocked(c, feedwire.ReasonSlow)
			f.dropped.Inc()
		}
	}
}

// snapshotLocked is the snapshot frame at the current sequence; f.mu is held.
func (f *floor) snapshotLocked() []byte {
	if f.snap != nil && f.snapSeq == f.seq {
		return f.snap
	}
	var b bytes.Buffer
	b.WriteString(`{"type":"snapshot","seq":`)
	b.WriteString(strconv.FormatUint(f.seq, 10))
	b.WriteString(`,"calls":[`)
	first := true
	for _, call := range f.calls {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.Write(call)
	}
	b.WriteString("]}")
	f.snap, f.snapSeq = b.Bytes(), f.seq
	return f.snap
}

func (f *floor) dropLocked(c *floorClient, reason string) {
	delete(f.clients, c)
	f.clientsGauge.Dec()
	c.close(reason)
}

// feed serves one console: the snapshot, then every message.
func (f *floor) feed(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	c := &floorClient{limit: f.opts.QueueLimit, wake: make(chan struct{}, 1)}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, feedwire.ReasonShutdown)
		return
	}
	c.push(f.snapshotLocked())
	f.clients[c] = struct{}{}
	f.clientsGauge.Inc()
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if _, ok := f.clients[c]; ok {
			delete(f.clients, c)
			f.clientsGauge.Dec()
		}
		f.mu.Unlock()
	}()
	f.write(ctx, conn, c)
}

// write sends what c has queued until the console leaves or is cut off.
func (f *floor) write(ctx context.Context, conn *websocket.Conn, c *floorClient) {
	ping := time.NewTicker(f.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, f.opts.WriteTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-c.wake:
			for {
				frame, reason := c.take(f.opts.MaxFrame)
				if reason != "" {
					conn.Close(websocket.StatusPolicyViolation, reason)
					return
				}
				if frame == nil {
					break
				}
				wctx, cancel := context.WithTimeout(ctx, f.opts.WriteTimeout)
				err := conn.Write(wctx, websocket.MessageText, frame)
				cancel()
				if err != nil {
					return
				}
			}
		}
	}
}

// floorClient is one console's queue.
type floorClient struct {
	limit int
	mu    sync.Mutex
	queue [][]byte
	why   string // set when the floor cut the console off
	wake  chan struct{}
}

func (c *floorClient) push(msg []byte) bool {
	c.mu.Lock()
	if len(c.queue) >= c.limit {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, msg)
	c.mu.Unlock()
	c.signal()
	return true
}

func (c *floorClient) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *floorClient) close(reason string) {
	c.mu.Lock()
	c.why = reason
	c.mu.Unlock()
	c.signal()
}

// take joins what is queued, up to maxBytes, into one frame, one message
// per line.
func (c *floorClient) take(maxBytes int) (frame []byte, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why != "" {
		return nil, c.why
	}
	if len(c.queue) == 0 {
		if cap(c.queue) > 64 {
			c.queue = nil // give a burst's memory back
		}
		return nil, ""
	}
	n, size := 0, 0
	for n < len(c.queue) && (n == 0 || size+len(c.queue[n]) < maxBytes) {
		size += len(c.queue[n]) + 1
		n++
	}
	frame = bytes.Join(c.queue[:n], []byte{'\n'})
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	return frame, ""
}
