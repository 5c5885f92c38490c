package main

import (
	"strings"
	"testing"
	"time"

	"switchboard/cmd/internal/feedwatch"
	"switchboard/cmd/internal/localcluster"
	"switchboard/cmd/internal/readiness"
	"switchboard/cmd/internal/traffic"
)

func ts(s float64) time.Time { return time.Unix(5000, 0).Add(time.Duration(s * float64(time.Second))) }

// readySamples are samples every 0.2 s from 0 to 20 s: ready except in
// [from, to).
func readySamples(from, to float64) []readiness.Sample {
	var out []readiness.Sample
	for i := range 101 {
		t := float64(i) * 0.2
		s := readiness.Sample{At: ts(t), Status: 200}
		if t >= from && t < to {
			s.Status, s.Reason = 503, "catching up with the event log"
		}
		out = append(out, s)
	}
	return out
}

func rec(n int, sent float64, accepted bool, refused int) traffic.Record {
	return traffic.Record{Marker: traffic.Marker{N: n, Call: n}, CallID: callID(n), Sent: ts(sent), Accepted: accepted, Refused: refused}
}

func callID(n int) string { return traffic.Generator{Run: 1}.CallID(n) }

func attempt(n, target int, start float64, status int) traffic.Attempt {
	return traffic.Attempt{N: n, Target: target, Start: ts(start), Took: 10 * time.Millisecond, Status: status}
}

func TestAccount(t *testing.T) {
	server := map[string]feedwatch.CallState{}
	for n := 1; n <= 7; n++ {
		server[callID(n)] = feedwatch.CallState{Seq: uint64(10 * n), State: "established"}
	}
	view := &serverView{Seq: 70, Calls: server}
	other := &serverView{Seq: 70, Calls: map[string]feedwatch.CallState{callID(1): {Seq: 10, State: "established"}}}
	behind := map[string]feedwatch.CallState{}
	for id, s := range server {
		behind[id] = s
	}
	behind[callID(1)] = feedwatch.CallState{Seq: 5, State: "establishing"} // lacks notification 1
	in := phaseInput{
		From: ts(1), To: ts(20),
		Records: []traffic.Record{
			rec(1, 2, true, 0),    // stored once
			rec(2, 3, true, 0),    // accepted, not stored
			rec(3, 4, true, 0),    // stored twice
			rec(4, 5, false, 0),   // refused, yet stored
			rec(5, 6, false, 0),   // never accepted
			rec(6, 7, false, 401), // refused for good
			rec(7, 0.5, true, 0),  // before the phase
		},
		Stored: map[int][]uint64{1: {10}, 3: {30, 31}, 4: {40}, 7: {70}},
		Attempts: []traffic.Attempt{
			attempt(1, 0, 2, 202),
			attempt(4, 0, 5, 503),  // replica 0 said ready around it
			attempt(4, 1, 5.02, 0), // replica 1 not ready then
			attempt(2, 0, 9, 503),  // inside replica 0's not-ready window
			attempt(2, 1, 9.5, 202),
			attempt(7, 0, 0.5, 503), // before the phase
		},
		Samples: [][]readiness.Sample{readySamples(8, 10), readySamples(4.9, 5.3)},
		Consoles: []consoleInput{
			{Name: "a/1", Policy: "sticky", Home: 0, Calls: server, Events: []feedwatch.Event{
				{At: ts(0.1), Kind: feedwatch.SignedIn}, {At: ts(0.2), Kind: feedwatch.Connected},
				{At: ts(3), Kind: feedwatch.Doubled}, {At: ts(0.5), Kind: feedwatch.Doubled},
				{At: ts(4), Kind: feedwatch.Closed}, {At: ts(4.5), Kind: feedwatch.Refused},
				{At: ts(5), Kind: feedwatch.SignedIn}, {At: ts(5.5), Kind: feedwatch.Connected},
				{At: ts(6), Kind: feedwatch.StaleSnapshot}, {At: ts(7), Kind: feedwatch.OutOfOrder},
			}},
			{Name: "b/1", Policy: "random", Home: 1, Calls: behind},
		},
		Views:   []*serverView{view, other},
		Exits:   []localcluster.Failure{{Part: "replica-b", At: ts(3)}, {Part: "replica-a", At: ts(0.2)}},
		History: []historyRead{{CallID: callID(1), Got: 4, Want: 4}, {Replica: 1, CallID: callID(1), Got: 0, Want: 4}},
	}
	r := account(in)
	for _, f := range []struct {
		name      string
		got, want int
	}{
		{"sent", r.Sent, 6}, {"accepted", r.Accepted, 3}, {"stored", r.Stored, 3},
		{"accepted lost", r.AcceptedLost, 1}, {"stored twice", r.StoredTwice, 1}, {"refused stored", r.RefusedStored, 1},
		{"never accepted", r.NeverAccepted, 2}, {"refused for good", r.RefusedForGood, 1},
		{"attempts", r.Attempts, 5}, {"refusals", r.Refusals, 3},
		{"replica 0 refusals", r.ReplicaRefusals[0], 2}, {"replica 0 refused while ready", r.RefusedWhileReady[0], 1},
		{"replica 1 refused while ready", r.RefusedWhileReady[1], 0},
		{"exits", len(r.Exits), 1}, {"history wrong", r.HistoryWrong, 1},
		{"503 refusals", r.RefusedBy["503"], 2}, {"unanswered refusals", r.RefusedBy["no answer"], 1},
	} {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
	if got := r.Overall; !got.From.Equal(ts(5)) || !got.To.Equal(ts(9.5)) {
		t.Errorf("overall unavailability %v…%v, want 5…9.5", got.From.Sub(ts(0)), got.To.Sub(ts(0)))
	}
	if w := r.NotReady[0]; len(w) != 1 || !w[0].From.Equal(ts(8)) || !w[0].To.Equal(ts(10)) {
		t.Errorf("replica 0's not-ready windows %+v", w)
	}
	a, b := r.Consoles[0], r.Consoles[1]
	if a.Doubled != 1 || a.OutOfOrder != 1 || a.Reconnects != 1 || a.Refused != 1 || a.Stale != 1 || a.SignIns != 1 ||
		a.Lost != 0 || a.Delivered != 3 || a.Differs != 0 {
		t.Errorf("console a/1: %+v", a)
	}
	if b.Lost != 1 || b.Delivered != 2 || b.Differs != 1 || b.SignIns != 0 {
		t.Errorf("console b/1: %+v", b)
	}
	if !strings.HasPrefix(r.Agree, "no") {
		t.Errorf("replicas with different views agree: %q", r.Agree)
	}
	if got := agree([]*serverView{view, view}); got != "yes" {
		t.Errorf("equal views: %q", got)
	}
	if got := agree([]*serverView{view, nil}); !strings.HasPrefix(got, "unknown") {
		t.Errorf("an unreadable view: %q", got)
	}
	// Without a view to compare with, the consoles' losses are unknown.
	in.Views = []*serverView{nil, nil}
	if c := account(in).Consoles[0]; c.Lost != -1 || c.Differs != -1 {
		t.Errorf("console without a reference: %+v", c)
	}
}

func TestSpanner(t *testing.T) {
	var s spanner
	for _, sp := range [][2]float64{{5, 5.1}, {1, 1.5}, {2, 2.2}, {5.5, 7}, {9.5, 9.6}, {6, 8.2}} {
		s.add(ts(sp[0]), ts(sp[1]))
	}
	// 1–2.2 merge (gap 0.5 s); 5–8.2 merge; 9.5–9.6 stays apart (gap 1.3 s).
	if got := s.longest(); got.Round(time.Millisecond) != 3200*time.Millisecond {
		t.Fatalf("longest = %v, want 3.2s", got)
	}
}
