package readiness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func at(s float64) time.Time { return time.Unix(1000, 0).Add(time.Duration(s * float64(time.Second))) }

// samples are one sample per 0.2 s from t=0: 200 where ok, else a 503 or
// no answer.
func samples(pattern string) []Sample {
	var out []Sample
	for i, c := range pattern {
		s := Sample{At: at(float64(i) * 0.2)}
		switch c {
		case '+':
			s.Status = 200
		case '-':
			s.Status, s.Reason = 503, "catching up with the event log"
		case 'x':
			s.Reason = "connection refused"
		}
		out = append(out, s)
	}
	return out
}

func TestNotReady(t *testing.T) {
	s := samples("++--x-++++-x")
	got := NotReady(s, at(0), at(3))
	if len(got) != 2 {
		t.Fatalf("windows %+v", got)
	}
	if !got[0].From.Equal(at(0.4)) || !got[0].To.Equal(at(1.2)) || got[0].Open ||
		!slices.Equal(got[0].Reasons, []string{"catching up with the event log", "connection refused"}) {
		t.Errorf("first window %+v", got[0])
	}
	if !got[1].From.Equal(at(2.0)) || !got[1].To.Equal(at(3)) || !got[1].Open || got[1].Duration() != time.Second {
		t.Errorf("second window %+v", got[1])
	}
	if w := NotReady(s, at(1.2), at(2.0)); len(w) != 0 {
		t.Errorf("a ready stretch has windows %+v", w)
	}
}

func TestReadyThroughout(t *testing.T) {
	s := samples("+++-+++++")
	tests := []struct {
		from, to float64
		want     bool
	}{
		{0.1, 0.3, true},  // between two ready samples
		{0.3, 0.7, false}, // a not-ready sample inside
		{0.5, 0.7, false}, // the sample before says not ready
		{0.9, 1.3, true},
		{1.5, 2.0, false}, // no sample after: unknown
		{-1, 0.1, false},  // no sample before: unknown
	}
	for _, tt := range tests {
		if got := ReadyThroughout(s, at(tt.from), at(tt.to)); got != tt.want {
			t.Errorf("ReadyThroughout(%v…%v) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestPollerRecordsAnswers(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not connected to NATS", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	}))
	p := &Poller{URL: srv.URL, Every: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	wait := func(cond func([]Sample) bool) {
		t.Helper()
		for range 500 {
			if cond(p.Samples()) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("samples %+v", p.Samples())
	}
	wait(func(s []Sample) bool { return len(s) > 2 })
	ready.Store(true)
	wait(func(s []Sample) bool { return s[len(s)-1].Ready() })
	srv.Close()
	wait(func(s []Sample) bool { return s[len(s)-1].Status == 0 })
	cancel()
	<-done
	s := p.Samples()
	w := NotReady(s, s[0].At, s[len(s)-1].At.Add(time.Millisecond))
	if len(w) != 2 || w[0].Reasons[0] != "not connected to NATS" || w[1].Reasons[0] != "connection refused" || !w[1].Open {
		t.Fatalf("windows %+v", w)
	}
}

// TestAProbeBetweenPollsIsSeen: a replica that goes and comes back between
// two polls shows a window only if whoever stopped it probes meanwhile,
// and that answer takes its place in time among the polls'.
func TestAProbeBetweenPollsIsSeen(t *testing.T) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	}))
	defer srv.Close()
	p := &Poller{URL: srv.URL, Every: time.Hour} // one poll, at the start
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	for i := 0; len(p.Samples()) == 0; i++ {
		if i == 500 {
			t.Fatal("the first poll never came")
		}
		time.Sleep(5 * time.Millisecond)
	}
	down.Store(true)
	p.Probe(ctx)
	down.Store(false)
	p.Probe(ctx)
	cancel()
	<-done
	s := p.Samples()
	if !slices.IsSortedFunc(s, func(a, b Sample) int { return a.At.Compare(b.At) }) || len(s) != 3 {
		t.Fatalf("samples %+v, want three in time order", s)
	}
	if w := NotReady(s, s[0].At, s[2].At.Add(time.Millisecond)); len(w) != 1 || w[0].Reasons[0] != "gone" {
		t.Fatalf("windows %+v, want the one the probe saw", w)
	}
}
