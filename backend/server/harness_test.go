package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	t    *testing.T
	srv  *server.Server
	url  string
	sim  *graphsim.Sim
	stop context.CancelFunc
	done chan struct{}
}

type options struct {
	dataDir  string
	natsURL  string
	simRate  float64
	simCfg   func(*graphsim.Config)
	tweakCfg func(*server.Config)
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start runs a replica and its simulator until the test ends (or h.close).
func start(t *testing.T, o options) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
	cfg := server.Config{PublicURL: url, DataDir: o.dataDir, NATSURL: o.natsURL, GraphURL: sim.GraphURL(), TokenURL: sim.TokenURL(),
		TenantID: "tenant-1", ClientID: "client-1", ClientSecret: "secret-1", UpkeepTick: time.Hour, Logger: quietLogger()}
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
	select {
	case <-srv.View().Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("the view did not become ready")
	}
	t.Cleanup(func() {
		h.close()
		simSrv.Close()
		sim.Close()
	})
	return h
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

// post sends a notification body to the webhook and returns the status.
func (h *harness) post(body string) int {
	h.t.Helper()
	resp, err := http.Post(h.url+"/api/graph/notifications", "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// do sends a REST request and returns the status and decoded error message.
func (h *harness) do(method, path, body string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code, Message string }
	}
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &e)
	return resp.StatusCode, e.Error.Message
}

// feedClient is a console's websocket, reading messages in the background.
type feedClient struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan feedwire.Message
	err  chan error
}

func (h *harness) dial(since *uint64) *feedClient {
	h.t.Helper()
	u := strings.Replace(h.url, "http", "ws", 1) + "/api/feed"
	if since != nil {
		u += fmt.Sprintf("?since=%d", *since)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20)
	f := &feedClient{t: h.t, conn: conn, msgs: make(chan feedwire.Message, 100000), err: make(chan error, 1)}
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

func jsonBody(v any) io.Reader {
	data, _ := json.Marshal(v)
	return bytes.NewReader(data)
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
