package server_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/audit"
	"switchboard/backend/server"
	"switchboard/backend/verba"
)

// auditTrail reads the whole audit trail as admin c.
func (h *harness) auditTrail(c *http.Client) []audit.Entry {
	h.t.Helper()
	var trail struct{ Entries []audit.Entry }
	if st := h.getJSON(c, fmt.Sprintf("/api/audit?limit=%d", audit.MaxLimit), &trail); st != http.StatusOK {
		h.t.Fatalf("audit trail: %d", st)
	}
	return trail.Entries
}

// flood sends n requests made by req and counts the answers by status.
func flood(t *testing.T, n int, req func() *http.Request) map[int]int {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	statuses := map[int]int{}
	for range n {
		res, err := c.Do(req())
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		statuses[res.StatusCode]++
	}
	return statuses
}

// Anonymous floods on every open door meet 429 once the address's burst is
// spent, and the audit trail grows by a few entries, not one per request.
func TestAnonymousFloodsAreLimited(t *testing.T) {
	_, key, err := verba.NewKey("crm", false)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.VerbaKeys = []verba.Key{key}
		c.Limits.ClientRate, c.Limits.ClientBurst, c.Limits.AuditWindow = 6, 10, time.Second
	}})
	admin := h.login("ada") // two sign-ins of ten: alice's and ada's
	before := len(h.auditTrail(admin))
	get := func(path string) func() *http.Request {
		return func() *http.Request { r, _ := http.NewRequest(http.MethodGet, h.url+path, nil); return r }
	}
	forged := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, h.url+"/api/graph/notifications", strings.NewReader(notification("x", "created", incomingData)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer not.a.jwt")
		return r
	}
	// Sign-in's doors share one allowance per address, and so do
	// DeleteCall's actions: the second door of each finds it spent.
	doors := []struct {
		name    string
		req     func() *http.Request
		failed  int // answered before the burst was spent
		status  int // their status
		counted string
	}{
		{"GET /auth/callback?state=x&code=y", get("/auth/callback?state=x&code=y"), 8, 400, "failed sign-ins"},
		{"GET /auth/login", get("/auth/login"), 0, 302, "refused sign-in starts"},
		{"DeleteCall with a wrong key", get("/verba/api?action=DeleteCall&callID=x&apiKey=" + url.QueryEscape("74c8eea0-50c6-40b2-9f3e-252ed501c3c8")), 10, 401, "failed DeleteCall requests"},
		{"RequestToken with a wrong key", get("/verba/api?action=RequestToken&apiKey=wrong"), 0, 401, "failed RequestToken requests"},
		{"webhook with a forged token", forged, 10, 401, "refused notifications"},
	}
	for _, d := range doors {
		statuses := flood(t, 500, d.req)
		t.Logf("500 × %s: %v", d.name, statuses)
		if statuses[d.status] != d.failed || statuses[http.StatusTooManyRequests] != 500-d.failed {
			t.Errorf("500 × %s: %v; want %d × %d, the rest 429", d.name, statuses, d.failed, d.status)
		}
	}
	// The counts are written when the window (1 s here) ends.
	var added []audit.Entry
	waitFor(t, func() bool {
		added = h.auditTrail(admin)
		added = added[:len(added)-before]
		floods := 0
		for _, e := range added {
			if e.Action == audit.ActionFlood {
				floods++
			}
		}
		return floods == len(doors)
	})
	if len(added) != 2*len(doors) {
		t.Errorf("%d entries added for %d requests, want %d: %+v", len(added), 500*len(doors), 2*len(doors), added)
	}
	for _, d := range doors {
		want := fmt.Sprintf("500 %s from 127.0.0.1 in the last 1s", d.counted)
		found := false
		for _, e := range added {
			found = found || (e.Action == audit.ActionFlood && e.Outcome == want && e.Count == 500)
		}
		if !found {
			t.Errorf("no entry %q in %+v", want, added)
		}
	}
}

// A DeleteCall key failing repeatedly is locked out with a clear error,
// and the lockout is in the audit trail.
func TestFailingKeyIsLockedOut(t *testing.T) {
	plain, key, err := verba.NewKey("crm", true)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.VerbaKeys = []verba.Key{key}
		c.Limits.VerbaLockoutAfter, c.Limits.VerbaLockoutFor = 3, time.Hour
	}})
	admin := h.login("ada")
	for i := range 4 {
		code, msg := h.deleteCall(plain, url.Values{"callID": {"x"}, "token": {"00000000-0000-4000-8000-000000000000"}})
		if code != 2 || !strings.Contains(msg, "unknown token") {
			t.Fatalf("failure %d: code %d %q", i+1, code, msg)
		}
	}
	code, msg := h.deleteCall(plain, url.Values{"callID": {"x"}})
	if code != 2 || !strings.Contains(msg, "this API key is locked out until") || !strings.Contains(msg, "retry after 3600 s") {
		t.Fatalf("the locked key: code %d %q", code, msg)
	}
	var lockouts []audit.Entry
	for _, e := range h.auditTrail(admin) {
		if e.Action == audit.ActionLockout {
			lockouts = append(lockouts, e)
		}
	}
	if len(lockouts) != 1 || lockouts[0].Actor != "apikey:crm" || !strings.HasPrefix(lockouts[0].Outcome, "locked out until") {
		t.Fatalf("lockouts audited: %+v", lockouts)
	}
}

// slowRequest opens a connection, sends head (ending with its blank line),
// then body one byte every gap, and returns the answer's status, how long
// it took from the end of head, and whether the server then closed the
// connection (within 2 s).
func slowRequest(t *testing.T, addr, head, body string, gap time.Duration) (int, time.Duration, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := range len(body) {
			select {
			case <-stop:
				return
			case <-time.After(gap):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	took := time.Since(start)
	io.Copy(io.Discard, res.Body)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = rd.ReadByte()
	closed := err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	return res.StatusCode, took, closed
}

// A body trickling at 5 bytes a second is cut with 408 at the body
// deadline, on the webhook and on /verba/api.
func TestSlowBodyIsCut(t *testing.T) {
	plain, key, _ := verba.NewKey("crm", false)
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.VerbaKeys = []verba.Key{key}
		c.Limits.BodyTimeout = 500 * time.Millisecond
	}})
	addr := strings.TrimPrefix(h.url, "http://")
	token, err := h.sim.NotificationToken()
	if err != nil {
		t.Fatal(err)
	}
	body := notification("a0a0a0a0-0000-4000-8000-000000000001", "created", incomingData)
	head := fmt.Sprintf("POST /api/graph/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", token, len(body))
	status, took, closed := slowRequest(t, addr, head, body, 200*time.Millisecond)
	t.Logf("webhook, body at 5 B/s, body timeout 500ms: %d after %v, closed %v", status, took, closed)
	if status != http.StatusRequestTimeout || took < 450*time.Millisecond || took > 1500*time.Millisecond || !closed {
		t.Errorf("webhook: %d after %v, closed %v; want 408 after about 500ms and the connection closed", status, took, closed)
	}
	form := "action=DeleteCall&callID=x&apiKey=" + plain
	head = fmt.Sprintf("POST /verba/api HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", len(form))
	status, took, closed = slowRequest(t, addr, head, form, 200*time.Millisecond)
	t.Logf("/verba/api, body at 5 B/s, body timeout 500ms: %d after %v, closed %v", status, took, closed)
	if status != http.StatusRequestTimeout || took < 450*time.Millisecond || took > 1500*time.Millisecond || !closed {
		t.Errorf("/verba/api: %d after %v, closed %v; want 408 after about 500ms and the connection closed", status, took, closed)
	}
	if n, _ := h.srv.Log().LastSeq(context.Background()); n != 0 {
		t.Errorf("a cut notification reached the log: last seq %d", n)
	}
}

// A forged token with a body that would take 100 s is refused at once, and
// the connection closed rather than kept for the body.
func TestForgedTokenWithSlowBodyIsRefusedAtOnce(t *testing.T) {
	h := start(t, options{})
	body := strings.Repeat(" ", 1000)
	head := fmt.Sprintf("POST /api/graph/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
		mustSim(t, "tenant-1", "client-1"), len(body))
	status, took, closed := slowRequest(t, strings.TrimPrefix(h.url, "http://"), head, body, 100*time.Millisecond)
	t.Logf("forged token, body at 10 B/s: %d after %v, closed %v", status, took, closed)
	if status != http.StatusUnauthorized || took > 500*time.Millisecond || !closed {
		t.Fatalf("%d after %v, closed %v; want 401 at once and the connection closed", status, took, closed)
	}
}

// writeWeb makes a web directory whose app.wasm is n random bytes.
func writeWeb(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	wasm := make([]byte, n)
	rand.Read(wasm)
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	// Compressed copies, newer than app.wasm, so none is made at start; a
	// client asking for none gets the raw file.
	for _, name := range []string{"app.wasm.gz", "app.wasm.br"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("x"), 0o644)
		later := time.Now().Add(time.Minute)
		os.Chtimes(p, later, later)
	}
	return dir
}

// A client that asks for app.wasm and never reads is cut by the write
// deadline: the server stops sending and closes.
func TestSlowReaderIsCut(t *testing.T) {
	const size = 16 << 20 // far more than the sockets' buffers hold
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.WebDir = writeWeb(t, size)
		c.Limits.WriteTimeout = time.Second
	}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /web/app.wasm HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * time.Second) // never reading, past the write deadline
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	n, err := io.Copy(io.Discard, conn)
	t.Logf("slow reader of a %d-byte app.wasm, write timeout 1s: got %d bytes, then %v after %v", size, n, err, time.Since(start))
	if n >= size {
		t.Fatalf("the whole app.wasm (%d bytes) was sent to a client that did not read for 2s", n)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after %d bytes the connection was still open", n)
	}
}

// The feed's websocket keeps its own timeouts: the server's read, write and
// idle deadlines do not cut it.
func TestFeedOutlivesConnectionDeadlines(t *testing.T) {
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.Limits.ReadTimeout, c.Limits.WriteTimeout, c.Limits.IdleTimeout = 500*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
	}})
	feed := h.dial(nil)
	feed.next() // the snapshot
	time.Sleep(1500 * time.Millisecond)
	const id = "b0b0b0b0-0000-4000-8000-000000000001"
	if st := h.post(notification(id, "created", incomingData)); st != http.StatusAccepted {
		t.Fatalf("webhook: %d", st)
	}
	feed.until(id, func(c calls.Call) bool { return c.State == calls.Incoming })
}

func scrapeMetrics(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// /metrics is not open to anyone: on its own listener, or behind a token.
func TestMetricsDoors(t *testing.T) {
	const token = "a-long-random-metrics-token"
	t.Run("not served by default", func(t *testing.T) {
		h := start(t, options{})
		if st, body := scrapeMetrics(t, h.url, ""); st != http.StatusNotFound || strings.Contains(body, "switchboard_") {
			t.Fatalf("/metrics without configuration: %d %.80q", st, body)
		}
	})
	t.Run("behind a token", func(t *testing.T) {
		h := start(t, options{tweakCfg: func(c *server.Config) { c.MetricsToken = token }})
		for _, tok := range []string{"", "wrong", token + "x"} {
			if st, _ := scrapeMetrics(t, h.url, tok); st != http.StatusUnauthorized {
				t.Errorf("token %q: %d, want 401", tok, st)
			}
		}
		if st, body := scrapeMetrics(t, h.url, token); st != http.StatusOK || !strings.Contains(body, "switchboard_live_calls") {
			t.Fatalf("with the token: %d %.80q", st, body)
		}
	})
	t.Run("on its own listener", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h := start(t, options{tweakCfg: func(c *server.Config) { c.MetricsAddr, c.MetricsToken = ln.Addr().String(), token }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.srv.ServeMetrics(ctx, ln) }()
		t.Cleanup(func() { cancel(); <-done })
		if st, _ := scrapeMetrics(t, h.url, token); st != http.StatusNotFound {
			t.Errorf("main listener with --metrics-addr: %d, want 404", st)
		}
		own := "http://" + ln.Addr().String()
		if st, _ := scrapeMetrics(t, own, ""); st != http.StatusUnauthorized {
			t.Errorf("own listener without the token: %d, want 401", st)
		}
		if st, body := scrapeMetrics(t, own, token); st != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Fatalf("own listener with the token: %d %.80q", st, body)
		}
	})
}
