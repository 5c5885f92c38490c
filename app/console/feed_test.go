package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
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

// feedServer is a real websocket server on loopback that plays one script
// per connection, in order, and records the since each connection asked for.
type feedServer struct {
	t       *testing.T
	scripts []func(r *http.Request, w http.ResponseWriter) *websocket.Conn

	mu     sync.Mutex
	n      int
	sinces []string
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := s.n
	s.n++
	s.sinces = append(s.sinces, r.URL.Query().Get("since"))
	s.mu.Unlock()
	if i >= len(s.scripts) {
		http.Error(w, "no more scripted connections", http.StatusServiceUnavailable)
		return
	}
	if conn := s.scripts[i](r, w); conn != nil {
		conn.CloseNow()
	}
}

func (s *feedServer) since() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sinces)
}

func accept(t *testing.T, w http.ResponseWriter, r *http.Request) *websocket.Conn {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		t.Errorf("accept: %v", err)
		return nil
	}
	return conn
}

// send writes msgs in one frame, one per line, as the server does.
func send(t *testing.T, conn *websocket.Conn, msgs ...feedwire.Message) {
	var lines []string
	for _, m := range msgs {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(data))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, []byte(strings.Join(lines, "\n"))); err != nil {
		t.Errorf("write: %v", err)
	}
}

// closeWith closes conn with reason after the client has had time to read
// what was sent: the close handshake waits for the client's reply.
func closeWith(conn *websocket.Conn, code websocket.StatusCode, reason string) *websocket.Conn {
	conn.Close(code, reason)
	return nil
}

// recorder collects the statuses a feed reports.
type recorder struct {
	mu       sync.Mutex
	statuses []Status
}

func (r *recorder) record(s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, s)
}

func (r *recorder) states() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []State
	for _, s := range r.statuses {
		out = append(out, s.State)
	}
	return out
}

func startFeed(t *testing.T, srv *feedServer, tweak func(f *Feed)) (*Feed, *recorder, *httptest.Server) {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	rec := &recorder{}
	f := &Feed{URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/feed", Inbox: NewInbox(nil),
		OnStatus: rec.record, MinBackoff: time.Millisecond, MaxBackoff: 8 * time.Millisecond}
	if tweak != nil {
		tweak(f)
	}
	return f, rec, hs
}

func runFeed(t *testing.T, f *Feed) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := f.Run(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the feed did not finish its script in time")
	}
	return err
}

func TestFeedReconnectsWithSinceAndNoDuplicates(t *testing.T) {
	a := live("a", calls.Incoming, calls.DirectionIncoming, t0)
	aAnswered := a
	aAnswered.State = calls.Established
	b := live("b", calls.Incoming, calls.DirectionOutgoing, t0.Add(time.Second))
	c := live("c", calls.Ringing, calls.DirectionOutgoing, t0.Add(2*time.Second))
	snapshot := feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 5, Now: t0, Calls: []calls.Call{a}}
	srv := &feedServer{t: t}
	srv.scripts = append(srv.scripts,
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, snapshot)
			send(t, conn, callMsg(6, b), callMsg(7, aAnswered))
			return closeWith(conn, websocket.StatusGoingAway, feedwire.ReasonShutdown)
		},
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			// The replica replays one message the console already has.
			send(t, conn, feedwire.Message{Type: feedwire.TypeResume, Seq: 7, Now: t0}, callMsg(7, aAnswered), callMsg(8, c))
			return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
		})
	f, rec, _ := startFeed(t, srv, nil)
	if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("Run = %v, want ErrLoggedOut", err)
	}
	if got := srv.since(); !slices.Equal(got, []string{"", "7"}) {
		t.Errorf("since asked = %q, want none then 7", got)
	}
	got := NewStore(Options{})
	if _, err := got.ApplyBatch(f.Inbox.Take()); err != nil {
		t.Fatal(err)
	}
	want := NewStore(Options{}) // the same events without a reconnect
	for _, m := range []feedwire.Message{snapshot, callMsg(6, b), callMsg(7, aAnswered), callMsg(8, c)} {
		if _, err := want.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	gotCalls, _ := got.View(Filter{}, 0, -1)
	wantCalls, _ := want.View(Filter{}, 0, -1)
	if !slices.EqualFunc(gotCalls, wantCalls, func(x, y calls.Call) bool { return x.ID == y.ID && x.State == y.State && x.Seq == y.Seq }) || got.Seq() != 8 {
		t.Errorf("after a reconnect: %v at %d, want %v at 8", ids(gotCalls), got.Seq(), ids(wantCalls))
	}
	wantStates := []State{Connecting, Live, Reconnecting, Live, LoggedOut}
	if got := rec.states(); !slices.Equal(got, wantStates) {
		t.Errorf("states = %v, want %v", got, wantStates)
	}
}

func TestFeedGapAsksForASnapshot(t *testing.T) {
	srv := &feedServer{t: t}
	srv.scripts = append(srv.scripts,
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 5})
			return closeWith(conn, websocket.StatusGoingAway, feedwire.ReasonShutdown)
		},
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, feedwire.Message{Type: feedwire.TypeResume, Seq: 9}) // not where the console is
			return conn
		},
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 12})
			return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
		})
	f, _, _ := startFeed(t, srv, nil)
	if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("Run = %v, want ErrLoggedOut", err)
	}
	if got := srv.since(); !slices.Equal(got, []string{"", "5", ""}) {
		t.Errorf("since asked = %q, want none, 5, then none (a snapshot) after the gap", got)
	}
	if f.Inbox.Seq() != 12 {
		t.Errorf("inbox at %d, want 12", f.Inbox.Seq())
	}
}

func TestFeedCloseReasons(t *testing.T) {
	tests := []struct {
		name       string
		code       websocket.StatusCode
		reason     string
		wantReason string
	}{
		{"slow", websocket.StatusPolicyViolation, feedwire.ReasonSlow, "the console fell behind the feed"},
		{"shutdown", websocket.StatusGoingAway, feedwire.ReasonShutdown, "the server is restarting"},
		{"other", websocket.StatusInternalError, "boom", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &feedServer{t: t}
			srv.scripts = append(srv.scripts,
				func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
					conn := accept(t, w, r)
					send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 3})
					return closeWith(conn, tt.code, tt.reason)
				},
				func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
					conn := accept(t, w, r)
					send(t, conn, feedwire.Message{Type: feedwire.TypeResume, Seq: 3})
					return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
				})
			f, rec, _ := startFeed(t, srv, nil)
			if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
				t.Fatalf("Run = %v, want ErrLoggedOut", err)
			}
			if got := srv.since(); !slices.Equal(got, []string{"", "3"}) {
				t.Errorf("since asked = %q, want none then 3", got)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			i := slices.IndexFunc(rec.statuses, func(s Status) bool { return s.State == Reconnecting })
			if i < 0 || rec.statuses[i].Reason != tt.wantReason {
				t.Errorf("statuses = %+v, want Reconnecting because %q", rec.statuses, tt.wantReason)
			}
		})
	}
}

func TestFeedBacksOffAndGoesOffline(t *testing.T) {
	srv := &feedServer{t: t}
	for range 4 {
		srv.scripts = append(srv.scripts, func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return nil
		})
	}
	srv.scripts = append(srv.scripts, func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
		conn := accept(t, w, r)
		send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1})
		return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
	})
	f, rec, _ := startFeed(t, srv, func(f *Feed) { f.OfflineAfter = 3 })
	if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("Run = %v, want ErrLoggedOut", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var retries []Status
	for _, s := range rec.statuses {
		if s.State == Reconnecting || s.State == Offline {
			retries = append(retries, s)
		}
	}
	if len(retries) != 4 {
		t.Fatalf("retries = %+v, want 4", retries)
	}
	for i, s := range retries {
		wantState := Reconnecting
		if i+1 >= 3 {
			wantState = Offline
		}
		if s.Attempts != i+1 || s.State != wantState {
			t.Errorf("retry %d = %+v, want attempt %d %v", i, s, i+1, wantState)
		}
		bound := min(time.Millisecond<<i, 8*time.Millisecond)
		if s.Retry < bound/2 || s.Retry > bound {
			t.Errorf("retry %d waits %v, want within [%v, %v]", i, s.Retry, bound/2, bound)
		}
	}
	if last := rec.statuses[len(rec.statuses)-2]; last.State != Live || last.Attempts != 0 {
		t.Errorf("after the server came back: %+v, want Live with no failures", last)
	}
}

func TestFeedLoggedOutBeforeTheUpgrade(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter)
		check func(ctx context.Context) error
	}{
		{"401 on the handshake", func(w http.ResponseWriter) { http.Error(w, "log in", http.StatusUnauthorized) }, nil},
		{"session check after a failure", func(w http.ResponseWriter) { http.Error(w, "no", http.StatusServiceUnavailable) },
			func(ctx context.Context) error { return &APIError{Status: http.StatusUnauthorized} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &feedServer{t: t}
			srv.scripts = append(srv.scripts, func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
				tt.reply(w)
				return nil
			})
			f, rec, _ := startFeed(t, srv, func(f *Feed) { f.CheckSession = tt.check })
			if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
				t.Fatalf("Run = %v, want ErrLoggedOut", err)
			}
			if got := rec.states(); !slices.Equal(got, []State{Connecting, LoggedOut}) {
				t.Errorf("states = %v", got)
			}
		})
	}
}

func TestFeedRejectsAFeedThatDoesNotStartWithAView(t *testing.T) {
	srv := &feedServer{t: t}
	srv.scripts = append(srv.scripts,
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, callMsg(4, live("a", calls.Incoming, calls.DirectionIncoming, t0)))
			return conn
		},
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 4})
			return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
		})
	f, _, _ := startFeed(t, srv, nil)
	if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("Run = %v, want ErrLoggedOut", err)
	}
	b := f.Inbox.Take()
	if b.Snapshot == nil || len(b.Messages) != 0 {
		t.Errorf("inbox = %+v, want only the snapshot of the second connection", b)
	}
}

func TestFeedStopsWithItsContext(t *testing.T) {
	srv := &feedServer{t: t}
	srv.scripts = append(srv.scripts, func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
		conn := accept(t, w, r)
		send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1})
		<-r.Context().Done() // hold the connection open until the client leaves
		return conn
	})
	var f *Feed
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	live := make(chan struct{})
	var once sync.Once
	f, _, _ = startFeed(t, srv, func(f *Feed) {
		f.OnStatus = func(s Status) {
			if s.State == Live {
				once.Do(func() { close(live) })
			}
		}
	})
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { done <- f.Run(runCtx) }()
	select {
	case <-live:
	case <-ctx.Done():
		t.Fatal("the feed never went live")
	}
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after its context ended")
	}
}

func TestFeedBadURL(t *testing.T) {
	for _, u := range []string{"http://example.com/api/feed", "::nope", ""} {
		f := &Feed{URL: u, Inbox: NewInbox(nil)}
		if err := f.Run(context.Background()); err == nil || errors.Is(err, ErrLoggedOut) {
			t.Errorf("Run with URL %q = %v, want an error about the URL", u, err)
		}
	}
}

// TestFeedNeverGoesBackToAnOlderView: a replica still loading offers a
// snapshot older than the rows the console shows; the console keeps them,
// keeps its sequence, and resumes later with it. A snapshot of a new epoch
// (the log was created anew) is taken whatever its sequence.
func TestFeedNeverGoesBackToAnOlderView(t *testing.T) {
	a := live("a", calls.Incoming, calls.DirectionIncoming, t0)
	b := live("b", calls.Ringing, calls.DirectionOutgoing, t0)
	srv := &feedServer{t: t}
	srv.scripts = append(srv.scripts,
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 40, Epoch: "e1", Calls: []calls.Call{a, b}})
			return closeWith(conn, websocket.StatusGoingAway, feedwire.ReasonShutdown)
		},
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r) // a restarted replica, not loaded: an old, empty view
			send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 3, Epoch: "e1"})
			return conn
		},
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r)
			send(t, conn, feedwire.Message{Type: feedwire.TypeResume, Seq: 40, Epoch: "e1"})
			return closeWith(conn, websocket.StatusGoingAway, feedwire.ReasonShutdown)
		},
		func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
			conn := accept(t, w, r) // the log was recreated: sequences start over
			send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 2, Epoch: "e2", Calls: []calls.Call{a}})
			return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
		})
	f, _, _ := startFeed(t, srv, nil)
	store := NewStore(Options{})
	stop := make(chan struct{})
	done := make(chan struct{})
	var shown []int
	go func() { // the console's renders, as the page does them
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-f.Inbox.Ready():
				store.ApplyBatch(f.Inbox.Take())
				shown = append(shown, store.Len())
			}
		}
	}()
	if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("Run = %v, want ErrLoggedOut", err)
	}
	close(stop)
	<-done
	store.ApplyBatch(f.Inbox.Take())
	if got := srv.since(); !slices.Equal(got, []string{"", "40", "40", "40"}) {
		t.Errorf("since asked = %q, want none then 40 three times", got)
	}
	if slices.Contains(shown, 0) {
		t.Errorf("the console showed an empty view on the way: %v", shown)
	}
	if store.Seq() != 2 || store.Len() != 1 {
		t.Errorf("after the new epoch: %d calls at %d, want 1 at 2", store.Len(), store.Seq())
	}
}

// TestFeedReportsTheServersTrouble: a status message with trouble makes
// the feed say the server is reconnecting; one without, live again.
func TestFeedReportsTheServersTrouble(t *testing.T) {
	srv := &feedServer{t: t}
	srv.scripts = append(srv.scripts, func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
		conn := accept(t, w, r)
		send(t, conn, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 5})
		send(t, conn, feedwire.Message{Type: feedwire.TypeStatus, Seq: 5, Trouble: "cannot store notifications: not connected to NATS"})
		send(t, conn, feedwire.Message{Type: feedwire.TypeStatus, Seq: 5})
		return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
	})
	f, rec, _ := startFeed(t, srv, nil)
	if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("Run = %v", err)
	}
	want := []State{Connecting, Live, Stalled, Live, LoggedOut}
	if got := rec.states(); !slices.Equal(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	if f.Inbox.Seq() != 5 {
		t.Errorf("a status message moved the sequence to %d", f.Inbox.Seq())
	}
}
