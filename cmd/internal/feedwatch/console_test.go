package feedwatch

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// scriptedFeed is a feed server on loopback whose n-th connection plays
// script[n]; it also hands out sessions at /login and refuses a feed
// without one with 401.
type scriptedFeed struct {
	t        *testing.T
	srv      *httptest.Server
	sessions *sessionStore

	mu      sync.Mutex
	script  []func(c *websocket.Conn)
	since   []string // the since of each connection
	origins []string
	refuse  int // refuse the feed with this status, when set
}

// sessionStore holds sessions every replica shares, as NATS does.
type sessionStore struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (s *sessionStore) valid(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

func newScriptedFeed(t *testing.T, sessions *sessionStore, script ...func(c *websocket.Conn)) *scriptedFeed {
	if sessions == nil {
		sessions = &sessionStore{ids: map[string]bool{}}
	}
	f := &scriptedFeed{t: t, sessions: sessions, script: script}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, _ *http.Request) {
		id := rand.Text()
		sessions.mu.Lock()
		sessions.ids[id] = true
		sessions.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/"})
	})
	mux.HandleFunc("GET /api/feed", f.serve)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// revokeAll ends every session.
func (f *scriptedFeed) revokeAll() {
	f.sessions.mu.Lock()
	clear(f.sessions.ids)
	f.sessions.mu.Unlock()
}

// refuseWith makes the feed answer every later connection with status.
func (f *scriptedFeed) refuseWith(status int) {
	f.mu.Lock()
	f.refuse = status
	f.mu.Unlock()
}

func (f *scriptedFeed) serve(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie("session")
	ok := err == nil && f.sessions.valid(ck.Value)
	f.mu.Lock()
	refuse := f.refuse
	f.mu.Unlock()
	if !ok {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	if refuse != 0 {
		http.Error(w, "not ready", refuse)
		return
	}
	f.mu.Lock()
	n := len(f.since)
	f.since = append(f.since, r.URL.Query().Get("since"))
	f.origins = append(f.origins, r.Header.Get("Origin"))
	f.mu.Unlock()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	if n < len(f.script) {
		f.script[n](c)
		return
	}
	c.Read(r.Context()) // hold the connection until the client leaves
}

func (f *scriptedFeed) sinces() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.since)
}

// send writes messages as one frame, one per line, like the server.
func send(c *websocket.Conn, msgs ...feedwire.Message) {
	var lines []string
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		lines = append(lines, string(b))
	}
	c.Write(context.Background(), websocket.MessageText, []byte(strings.Join(lines, "\n")))
}

// signInAt signs in at a scripted feed's /login.
func signInAt(ctx context.Context, replica string) (http.CookieJar, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, replica+"/login", nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return jar, nil
}

func runConsole(t *testing.T, o Options) *Console {
	t.Helper()
	o.SignIn, o.MinBackoff, o.MaxBackoff = signInAt, 10*time.Millisecond, 50*time.Millisecond
	c := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the console did not stop")
		}
	})
	return c
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("still waiting for %s after 5 s", what)
}

func kinds(events []Event) []Kind {
	var out []Kind
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

// TestConsoleResumesKeepsItsRowsAndSignsInAgain plays a replica that
// restarts, then serves a stale snapshot, then forgets the session.
func TestConsoleResumesKeepsItsRowsAndSignsInAgain(t *testing.T) {
	var f *scriptedFeed
	f = newScriptedFeed(t, nil,
		func(c *websocket.Conn) { // 1: a view, a change, then the server goes away
			send(c, snap(10, calls.Call{ID: "a", State: "established", Seq: 8}), call(11, "b", "establishing"))
			c.Close(websocket.StatusGoingAway, feedwire.ReasonShutdown)
		},
		func(c *websocket.Conn) { // 2: a replica still loading serves an older view
			send(c, snap(0))
			c.Read(context.Background())
		},
		func(c *websocket.Conn) { // 3: resumed; a change, the same change again; then the session ends
			send(c, feedwire.Message{Type: feedwire.TypeResume, Seq: 11}, call(12, "a", "terminated"))
			send(c, call(12, "a", "terminated"), feedwire.Message{Type: "status"})
			f.revokeAll()
			c.Close(websocket.StatusGoingAway, feedwire.ReasonShutdown)
		},
		func(c *websocket.Conn) { // 4: after signing in again
			send(c, feedwire.Message{Type: feedwire.TypeResume, Seq: 12}, call(13, "b", "established"))
			c.Read(context.Background())
		},
	)
	c := runConsole(t, Options{Name: "c1", Replicas: []string{f.srv.URL}})
	waitUntil(t, "the change after the new sign-in", func() bool { return c.State().Held == 13 })
	st := c.State()
	want := map[string]CallState{"a": {12, "terminated"}, "b": {13, "established"}}
	if len(st.Calls) != 2 || st.Calls["a"] != want["a"] || st.Calls["b"] != want["b"] || st.On != 0 {
		t.Fatalf("state %+v, want %+v on replica 0", st, want)
	}
	if got, want := f.sinces(), []string{"", "11", "11", "12"}; !slices.Equal(got, want) {
		t.Fatalf("since of each connection %q, want %q", got, want)
	}
	got := kinds(c.Events())
	for _, k := range []Kind{SignedIn, Snapshot, Connected, Closed, StaleSnapshot, Resumed, Doubled, Status, Refused} {
		if !slices.Contains(got, k) {
			t.Errorf("no %q among the events %q", k, got)
		}
	}
	if n := countKind(got, SignedIn); n != 2 {
		t.Errorf("signed in %d times, want twice (the session ended once)", n)
	}
	if n := len(c.AppliedChanges()); n != 3 {
		t.Errorf("%d changes applied, want 3 (11, 12, 13)", n)
	}
	f.mu.Lock()
	origin := f.origins[0]
	f.mu.Unlock()
	if origin != f.srv.URL {
		t.Errorf("Origin %q, want the replica's own URL", origin)
	}
}

func countKind(ks []Kind, k Kind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

// TestConsoleFailsOverToAnotherReplica: the home replica goes away and
// then refuses; a failover console resumes on the other replica.
func TestConsoleFailsOverToAnotherReplica(t *testing.T) {
	sessions := &sessionStore{ids: map[string]bool{}}
	var home *scriptedFeed
	home = newScriptedFeed(t, sessions, func(c *websocket.Conn) {
		send(c, snap(20, calls.Call{ID: "a", State: "hold", Seq: 20}))
		home.refuseWith(http.StatusServiceUnavailable) // from now on, until it is back
		c.Close(websocket.StatusGoingAway, feedwire.ReasonShutdown)
	})
	other := newScriptedFeed(t, sessions, func(c *websocket.Conn) {
		send(c, feedwire.Message{Type: feedwire.TypeResume, Seq: 20}, call(21, "a", "established"))
		c.Read(context.Background())
	})
	c := runConsole(t, Options{Name: "failover", Replicas: []string{home.srv.URL, other.srv.URL}, Policy: Failover})
	waitUntil(t, "the console on the other replica", func() bool { return c.State().Held == 21 })
	if st := c.State(); st.On != 1 || st.Calls["a"] != (CallState{21, "established"}) {
		t.Fatalf("state %+v", st)
	}
	if got := other.sinces(); len(got) != 1 || got[0] != "20" {
		t.Fatalf("the other replica saw since %q, want 20", got)
	}
	if !slices.ContainsFunc(c.Events(), func(e Event) bool { return e.Kind == Refused && e.Replica == 0 && strings.HasPrefix(e.Detail, "503") }) {
		t.Fatalf("no refusal by the home replica recorded: %+v", c.Events())
	}
}

func TestPick(t *testing.T) {
	c := New(Options{Replicas: []string{"a", "b", "c"}, Home: 1})
	if c.pick(2, 3) != 1 {
		t.Error("sticky left home")
	}
	c.opts.Policy = Failover
	if c.pick(2, 0) != 2 || c.pick(2, 1) != 0 {
		t.Error("failover: stays while it works, moves on after a failure")
	}
	c.opts.Policy = Random
	seen := map[int]bool{}
	for range 200 {
		seen[c.pick(0, 0)] = true
	}
	if len(seen) != 3 {
		t.Errorf("random picked %v", seen)
	}
}
