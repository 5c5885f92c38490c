package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

// harness is one real replica on a loopback port, with a Graph simulator
// on another, both over real HTTP.
type harness struct {
	t      *testing.T
	srv    *server.Server
	url    string
	sim    *graphsim.Sim
	client *http.Client // signed in as alice, a supervisor
	stop   context.CancelFunc
	done   chan struct{}
}

type options struct {
	addr       string // listen here (a replica restarted on its port); default a free port
	noWait     bool   // return before the replica is ready (and without logging in)
	dataDir    string
	natsURL    string
	natsListen string
	simRate    float64
	simCfg     func(*graphsim.Config)
	tweakCfg   func(*server.Config)
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start runs a replica and its simulator until the test ends (or h.close).
func start(t *testing.T, o options) *harness {
	t.Helper()
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := listenRetry(addr)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	simCfg := graphsim.Config{CallbackURL: url + "/api/graph/notifications", Rate: o.simRate, Seed: 7,
		TenantID: "tenant-1", ClientID: "client-1", ClientSecret: "secret-1", AppID: "client-1", PlainWire: true}
	if o.simCfg != nil {
		o.simCfg(&simCfg)
	}
	sim, err := graphsim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	simSrv := &http.Server{Handler: sim.Handler()}
	go simSrv.Serve(simLn)
	if err := sim.SetPublicURL("http://" + simLn.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if o.dataDir == "" && o.natsURL == "" {
		o.dataDir = t.TempDir()
	}
	cfg := server.Config{PublicURL: url, DataDir: o.dataDir, NATSURL: o.natsURL, NATSListen: o.natsListen, GraphURL: sim.GraphURL(), TokenURL: sim.TokenURL(),
		TenantID: "tenant-1", ClientID: "client-1", ClientSecret: "secret-1", UpkeepTick: time.Hour, Logger: quietLogger(),
		DevIdentity: true, NotifyJWKSURL: sim.JWKSURL(), WebDir: "../../web"}
	if o.tweakCfg != nil {
		o.tweakCfg(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, url: url, sim: sim, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		h.close()
		simSrv.Close()
		sim.Close()
	})
	if !o.noWait {
		h.waitReady()
		h.client = h.login("alice")
	}
	return h
}

// listenRetry listens on addr, retrying briefly while a port just freed by
// a stopped replica is still held.
func listenRetry(addr string) (net.Listener, error) {
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, err
}

// crash stops the replica as kill -9 would (see Server.Crash).
func (h *harness) crash() {
	if h.stop == nil {
		return
	}
	h.srv.Crash()
	h.stop()
	<-h.done
	h.stop = nil
}

// close stops the replica the way SIGTERM does.
func (h *harness) close() {
	if h.stop == nil {
		return
	}
	h.stop()
	<-h.done
	h.srv.Close()
	h.stop = nil
}

// waitReady waits for /readyz: the view caught up, sign-in discovered.
func (h *harness) waitReady() {
	h.t.Helper()
	for i := 0; i < 400; i++ {
		resp, err := http.Get(h.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatal("the server did not become ready in 20s")
}

// login signs user in through the development provider's form, as a
// browser would, and returns a client holding the session cookie.
func (h *harness) login(user string) *http.Client {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar} // the websocket library wants contexts, not client timeouts
	resp, err := c.Get(h.url + "/auth/login")
	if err != nil {
		h.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`action="([^"]+)"[\s\S]*name="authRequestID" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		h.t.Fatalf("no login form at %s: %s", resp.Request.URL, page)
	}
	action, _ := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	resp, err = c.PostForm(action.String(), url.Values{"authRequestID": {string(m[2])}, "username": {user}, "password": {user}})
	if err != nil {
		h.t.Fatal(err)
	}
	landing, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	resp.Body.Close()
	var me struct{ Name, Role string }
	if st := h.getJSON(c, "/api/me", &me); st != http.StatusOK || me.Name == "" {
		h.t.Fatalf("after logging in as %s (sign-in ended on %s with %d: %q), /api/me answered %d %+v",
			user, resp.Request.URL, resp.StatusCode, landing, st, me)
	}
	return c
}

// getJSON GETs path with c and decodes the answer.
func (h *harness) getJSON(c *http.Client, path string, v any) int {
	h.t.Helper()
	resp, err := c.Get(h.url + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
	return resp.StatusCode
}

// post sends a notification body to the webhook, signed like Graph's, and
// returns the status.
func (h *harness) post(body string) int {
	h.t.Helper()
	token, err := h.sim.NotificationToken()
	if err != nil {
		h.t.Fatal(err)
	}
	return h.postWithToken(body, token)
}

// postWithToken sends a notification body with the given bearer token.
func (h *harness) postWithToken(body, token string) int {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.url+"/api/graph/notifications", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// do sends a REST request as alice and returns the status and error message.
func (h *harness) do(method, path, body string) (int, string) {
	h.t.Helper()
	return h.doAs(h.client, method, path, body)
}

// doAs sends a REST request with c, from the console's own origin.
func (h *harness) doAs(c *http.Client, method, path, body string) (int, string) {
	h.t.Helper()
	status, data := h.send(c, method, path, body)
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(data, &e)
	return status, e.Error.Message
}

// send makes a request as a browser would (JSON body, the console's
// Origin) with c, and returns the status and the whole answer.
func (h *harness) send(c *http.Client, method, path, body string) (int, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Origin", h.url)
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// feedClient is a console's websocket, reading messages in the background.
type feedClient struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan feedwire.Message
	err  chan error
	// asides are the presence and claims messages, apart from the log's
	// (dropped when nobody reads them).
	asides chan feedwire.Message
}

func (h *harness) dial(since *uint64) *feedClient {
	h.t.Helper()
	conn, resp, err := h.dialAs(h.client, h.url, since)
	if err != nil {
		h.t.Fatalf("feed: %v (%v)", err, resp)
	}
	return h.reader(conn)
}

// dialAs opens the feed with c's cookies from the page origin.
func (h *harness) dialAs(c *http.Client, origin string, since *uint64) (*websocket.Conn, *http.Response, error) {
	u := strings.Replace(h.url, "http", "ws", 1) + "/api/feed"
	if since != nil {
		u += fmt.Sprintf("?since=%d", *since)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hdr := http.Header{"Origin": {origin}}
	return websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c, HTTPHeader: hdr})
}

// reader starts reading conn in the background.
func (h *harness) reader(conn *websocket.Conn) *feedClient {
	conn.SetReadLimit(64 << 20)
	f := &feedClient{t: h.t, conn: conn, msgs: make(chan feedwire.Message, 100000), err: make(chan error, 1),
		asides: make(chan feedwire.Message, 1000)}
	go f.read()
	h.t.Cleanup(func() { conn.CloseNow() })
	return f
}

func (f *feedClient) read() {
	for {
		_, data, err := f.conn.Read(context.Background())
		if err != nil {
			f.err <- err
			close(f.msgs)
			return
		}
		msgs, err := feedwire.Decode(data)
		if err != nil {
			f.err <- err
			close(f.msgs)
			return
		}
		for _, m := range msgs {
			if m.Type == feedwire.TypePresence || m.Type == feedwire.TypeClaims {
				select {
				case f.asides <- m:
				default:
				}
				continue
			}
			f.msgs <- m
		}
	}
}

// next returns the next message, failing the test after 10 s.
func (f *feedClient) next() feedwire.Message {
	f.t.Helper()
	select {
	case m, ok := <-f.msgs:
		if !ok {
			f.t.Fatalf("feed closed: %v", <-f.err)
		}
		return m
	case <-time.After(10 * time.Second):
		f.t.Fatal("no feed message within 10s")
		return feedwire.Message{}
	}
}

// until reads messages until cond holds for the call it names, or fails.
func (f *feedClient) until(id string, cond func(calls.Call) bool) calls.Call {
	f.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-f.msgs:
			if !ok {
				f.t.Fatalf("feed closed: %v", <-f.err)
			}
			if m.Type == feedwire.TypeCall && m.Call.ID == id && cond(*m.Call) {
				return *m.Call
			}
		case <-deadline:
			f.t.Fatalf("call %s never reached the expected state", id)
		}
	}
}

// table is what a console holds: calls by id and the sequence.
type table struct {
	seq   uint64
	calls map[string]calls.Call
}

func (tb *table) apply(t *testing.T, m feedwire.Message) {
	t.Helper()
	switch m.Type {
	case feedwire.TypeSnapshot:
		tb.calls = map[string]calls.Call{}
		for _, c := range m.Calls {
			tb.calls[c.ID] = c
		}
		tb.seq = m.Seq
		return
	case feedwire.TypeResume:
		if m.Seq != tb.seq {
			t.Fatalf("resume at %d, client holds %d", m.Seq, tb.seq)
		}
		return
	}
	if m.Seq <= tb.seq {
		t.Fatalf("message %s at seq %d after seq %d: a duplicate or out of order", m.Type, m.Seq, tb.seq)
	}
	tb.seq = m.Seq
	switch m.Type {
	case feedwire.TypeCall:
		tb.calls[m.Call.ID] = *m.Call
	case feedwire.TypeRemoved:
		delete(tb.calls, m.CallID)
	}
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
