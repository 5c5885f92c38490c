package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/backend/eventlog"
	"switchboard/backend/natstest"
	"switchboard/backend/server"
)

// rig is what an operator runs: a 3-node JetStream cluster, two replicas
// with streams at R3, a load balancer in front of them, Graph posting to
// both, and consoles behind the balancer resuming with since.
type rig struct {
	t        *testing.T
	cluster  *natstest.Cluster
	lb       *balancer
	replicas [2]*harness
	addrs    [2]string
	sender   *sender
	consoles []*testConsole
}

func newRig(t *testing.T, consoles int) *rig {
	t.Helper()
	return newRigOn(t, natstest.StartCluster(t, 3), consoles)
}

func newRigOn(t *testing.T, cluster *natstest.Cluster, consoles int) *rig {
	t.Helper()
	r := &rig{t: t, cluster: cluster, lb: newBalancer(t)}
	for i := range r.replicas {
		r.startReplica(i, false)
		r.addrs[i] = strings.TrimPrefix(r.replicas[i].url, "http://")
		r.lb.set(i, r.replicas[i].url)
	}
	r.sender = newSender(t, r)
	for range consoles {
		r.consoles = append(r.consoles, newTestConsole(t, r.lb.url, r.replicas[0].client))
	}
	return r
}

// startReplica starts replica i (again, on its address once it has one).
func (r *rig) startReplica(i int, noWait bool) *harness {
	r.t.Helper()
	h := start(r.t, options{addr: r.addrs[i], natsURL: r.cluster.URL(), noWait: noWait, tweakCfg: func(c *server.Config) {
		c.Replicas = 3
		c.AllowedOrigins = []string{r.lb.url}
		c.StartupCheckRate = -1 // Graph (the simulator) knows none of the calls posted here
	}})
	r.replicas[i] = h
	return h
}

// settle stops the traffic, waits until both replicas and every console
// hold the whole log, and checks everything an operator must be able to
// count on: nothing accepted lost or stored twice, both replicas and every
// console showing the same calls, both replicas ready.
func (r *rig) settle() {
	r.t.Helper()
	began := time.Now()
	defer func() { r.t.Logf("settling took %s", time.Since(began).Round(time.Millisecond)) }()
	r.sender.stop()
	js := natstest.ConnectURL(r.t, r.cluster.URL())
	last := r.lastSeq(js)
	for i, h := range r.replicas {
		waitUntil(r.t, 30*time.Second, fmt.Sprintf("replica %d reaches seq %d", i, last), func() bool {
			return h.srv.View() != nil && h.srv.View().Seq() >= last
		})
		waitUntil(r.t, 30*time.Second, fmt.Sprintf("replica %d ready", i), func() bool { ok, _ := h.srv.Ready(); return ok })
	}
	r.checkStoredOnce(js)
	want := viewOf(r.replicas[0].srv.View().Calls())
	if got := viewOf(r.replicas[1].srv.View().Calls()); !equalViews(got, want) {
		r.t.Fatalf("the replicas disagree: %d and %d calls", len(want), len(got))
	}
	for i, c := range r.consoles {
		waitUntil(r.t, 30*time.Second, fmt.Sprintf("console %d reaches seq %d", i, last), func() bool { return c.seq() >= last })
		if got := c.view(); !equalViews(got, want) {
			r.t.Fatalf("console %d shows %d calls, the replicas %d", i, len(got), len(want))
		}
	}
	r.t.Logf("settled at seq %d: %d notifications accepted, %d refusals, %d calls", last, r.sender.accepted.Load(), r.sender.refused.Load(), len(want))
}

// lastSeq asks the cluster for the stream's last sequence, waiting for
// the stream to have a leader (after a restart of the whole cluster).
func (r *rig) lastSeq(js jetstream.JetStream) uint64 {
	r.t.Helper()
	var err error
	for range 30 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var s jetstream.Stream
		if s, err = js.Stream(ctx, eventlog.StreamName); err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(ctx); err == nil {
				cancel()
				return info.State.LastSeq
			}
		}
		cancel()
		time.Sleep(500 * time.Millisecond)
	}
	r.t.Fatalf("the stream's last sequence: %v", err)
	return 0
}

// checkStoredOnce reads the whole stream, message by message from its
// leader, and checks that every accepted notification is in it exactly
// once, and no notification twice.
func (r *rig) checkStoredOnce(js jetstream.JetStream) {
	r.t.Helper()
	last := r.lastSeq(js)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, eventlog.StreamName)
	if err != nil {
		r.t.Fatal(err)
	}
	stored := map[string]int{}
	for seq := uint64(1); seq <= last; seq++ {
		msg, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			r.t.Fatalf("read message %d of %d: %v", seq, last, err)
		}
		var ev calls.Event
		if json.Unmarshal(msg.Data, &ev) == nil && ev.Kind == calls.KindNotification && ev.Change != nil {
			stored[ev.CallID+"/"+string(ev.Change.State)]++
		}
	}
	for key, n := range stored {
		if n > 1 {
			r.t.Errorf("notification %s stored %d times", key, n)
		}
	}
	for _, key := range r.sender.acceptedKeys() {
		if stored[key] != 1 {
			r.t.Errorf("accepted notification %s stored %d times", key, stored[key])
		}
	}
	if r.t.Failed() {
		r.t.FailNow()
	}
}

// callView is what a console shows of a call, for comparisons.
type callView struct {
	Seq   uint64
	State calls.State
}

func viewOf(list []calls.Call) map[string]callView {
	out := make(map[string]callView, len(list))
	for _, c := range list {
		out[c.ID] = callView{c.Seq, c.State}
	}
	return out
}

func equalViews(a, b map[string]callView) bool {
	if len(a) != len(b) {
		return false
	}
	for id, v := range a {
		if b[id] != v {
			return false
		}
	}
	return true
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", timeout, what)
}

// sender is Graph: it posts each call's notifications in order, to the
// replicas in turn, and retries a refused one (on the other replica, as a
// load balancer would) until it is accepted.
type sender struct {
	t        *testing.T
	r        *rig
	cancel   context.CancelFunc
	done     chan struct{}
	accepted atomic.Int64
	refused  atomic.Int64
	mu       sync.Mutex
	keys     []string // callID/state of every accepted notification
}

// steps are the notifications of each call, in order.
var steps = []struct {
	change string
	data   func(id string) string
	state  calls.State
}{
	{"created", func(string) string { return incomingData }, calls.Incoming},
	{"updated", func(string) string { return state("established") }, calls.Established},
	{"deleted", func(string) string { return endedData }, calls.Terminated},
}

func newSender(t *testing.T, r *rig) *sender {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{t: t, r: r, cancel: cancel, done: make(chan struct{})}
	go s.run(ctx)
	t.Cleanup(s.stop)
	return s
}

func (s *sender) run(ctx context.Context) {
	defer close(s.done)
	prefix := fmt.Sprintf("%08x", rand.Uint32())
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("cl-%s-%06d", prefix, i/len(steps))
		step := steps[i%len(steps)]
		body := notification(id, step.change, step.data(id))
		if !s.deliver(ctx, i, body) {
			return
		}
		s.mu.Lock()
		s.keys = append(s.keys, id+"/"+string(step.state))
		s.mu.Unlock()
		s.accepted.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// deliver posts body until a replica accepts it; false when ctx ended
// first (the notification may or may not be stored: it is not counted).
func (s *sender) deliver(ctx context.Context, i int, body string) bool {
	for try := 0; try < 3000; try++ {
		h := s.r.replicas[(i+try)%2]
		if code := postQuietly(ctx, h, body); code == http.StatusAccepted {
			return true
		}
		s.refused.Add(1)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.t.Errorf("a notification was refused for 150s")
	return false
}

// postQuietly posts a signed notification; transport errors (a replica
// down) count as refusals.
func postQuietly(ctx context.Context, h *harness, body string) int {
	token, err := h.sim.NotificationToken()
	if err != nil {
		return 0
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "POST", h.url+"/api/graph/notifications", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (s *sender) stop() {
	s.cancel()
	<-s.done
}

func (s *sender) acceptedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}

// balancer is a load balancer in front of the replicas: each request goes
// to one of them at random, websockets included.
type balancer struct {
	url      string
	mu       sync.Mutex
	backends map[int]*url.URL
}

func newBalancer(t *testing.T) *balancer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{url: "http://" + ln.Addr().String(), backends: map[int]*url.URL{}}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(b.pick())
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *balancer) set(i int, backend string) {
	u, _ := url.Parse(backend)
	b.mu.Lock()
	b.backends[i] = u
	b.mu.Unlock()
}

func (b *balancer) pick() *url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.backends[rand.IntN(len(b.backends))]
}

// testConsole is the console's own feed client and store (package console,
// as the WebAssembly console runs them), reconnecting through the balancer.
type testConsole struct {
	inbox  *console.Inbox
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	store  *console.Store
	states []console.State
}

func newTestConsole(t *testing.T, lbURL string, signedIn *http.Client) *testConsole {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	lb, _ := url.Parse(lbURL)
	jar.SetCookies(lb, signedIn.Jar.Cookies(lb)) // a session is good on every replica
	c := &testConsole{inbox: console.NewInbox(nil), store: console.NewStore(console.Options{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	f := &console.Feed{URL: "ws" + strings.TrimPrefix(lbURL, "http") + "/api/feed", Inbox: c.inbox,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		DialOptions: &websocket.DialOptions{HTTPClient: &http.Client{Jar: jar}, HTTPHeader: http.Header{"Origin": {lbURL}}},
		OnStatus: func(s console.Status) {
			c.mu.Lock()
			c.states = append(c.states, s.State)
			c.mu.Unlock()
		}}
	go func() {
		defer close(c.done)
		f.Run(ctx)
	}()
	go c.apply(ctx)
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

// apply renders: it takes what the inbox gathered into the store.
func (c *testConsole) apply(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.inbox.Ready():
			c.mu.Lock()
			c.store.ApplyBatch(c.inbox.Take())
			c.mu.Unlock()
		}
	}
}

func (c *testConsole) seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.store.Seq()
}

func (c *testConsole) view() map[string]callView {
	c.mu.Lock()
	defer c.mu.Unlock()
	live, _ := c.store.View(console.Filter{}, 0, -1)
	ended, _ := c.store.View(console.Filter{Ended: true}, 0, -1)
	return viewOf(append(live, ended...))
}

func (c *testConsole) saw(s console.State) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.states {
		if x == s {
			return true
		}
	}
	return false
}

// readyzWatch polls a replica's /readyz and remembers whether it ever
// answered something else than 200.
type readyzWatch struct {
	notReady atomic.Int64
	cancel   context.CancelFunc
}

func watchReadyz(t *testing.T, h *harness) *readyzWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &readyzWatch{cancel: cancel}
	go func() {
		for ctx.Err() == nil {
			rctx, c := context.WithTimeout(ctx, time.Second)
			req, _ := http.NewRequestWithContext(rctx, "GET", h.url+"/readyz", nil)
			resp, err := http.DefaultClient.Do(req)
			c()
			if err == nil {
				if resp.StatusCode != http.StatusOK {
					w.notReady.Add(1)
				}
				resp.Body.Close()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(cancel)
	return w
}

// TestClusterReplicasShareTheWorkWithoutConflicts runs two replicas on a
// 3-node cluster under steady traffic: neither stops, and everything adds
// up. Before replicas took turns at saving the state, both wrote the same
// keys and the loser of a conflict took its whole process down.
func TestClusterReplicasShareTheWorkWithoutConflicts(t *testing.T) {
	r := newRig(t, 2)
	time.Sleep(4 * time.Second)
	r.settle()
	writers := 0
	for _, h := range r.replicas {
		if h.srv.View().Writer() {
			writers++
		}
	}
	if writers != 1 {
		t.Fatalf("%d replicas save the state, want exactly one", writers)
	}
}

// TestClusterStreamLeaderKilled kills the node leading the event log while
// notifications flow, and brings it back.
func TestClusterStreamLeaderKilled(t *testing.T) {
	r := newRig(t, 2)
	time.Sleep(time.Second)
	leader := r.cluster.StreamLeader(eventlog.StreamName, 10*time.Second)
	t.Logf("killing %s, the stream's leader", r.cluster.Name(leader))
	r.cluster.Stop(leader)
	time.Sleep(3 * time.Second)
	r.cluster.Start(leader)
	time.Sleep(2 * time.Second)
	r.settle()
}

// TestClusterStreamLeaderFrozen stops the process of the node leading the
// event log with SIGSTOP for a while: its connections stay open and
// silent. Replicas connected to it move to another node, the others elect
// a new leader, and /readyz says "not ready" while notifications cannot be
// stored.
func TestClusterStreamLeaderFrozen(t *testing.T) {
	r := newRigOn(t, natstest.StartProcessCluster(t, 3), 2)
	watches := []*readyzWatch{watchReadyz(t, r.replicas[0]), watchReadyz(t, r.replicas[1])}
	time.Sleep(time.Second)
	leader := r.cluster.StreamLeader(eventlog.StreamName, 10*time.Second)
	t.Logf("freezing %s, the stream's leader", r.cluster.Name(leader))
	refusedBefore := r.sender.refused.Load()
	r.cluster.Freeze(leader)
	time.Sleep(8 * time.Second)
	r.cluster.Thaw(leader)
	time.Sleep(2 * time.Second)
	r.settle()
	if r.sender.refused.Load() > refusedBefore && watches[0].notReady.Load()+watches[1].notReady.Load() == 0 {
		t.Fatal("notifications were refused while both replicas said they were ready")
	}
}

// TestClusterWholeOutage stops every NATS node while replicas and consoles
// run: the replicas stay up, say they are not ready, keep their consoles
// connected and told, and carry on by themselves when NATS is back.
func TestClusterWholeOutage(t *testing.T) {
	r := newRig(t, 2)
	watches := []*readyzWatch{watchReadyz(t, r.replicas[0]), watchReadyz(t, r.replicas[1])}
	time.Sleep(time.Second)
	r.cluster.StopAll()
	waitUntil(t, 10*time.Second, "both replicas not ready", func() bool {
		a, _ := r.replicas[0].srv.Ready()
		b, _ := r.replicas[1].srv.Ready()
		return !a && !b
	})
	for i, c := range r.consoles {
		waitUntil(t, 10*time.Second, fmt.Sprintf("console %d told the server is reconnecting", i), func() bool { return c.saw(console.Stalled) })
	}
	if code := postQuietly(context.Background(), r.replicas[0], notification("during-outage", "created", incomingData)); code != http.StatusServiceUnavailable {
		t.Fatalf("a notification during the outage was answered %d, want 503", code)
	}
	time.Sleep(3 * time.Second)
	began := time.Now()
	r.cluster.StartAll()
	t.Logf("the cluster answers again after %s", time.Since(began).Round(time.Millisecond))
	r.settle()
	t.Logf("settled %s after the restart", time.Since(began).Round(time.Millisecond))
	for i, w := range watches {
		if w.notReady.Load() == 0 {
			t.Errorf("replica %d's /readyz never said it was not ready", i)
		}
	}
}

// TestClusterReplicaStartsBeforeNATS starts a replica while NATS is down:
// it listens, is alive and not ready, and comes up by itself.
func TestClusterReplicaStartsBeforeNATS(t *testing.T) {
	cluster := natstest.StartCluster(t, 3)
	cluster.StopAll()
	h := start(t, options{natsURL: cluster.URL(), noWait: true, tweakCfg: func(c *server.Config) { c.Replicas = 3 }})
	for _, path := range []string{"/healthz", "/readyz", "/api/graph/notifications"} {
		method := "GET"
		if strings.HasPrefix(path, "/api/") {
			method = "POST"
		}
		req, _ := http.NewRequest(method, h.url+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusServiceUnavailable
		if path == "/healthz" {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Fatalf("%s %s before NATS: %d, want %d", method, path, resp.StatusCode, want)
		}
	}
	time.Sleep(time.Second)
	cluster.StartAll()
	h.waitReady()
	h.client = h.login("alice")
	if code := h.post(notification("after-nats", "created", incomingData)); code != http.StatusAccepted {
		t.Fatalf("a notification once NATS is up: %d", code)
	}
}

// TestClusterReplicaKilledWhileConsolesReconnect kills a replica with
// traffic and consoles running; its consoles race back through the
// balancer to it (restarted on its port) and to the other one. No console
// ever goes back to an older view, and the restarted replica serves no
// snapshot before its view is loaded.
func TestClusterReplicaKilledWhileConsolesReconnect(t *testing.T) {
	r := newRig(t, 4)
	// A view with a few hundred calls takes a moment to load.
	bulk(t, r.replicas[1], 300)
	time.Sleep(time.Second)
	js := natstest.ConnectURL(t, r.cluster.URL())
	before := r.lastSeq(js)
	r.replicas[0].crash()
	hammer := hammerSnapshots(t, r.replicas[0], r.addrs[0])
	r.startReplica(0, true)
	r.replicas[0].waitReady()
	r.replicas[0].client = r.replicas[0].login("alice")
	time.Sleep(time.Second)
	hammer.stop()
	if hammer.served.Load() == 0 {
		t.Fatal("the restarted replica served no snapshot to the hammering client")
	}
	if low := hammer.lowest.Load(); low < int64(before) {
		t.Fatalf("the restarted replica served a snapshot at seq %d, older than the log's %d when it went down", low, before)
	}
	r.settle()
}

// bulk posts n incoming calls to h.
func bulk(t *testing.T, h *harness, n int) {
	t.Helper()
	for i := range n {
		if code := h.post(notification(fmt.Sprintf("bulk-%04d", i), "created", incomingData)); code != http.StatusAccepted {
			t.Fatalf("bulk notification %d: %d", i, code)
		}
	}
}

// snapshotHammer opens the feed of a restarting replica as fast as it can
// and records the lowest sequence of the snapshots it is served.
type snapshotHammer struct {
	served atomic.Int64
	lowest atomic.Int64
	cancel context.CancelFunc
	done   chan struct{}
}

func hammerSnapshots(t *testing.T, signedIn *harness, addr string) *snapshotHammer {
	ctx, cancel := context.WithCancel(context.Background())
	hm := &snapshotHammer{cancel: cancel, done: make(chan struct{})}
	hm.lowest.Store(1 << 62)
	client := signedIn.client
	origin := "http://" + addr
	go func() {
		defer close(hm.done)
		for i := 0; i < 100000 && ctx.Err() == nil; i++ {
			hm.once(ctx, client, origin)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t.Cleanup(hm.stop)
	return hm
}

func (hm *snapshotHammer) once(ctx context.Context, client *http.Client, origin string) {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(origin, "http")+"/api/feed",
		&websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20)
	_, data, err := conn.Read(dctx)
	if err != nil {
		return
	}
	var m struct {
		Type string
		Seq  int64
	}
	if json.Unmarshal(firstLine(data), &m) != nil || m.Type != "snapshot" {
		return
	}
	hm.served.Add(1)
	for {
		low := hm.lowest.Load()
		if m.Seq >= low || hm.lowest.CompareAndSwap(low, m.Seq) {
			return
		}
	}
}

func firstLine(b []byte) []byte {
	if i := strings.IndexByte(string(b), '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

func (hm *snapshotHammer) stop() {
	hm.cancel()
	<-hm.done
}
