package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// fixedView is a view frozen at one sequence.
type fixedView struct {
	mu  sync.Mutex
	seq uint64
}

func (v *fixedView) EncodedSnapshot() (uint64, [][]byte, uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seq, [][]byte{}, v.seq
}

func serveHub(t *testing.T, opts Options) (*Hub, string) {
	t.Helper()
	h := NewHub(&fixedView{}, opts)
	h.CaughtUp()
	srv := httptest.NewServer(h.Handler(func(r *http.Request) (string, int, error) {
		return r.URL.Query().Get("session"), 0, nil
	}))
	t.Cleanup(srv.Close)
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// readUntilClose reads frames until the server closes, and returns the
// messages and the close error.
func readUntilClose(t *testing.T, c *websocket.Conn, pause time.Duration) ([]feedwire.Message, websocket.CloseError) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []feedwire.Message
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("read ended without a close frame: %v", err)
			}
			return got, ce
		}
		msgs, err := feedwire.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
		time.Sleep(pause)
	}
}

func callMsg(seq uint64, pad int) feedwire.Message {
	return feedwire.Message{Type: feedwire.TypeCall, Seq: seq, Call: &calls.Call{ID: "c", Subject: strings.Repeat("x", pad), Seq: seq}}
}

func TestSlowClientIsCutWithAReason(t *testing.T) {
	h, url := serveHub(t, Options{QueueLimit: 8, WriteTimeout: 5 * time.Second})
	slow := dial(t, url)
	fast := dial(t, url)
	waitClients(t, h, 2)

	// The fast client reads each message before the next is published, so
	// it never has more than one queued; the slow one reads nothing until
	// the end, so its socket fills and its queue overflows.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := fast.Read(ctx); err != nil { // the snapshot
		t.Fatal(err)
	}
	received := 0
	for seq := uint64(1); seq <= 60; seq++ {
		h.Publish(seq, []feedwire.Message{callMsg(seq, 256<<10)})
		_, data, err := fast.Read(ctx)
		if err != nil {
			t.Fatalf("the fast client lost its feed at %d: %v", seq, err)
		}
		msgs, _ := feedwire.Decode(data)
		if len(msgs) != 1 || msgs[0].Seq != seq {
			t.Fatalf("the fast client got %+v at %d", msgs, seq)
		}
		received++
	}
	_, ce := readUntilClose(t, slow, 0)
	if ce.Code != websocket.StatusPolicyViolation || ce.Reason != feedwire.ReasonSlow {
		t.Fatalf("slow client closed with %d %q", ce.Code, ce.Reason)
	}
	if received != 60 || h.Clients() != 1 {
		t.Fatalf("the fast client got %d messages and %d clients remain", received, h.Clients())
	}
}

func waitClients(t *testing.T, h *Hub, n int) {
	t.Helper()
	for i := 0; i < 500 && h.Clients() != n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if h.Clients() != n {
		t.Fatalf("%d clients, want %d", h.Clients(), n)
	}
}

func TestCloseReasons(t *testing.T) {
	h, url := serveHub(t, Options{})
	alice := dial(t, url+"?session=alice")
	bob := dial(t, url+"?session=bob")
	waitClients(t, h, 2)
	h.CloseSession("alice")
	if _, ce := readUntilClose(t, alice, 0); ce.Reason != feedwire.ReasonLoggedOut {
		t.Fatalf("logout closed with %q", ce.Reason)
	}
	h.Shutdown()
	if _, ce := readUntilClose(t, bob, 0); ce.Code != websocket.StatusGoingAway || ce.Reason != feedwire.ReasonShutdown {
		t.Fatalf("shutdown closed with %d %q", ce.Code, ce.Reason)
	}
}

func TestResumeFromTheRing(t *testing.T) {
	h, url := serveHub(t, Options{RingSize: 8})
	h.Reset(10)
	for seq := uint64(11); seq <= 20; seq++ {
		h.Publish(seq, []feedwire.Message{callMsg(seq, 1)})
	}
	h.Publish(21, nil) // an event that changed nothing still moves the head
	tests := []struct {
		since     string
		wantType  string
		wantFirst uint64
	}{
		{"19", feedwire.TypeResume, 20},
		{"21", feedwire.TypeResume, 0},
		{"12", feedwire.TypeResume, 13},
		{"11", feedwire.TypeSnapshot, 0}, // 12 was trimmed out of the ring
		{"99", feedwire.TypeSnapshot, 0}, // from the future
	}
	for _, tt := range tests {
		c := dial(t, url+"?since="+tt.since)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, data, err := c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		msgs, _ := feedwire.Decode(data)
		if msgs[0].Type != tt.wantType {
			t.Fatalf("since=%s: first message %s, want %s", tt.since, msgs[0].Type, tt.wantType)
		}
		if tt.wantFirst != 0 && (len(msgs) < 2 || msgs[1].Seq != tt.wantFirst) {
			t.Fatalf("since=%s: replay starts wrong: %+v", tt.since, msgs)
		}
	}
}

func TestAnEndedSessionCannotOpenAFeed(t *testing.T) {
	h, url := serveHub(t, Options{})
	h.CloseSession("alice") // the logout won the race against the handshake
	if _, ce := readUntilClose(t, dial(t, url+"?session=alice"), 0); ce.Reason != feedwire.ReasonLoggedOut {
		t.Fatalf("a feed of an ended session closed with %q", ce.Reason)
	}
	bob := dial(t, url+"?session=bob")
	waitClients(t, h, 1)
	bob.CloseNow()
}

// TestNoFeedBeforeTheViewCaughtUp: a replica still loading its view
// refuses the feed (before the upgrade, so every client sees why) instead
// of handing out an old snapshot.
func TestNoFeedBeforeTheViewCaughtUp(t *testing.T) {
	h := NewHub(&fixedView{}, Options{})
	srv := httptest.NewServer(h.Handler(nil))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a feed before the view caught up: %v, %+v", err, resp)
	}
	h.CaughtUp()
	c := dial(t, url)
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if msgs, _ := feedwire.Decode(data); msgs[0].Type != feedwire.TypeSnapshot {
		t.Fatalf("after catching up: %+v", msgs)
	}
}

// readMsg reads the next message of c (frames may hold several).
func readMsgs(t *testing.T, c *websocket.Conn, n int) []feedwire.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []feedwire.Message
	for len(out) < n {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		msgs, _ := feedwire.Decode(data)
		out = append(out, msgs...)
	}
	return out
}

// TestTroubleIsToldToEveryConsole: while the server cannot follow its log,
// connected consoles are told, consoles that connect are told after their
// snapshot, and everyone is told when it is over.
func TestTroubleIsToldToEveryConsole(t *testing.T) {
	h, url := serveHub(t, Options{Epoch: "e1"})
	before := dial(t, url)
	if m := readMsgs(t, before, 1); m[0].Type != feedwire.TypeSnapshot || m[0].Epoch != "e1" {
		t.Fatalf("first message %+v", m[0])
	}
	h.SetTrouble("cannot store notifications: not connected to NATS")
	if m := readMsgs(t, before, 1); m[0].Type != feedwire.TypeStatus || m[0].Trouble == "" {
		t.Fatalf("a connected console was told %+v", m[0])
	}
	after := dial(t, url)
	m := readMsgs(t, after, 2)
	if m[0].Type != feedwire.TypeSnapshot || m[1].Type != feedwire.TypeStatus || m[1].Trouble == "" {
		t.Fatalf("a console connecting during the trouble was told %+v", m)
	}
	h.SetTrouble("")
	for _, c := range []*websocket.Conn{before, after} {
		if m := readMsgs(t, c, 1); m[0].Type != feedwire.TypeStatus || m[0].Trouble != "" {
			t.Fatalf("the end of the trouble was told as %+v", m[0])
		}
	}
}

// TestResumeWaitsForAReplicaBehind: a console coming from a replica a
// little ahead resumes here once this one gets there, instead of being sent
// an older snapshot.
func TestResumeWaitsForAReplicaBehind(t *testing.T) {
	h, url := serveHub(t, Options{})
	h.Reset(10)
	done := make(chan []feedwire.Message, 1)
	go func() {
		c := dial(t, url+"?since=12")
		done <- readMsgs(t, c, 1)
	}()
	time.Sleep(200 * time.Millisecond)
	h.Publish(11, []feedwire.Message{callMsg(11, 1)})
	h.Publish(12, []feedwire.Message{callMsg(12, 1)})
	select {
	case m := <-done:
		if m[0].Type != feedwire.TypeResume || m[0].Seq != 12 {
			t.Fatalf("a console ahead got %+v, want a resume at 12", m[0])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
}

// TestRingIsBoundedByBytes publishes large changes: the ring never holds
// more than its byte bound, and a resume from what it dropped is a
// snapshot.
func TestRingIsBoundedByBytes(t *testing.T) {
	h, url := serveHub(t, Options{RingBytes: 1 << 20})
	for seq := uint64(1); seq <= 200; seq++ {
		h.Publish(seq, []feedwire.Message{callMsg(seq, 64<<10)})
		h.mu.Lock()
		size := h.size
		h.mu.Unlock()
		if size > 1<<20 {
			t.Fatalf("after %d changes of 64 KiB the ring holds %d bytes", seq, size)
		}
	}
	c := dial(t, url+"?since=5")
	if m := readMsgs(t, c, 1); m[0].Type != feedwire.TypeSnapshot {
		t.Fatalf("a resume from a dropped change got %s", m[0].Type)
	}
	c = dial(t, url+"?since=195")
	if m := readMsgs(t, c, 6); m[0].Type != feedwire.TypeResume || m[5].Seq != 200 {
		t.Fatalf("a recent resume got %+v", m[0])
	}
}

// TestDeletedCallLeavesNothingToReplay: once a conversation is deleted, a
// console resuming from before it hears only its removal.
func TestDeletedCallLeavesNothingToReplay(t *testing.T) {
	h, url := serveHub(t, Options{})
	h.Reset(0)
	secret := feedwire.Message{Type: feedwire.TypeCall, Seq: 1, Call: &calls.Call{ID: "gone", Subject: "the caller's name"}}
	other := feedwire.Message{Type: feedwire.TypeCall, Seq: 2, Call: &calls.Call{ID: "kept"}}
	h.Publish(1, []feedwire.Message{secret})
	h.Publish(2, []feedwire.Message{other})
	h.Publish(3, []feedwire.Message{{Type: feedwire.TypeRemoved, Seq: 3, CallID: "gone"}})
	c := dial(t, url+"?since=0")
	got := readMsgs(t, c, 3)
	if got[0].Type != feedwire.TypeResume {
		t.Fatalf("first %+v", got[0])
	}
	for _, m := range got[1:] {
		if m.Call != nil && m.Call.ID == "gone" {
			t.Fatalf("the resume replayed the deleted call: %+v", m)
		}
	}
	if got[1].Call == nil || got[1].Call.ID != "kept" || got[2].Type != feedwire.TypeRemoved {
		t.Fatalf("resume after a deletion: %+v", got)
	}
}

// TestFeedsPerSessionAreCapped: a session may hold MaxPerSession feeds;
// one more is refused with 429 and says why, and closing one frees a slot.
func TestFeedsPerSessionAreCapped(t *testing.T) {
	h, url := serveHub(t, Options{MaxPerSession: 3})
	var conns []*websocket.Conn
	for range 3 {
		conns = append(conns, dial(t, url+"?session=alice"))
	}
	waitClients(t, h, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url+"?session=alice", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a fourth feed: %v, %+v", err, resp)
	}
	dial(t, url+"?session=bob") // another session is not affected
	conns[0].Close(websocket.StatusNormalClosure, "")
	for i := 0; i < 100; i++ {
		c, _, err := websocket.Dial(ctx, url+"?session=alice", nil)
		if err == nil {
			c.CloseNow()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("closing a feed did not free its slot")
}

// TestAStormOfFeedsDoesNotDelayOthers: one session opening 300 feeds at
// once adds little to another console's latency (the goal: under 250 ms
// at p99).
func TestAStormOfFeedsDoesNotDelayOthers(t *testing.T) {
	view := &bigView{n: 5000}
	h := NewHub(view, Options{})
	h.CaughtUp()
	srv := httptest.NewServer(h.Handler(func(r *http.Request) (string, int, error) { return r.URL.Query().Get("session"), 0, nil }))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	control := dial(t, url+"?session=control")
	readMsgs(t, control, 1)
	measure := func(d time.Duration, during func()) time.Duration {
		var lat []time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			if during != nil {
				during()
			}
		}()
		end := time.Now().Add(d)
		for seq := h.Head() + 1; time.Now().Before(end); seq++ {
			sent := time.Now()
			h.Publish(seq, []feedwire.Message{callMsg(seq, 100)})
			readMsgs(t, control, 1)
			lat = append(lat, time.Since(sent))
			time.Sleep(10 * time.Millisecond)
		}
		<-done
		slices.Sort(lat)
		return lat[len(lat)*99/100]
	}
	base := measure(time.Second, nil)
	storm := measure(2*time.Second, func() {
		var wg sync.WaitGroup
		for range 300 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if c, _, err := websocket.Dial(ctx, url+"?session=storm", nil); err == nil {
					c.SetReadLimit(64 << 20)
					c.Read(ctx)
					t.Cleanup(func() { c.CloseNow() })
				}
			})
		}
		wg.Wait()
	})
	t.Logf("control console p99: %s alone, %s during the storm", base, storm)
	if storm > base+250*time.Millisecond {
		t.Fatalf("a storm of feeds from one session delayed another console to p99 %s (alone %s)", storm, base)
	}
}

// bigView is a view of n calls that does not change, for snapshots that
// cost something to encode.
type bigView struct {
	n    int
	once sync.Once
	list [][]byte
}

func (v *bigView) EncodedSnapshot() (uint64, [][]byte, uint64) {
	v.once.Do(func() {
		v.list = make([][]byte, v.n)
		for i := range v.list {
			v.list[i], _ = json.Marshal(calls.Call{ID: fmt.Sprintf("call-%d", i), Subject: strings.Repeat("s", 100), State: calls.Established})
		}
	})
	return 0, v.list, 1
}

// TestAResumeThatDoesNotFitIsASnapshot: a console resuming from a sequence
// the ring still holds, but with more bytes of changes after it than its
// queue takes, gets a snapshot; a replay cut short at the queue's bound
// would have left it a gap. A backlog that fits is resumed, whole.
func TestAResumeThatDoesNotFitIsASnapshot(t *testing.T) {
	h, url := serveHub(t, Options{RingSize: 100, QueueLimit: 100, QueueBytes: 300 << 10})
	h.Reset(10)
	for seq := uint64(11); seq <= 30; seq++ {
		h.Publish(seq, []feedwire.Message{callMsg(seq, 20<<10)}) // 20 KiB each: 400 KiB in all
	}
	view := h.view.(*fixedView)
	view.mu.Lock()
	view.seq = 30 // a snapshot is the view at the head
	view.mu.Unlock()
	first := func(since string) []feedwire.Message {
		c := dial(t, url+"?since="+since)
		var got []feedwire.Message
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for len(got) == 0 || (got[0].Type == feedwire.TypeResume && got[len(got)-1].Seq < 30) {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("since=%s: %v after %d messages", since, err, len(got))
			}
			msgs, _ := feedwire.Decode(data)
			got = append(got, msgs...)
		}
		return got
	}
	if got := first("10"); got[0].Type != feedwire.TypeSnapshot {
		t.Fatalf("a backlog of 400 KiB for a queue of 300 KiB opened with %s, want a snapshot", got[0].Type)
	}
	got := first("25")
	if got[0].Type != feedwire.TypeResume {
		t.Fatalf("a backlog of 100 KiB opened with %s, want a resume", got[0].Type)
	}
	for i, m := range got[1:] {
		if m.Seq != uint64(26+i) {
			t.Fatalf("the replay after 25 is %d at %d, want every change from 26 to 30", m.Seq, i)
		}
	}
}
