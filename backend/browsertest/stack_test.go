package browsertest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

// stack is one Switchboard replica on a fixed loopback address, a Graph
// simulator, and a relay between them. The replica can be stopped and
// started again on the same address and data directory, as a restarted
// process would be, while a page stays open.
type stack struct {
	tb      testing.TB
	addr    string // 127.0.0.1:PORT, the same across restarts
	url     string // http://127.0.0.1:PORT, the console's origin
	dataDir string
	webDir  string
	sim     *graphsim.Sim
	relay   *relay
	replica *replica
}

// replica is one run of the server.
type replica struct {
	srv  *server.Server
	stop context.CancelFunc
	done chan struct{}
}

// stackOptions tune a stack.
type stackOptions struct {
	// webDir overrides the web directory (default: the one TestMain built).
	webDir string
}

// startStack starts a simulator, a relay and a replica; they stop when the
// test ends.
func startStack(tb testing.TB, o stackOptions) *stack {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &stack{tb: tb, addr: ln.Addr().String(), dataDir: tb.TempDir(), webDir: o.webDir}
	s.url = "http://" + s.addr
	if s.webDir == "" {
		s.webDir = webDir
	}
	s.relay = &relay{target: s.url + "/api/graph/notifications"}
	relaySrv := serve(tb, s.relay)
	// Incoming calls wait two minutes, not Graph's 15 s, so a slow test
	// machine cannot end a call under a test that is about to act on it.
	sim, err := graphsim.New(graphsim.Config{CallbackURL: relaySrv, Seed: 7, TenantID: "tenant-1", ClientID: "client-1",
		ClientSecret: "secret-1", AppID: "client-1", PlainWire: true, IncomingTimeout: 2 * time.Minute, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	s.sim = sim
	simURL := serve(tb, sim.Handler())
	if err := sim.SetPublicURL(simURL); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sim.Close() })
	s.startReplica(ln)
	tb.Cleanup(s.stop)
	return s
}

// serve serves h on a loopback port until the test ends and returns its URL.
func serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startReplica runs a server on ln and waits until it is ready.
func (s *stack) startReplica(ln net.Listener) {
	s.tb.Helper()
	cfg := server.Config{PublicURL: s.url, DataDir: s.dataDir, GraphURL: s.sim.GraphURL(), TokenURL: s.sim.TokenURL(),
		TenantID: "tenant-1", ClientID: "client-1", ClientSecret: "secret-1", UpkeepTick: time.Hour,
		DevIdentity: true, NotifyJWKSURL: s.sim.JWKSURL(), WebDir: s.webDir, Logger: quietLogger()}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		ln.Close()
		s.tb.Fatalf("start the server: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		cancel()
		ln.Close()
		srv.Close()
		s.tb.Fatalf("start the server: %v", err)
	}
	r := &replica{srv: srv, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		srv.Serve(ctx, ln)
	}()
	s.replica = r
	s.waitReady()
}

// stop stops the replica the way SIGTERM does: feeds are told to
// reconnect, requests finish, NATS closes.
func (s *stack) stop() {
	r := s.replica
	if r == nil {
		return
	}
	r.stop()
	<-r.done
	r.srv.Close()
	s.replica = nil
}

// restart starts a new replica on the same address and data directory.
func (s *stack) restart() {
	s.tb.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old listener's port is free once Serve returned; allow a moment
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.tb.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.startReplica(ln)
}

// srv is the running server.
func (s *stack) srv() *server.Server {
	s.tb.Helper()
	if s.replica == nil {
		s.tb.Fatal("the server is stopped")
	}
	return s.replica.srv
}

// waitReady waits for /readyz: the view caught up and sign-in discovered.
func (s *stack) waitReady() {
	s.tb.Helper()
	for range 400 {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tb.Fatal("the server did not become ready in 20s")
}

// post sends a commsNotifications body to the webhook, signed as the
// simulator signs Graph's; anything but 202 Accepted is an error.
func (s *stack) post(ctx context.Context, client *http.Client, body []byte) error {
	token, err := s.sim.NotificationToken()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/api/graph/notifications", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return &postError{status: resp.StatusCode, body: strings.TrimSpace(string(msg))}
	}
	return nil
}

type postError struct {
	status int
	body   string
}

func (e *postError) Error() string {
	return "the webhook answered " + http.StatusText(e.status) + ": " + e.body
}

// actions is the simulator's log of Graph requests that act on calls
// (everything but GET), from index from on.
func (s *stack) actions(from int) []graphsim.Request {
	all := s.sim.Requests()
	var out []graphsim.Request
	for _, r := range all[min(from, len(all)):] {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

// waitAction waits until the simulator received an action on call id whose
// path ends with suffix ("/reject", "/answer"; "" for DELETE), and returns it.
func (s *stack) waitAction(method, id, suffix string) graphsim.Request {
	s.tb.Helper()
	for range 400 {
		for _, r := range s.sim.Requests() {
			if r.Method == method && r.CallID == id && strings.HasSuffix(r.Path, id+suffix) {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tb.Fatalf("the simulator never received %s …/%s%s within 20s; it received %s", method, id, suffix, describe(s.actions(0)))
	return graphsim.Request{}
}

// relay forwards the simulator's notifications to the webhook, as the
// network between Graph and Switchboard does. A test can hold back the
// notifications it names until it releases them, to see the console in a
// state that would otherwise last only milliseconds.
type relay struct {
	target string

	mu    sync.Mutex
	match func(body []byte) bool
	gate  chan struct{}
}

// holdWhere holds every notification body that match accepts until release
// is called.
func (r *relay) holdWhere(match func(body []byte) bool) (release func()) {
	gate := make(chan struct{})
	r.mu.Lock()
	r.match, r.gate = match, gate
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			r.match, r.gate = nil, nil
			r.mu.Unlock()
			close(gate)
		})
	}
}

func (r *relay) gateFor(body []byte) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.match != nil && r.match(body) {
		return r.gate
	}
	return nil
}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 2<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if gate := r.gateFor(body); gate != nil {
		select {
		case <-gate:
		case <-req.Context().Done():
			return
		}
	}
	out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, r.target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out.Header.Set("Content-Type", req.Header.Get("Content-Type"))
	out.Header.Set("Authorization", req.Header.Get("Authorization"))
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		// The server is down (a restart): 502 makes the simulator retry.
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
}
