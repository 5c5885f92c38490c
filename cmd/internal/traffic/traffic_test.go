package traffic

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/backend/notify"
)

func TestMarkerRoundTrip(t *testing.T) {
	m := Marker{N: 1234, Call: 56, Step: 3}
	if got, ok := ParseSubject(m.Subject()); !ok || got != m {
		t.Fatalf("ParseSubject(%q) = %+v %v", m.Subject(), got, ok)
	}
	for _, bad := range []string{"", "chaos", "chaos n=1 k=2", "chaos n=0 k=1 j=1", "chaos n=1 k=x j=1", "bench n=1 k=2 j=3", "chaos n=1 k=2 j=3 x"} {
		if _, ok := ParseSubject(bad); ok {
			t.Errorf("ParseSubject(%q) accepted", bad)
		}
	}
}

// TestBodiesDecode decodes every step of a few calls with the server's own
// decoder: the call id, state and marker must come through.
func TestBodiesDecode(t *testing.T) {
	g := Generator{Run: 0xbeef}
	n := 0
	for k := range 5 {
		for j := range Steps(k) {
			n++
			body, err := g.Body(Marker{N: n, Call: k, Step: j})
			if err != nil {
				t.Fatal(err)
			}
			items, err := notify.Decode(body)
			if err != nil || len(items) != 1 {
				t.Fatalf("call %d step %d: %v (%d items): %s", k, j, err, len(items), body)
			}
			it := items[0]
			if it.CallID != g.CallID(k) || !g.Owns(it.CallID) {
				t.Fatalf("call id %q, want %q", it.CallID, g.CallID(k))
			}
			if m, ok := ParseSubject(it.Change.Subject); !ok || m != (Marker{N: n, Call: k, Step: j}) {
				t.Fatalf("subject %q carries %+v", it.Change.Subject, m)
			}
			last := j == Steps(k)-1
			if (it.Change.State == "terminated") != last || (j == 0) != (it.Change.ChangeType == "created") {
				t.Fatalf("call %d step %d: %s %s", k, j, it.Change.ChangeType, it.Change.State)
			}
			if j == 0 && it.Change.Direction != "outgoing" {
				t.Fatalf("a call starts %q, want outgoing (no replica must answer it)", it.Change.Direction)
			}
		}
	}
	if g.Owns(Generator{Run: 1}.CallID(3)) || g.Owns("c4a05000-beef-4000-8000-00000000000x") {
		t.Fatal("Owns accepted another run's call")
	}
	if _, err := g.Body(Marker{N: 1, Call: 0, Step: 99}); err == nil {
		t.Fatal("a step past the script's end was built")
	}
}

func at(s float64) time.Time { return time.Unix(1000, 0).Add(time.Duration(s * float64(time.Second))) }

func TestUnavailable(t *testing.T) {
	ok, fail := 202, 503
	attempts := []Attempt{
		{Target: 0, Start: at(0), Status: ok},
		{Target: 0, Start: at(1), Status: fail},
		{Target: 1, Start: at(1.1), Status: ok}, // the other replica took it
		{Target: 0, Start: at(2), Status: 0, Err: "connection refused"},
		{Target: 0, Start: at(5), Status: fail},
		{Target: 1, Start: at(6), Status: fail},
		{Target: 0, Start: at(8), Status: ok},
		{Target: 1, Start: at(9), Status: fail},
	}
	type span struct {
		from, to float64
		open     bool
	}
	tests := []struct {
		name   string
		target int
		want   []span
	}{
		{"replica 0", 0, []span{{1, 8, false}}},
		{"replica 1", 1, []span{{6, 10, true}}},
		{"overall", -1, []span{{1, 1.1, false}, {2, 8, false}, {9, 10, true}}},
	}
	for _, tt := range tests {
		got := Unavailable(attempts, tt.target, at(0), at(10))
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %+v", tt.name, got)
		}
		for i, w := range tt.want {
			if !got[i].From.Equal(at(w.from)) || !got[i].To.Equal(at(w.to)) || got[i].Open != w.open {
				t.Errorf("%s: stretch %d = %v…%v open %v, want %v…%v open %v", tt.name, i,
					got[i].From.Sub(at(0)), got[i].To.Sub(at(0)), got[i].Open, w.from, w.to, w.open)
			}
		}
	}
	if l := Longest(Unavailable(attempts, -1, at(0), at(10))); l.Duration() != 6*time.Second || l.Failures != 3 {
		t.Fatalf("longest overall = %v with %d failures, want 6s with 3", l.Duration(), l.Failures)
	}
	if got := Unavailable(attempts, -1, at(8), at(8.5)); len(got) != 0 {
		t.Fatalf("a window with only successes: %+v", got)
	}
}

// webhook is a replica's webhook on loopback that records what it took.
type webhook struct {
	srv    *httptest.Server
	status atomic.Int32 // the answer; 202 by default
	mu     sync.Mutex
	took   []Marker
	tries  atomic.Int64
	auth   atomic.Value
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.status.Store(http.StatusAccepted)
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.tries.Add(1)
		w.auth.Store(r.Header.Get("Authorization"))
		body, _ := io.ReadAll(r.Body)
		st := int(w.status.Load())
		if st == http.StatusAccepted {
			items, err := notify.Decode(body)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadRequest)
				return
			}
			m, _ := ParseSubject(items[0].Change.Subject)
			w.mu.Lock()
			w.took = append(w.took, m)
			w.mu.Unlock()
		}
		rw.WriteHeader(st)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) markers() []Marker {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Marker(nil), w.took...)
}

func startPoster(t *testing.T, p *Poster) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("the poster did not stop")
		}
	}
}

func staticToken(context.Context) (string, error) { return "tok", nil }

// TestPosterFailsOverAndDrains: with one replica refusing everything, every
// notification lands on the other, each call's steps in order; a drained
// poster leaves every call it started finished and sends nothing more.
func TestPosterFailsOverAndDrains(t *testing.T) {
	a, b := newWebhook(t), newWebhook(t)
	a.status.Store(http.StatusServiceUnavailable)
	p := &Poster{Targets: []string{a.srv.URL, b.srv.URL}, Token: staticToken, Gen: Generator{Run: 7}, Rate: 400, Lanes: 4, Retry: 10 * time.Millisecond}
	stop := startPoster(t, p)
	defer stop()
	for range 200 {
		if len(b.markers()) >= 40 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Drain(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	took := b.markers()
	if len(took) < 40 {
		t.Fatalf("replica b took %d notifications", len(took))
	}
	// Every call started is finished, and its steps came in order.
	next := map[int]int{}
	for _, m := range took {
		if m.Step != next[m.Call] {
			t.Fatalf("call %d: step %d arrived when %d was due", m.Call, m.Step, next[m.Call])
		}
		next[m.Call]++
	}
	for k, n := range next {
		if n != Steps(k) {
			t.Fatalf("call %d stopped at step %d of %d after the drain", k, n, Steps(k))
		}
	}
	recs := p.Records()
	if len(recs) != len(took) {
		t.Fatalf("%d records for %d notifications taken", len(recs), len(took))
	}
	for _, r := range recs {
		if !r.Accepted || r.By != 1 || r.Attempts < 1 || r.Attempts > 2 {
			t.Fatalf("record %+v: want accepted by replica 1 after one or two attempts", r)
		}
	}
	if a.tries.Load() == 0 || a.tries.Load() > int64(len(recs)) {
		t.Fatalf("the refusing replica was tried %d times for %d notifications: in turn, once each at most", a.tries.Load(), len(recs))
	}
	if got := b.auth.Load(); got != "Bearer tok" {
		t.Fatalf("Authorization %q", got)
	}
	before := b.tries.Load()
	time.Sleep(100 * time.Millisecond)
	if b.tries.Load() != before {
		t.Fatal("a drained poster kept posting")
	}
	p.Resume()
	for range 200 {
		if b.tries.Load() > before {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if b.tries.Load() == before {
		t.Fatal("a resumed poster does not post")
	}
}

func TestPosterRetriesUntilAReplicaTakesIt(t *testing.T) {
	a, b := newWebhook(t), newWebhook(t)
	a.status.Store(http.StatusServiceUnavailable)
	b.status.Store(http.StatusServiceUnavailable)
	p := &Poster{Targets: []string{a.srv.URL, b.srv.URL}, Token: staticToken, Rate: 100, Lanes: 1, Retry: 20 * time.Millisecond}
	stop := startPoster(t, p)
	defer stop()
	for range 200 {
		if a.tries.Load() >= 3 && b.tries.Load() >= 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.status.Store(http.StatusAccepted)
	for range 200 {
		if len(b.markers()) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := b.markers()
	if len(took) == 0 || took[0] != (Marker{N: 1, Call: 0, Step: 0}) {
		t.Fatalf("replica b took %+v, want the first notification first", took)
	}
	r := p.Records()[0]
	if !r.Accepted || r.Attempts < 6 {
		t.Fatalf("record %+v: want accepted after several rounds over both replicas", r)
	}
}

func TestPosterFinalRefusalAbandonsTheCall(t *testing.T) {
	a := newWebhook(t)
	a.status.Store(http.StatusUnauthorized)
	p := &Poster{Targets: []string{a.srv.URL}, Token: staticToken, Rate: 200, Lanes: 1, Retry: 10 * time.Millisecond}
	stop := startPoster(t, p)
	for range 200 {
		if a.tries.Load() >= 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	recs := p.Records()
	if len(recs) < 3 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs[:len(recs)-1] { // the last may have been cut short by stop
		// Each refused notification is tried once, and its call abandoned:
		// the next record is the next call's first step.
		if r.Refused != http.StatusUnauthorized || r.Accepted || r.Attempts != 1 || r.Step != 0 || r.Call != i {
			t.Fatalf("record %d = %+v", i, r)
		}
	}
}

func TestSimulatorTokenIsReused(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/sim/notification-token" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		io.WriteString(w, `{"token":"signed"}`)
	}))
	defer srv.Close()
	tok := SimulatorToken(srv.URL, srv.Client())
	for range 3 {
		if got, err := tok(context.Background()); err != nil || got != "signed" {
			t.Fatalf("token %q, %v", got, err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("the token was fetched %d times, want once", calls.Load())
	}
	if _, err := SimulatorToken(srv.URL+"/nothing", srv.Client())(context.Background()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a missing endpoint: %v", err)
	}
}
