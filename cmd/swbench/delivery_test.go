package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// frameOf encodes messages the way the server batches them: one per line.
func frameOf(t *testing.T, msgs ...feedwire.Message) []byte {
	t.Helper()
	var lines []string
	for _, m := range msgs {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(data))
	}
	return []byte(strings.Join(lines, "\n"))
}

// callMsg is the feed message generated step j of call k produces at seq.
func callMsg(g generator, seq uint64, k, j int) feedwire.Message {
	c := calls.Call{ID: g.callID(k), State: calls.Ringing, Subject: marker{Call: k, Step: j, Sent: time.Millisecond}.subject(), Seq: seq}
	return feedwire.Message{Type: feedwire.TypeCall, Seq: seq, Call: &c}
}

func TestClientChecksAndDeliveryVerdict(t *testing.T) {
	g := generator{run: 7}
	snap := feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 0, Now: time.Now()}
	foreign := fullCall("57dab8b1-894c-409a-b240-bd8beae78896", "Weekly sync")
	tests := []struct {
		name   string
		frames [][]feedwire.Message
		acked  []int32 // last accepted step by call
		head   uint64
		check  func(deliveryCheck) bool
	}{
		{"all received, in two frames",
			[][]feedwire.Message{{snap, callMsg(g, 1, 0, 0), callMsg(g, 2, 1, 0)}, {callMsg(g, 3, 0, 1)}},
			[]int32{1, 0}, 3,
			func(d deliveryCheck) bool { return d.OK() && d.Received == 3 && d.Lost == 0 }},
		{"a step skipped",
			[][]feedwire.Message{{snap, callMsg(g, 1, 0, 0), callMsg(g, 3, 0, 2)}},
			[]int32{2}, 3,
			func(d deliveryCheck) bool { return !d.OK() && d.Gaps == 1 && d.Lost == 1 }},
		{"a repeat and a sequence going back",
			[][]feedwire.Message{{snap, callMsg(g, 1, 0, 0), callMsg(g, 2, 0, 1), callMsg(g, 2, 0, 1)}},
			[]int32{1}, 2,
			func(d deliveryCheck) bool { return !d.OK() && d.Repeats == 1 && d.OutOfOrder == 1 && d.Lost == 0 }},
		{"a change no notification made",
			[][]feedwire.Message{{snap, callMsg(g, 1, 0, 0), callMsg(g, 2, 0, 1), callMsg(g, 3, 0, 1)}},
			[]int32{1}, 3,
			func(d deliveryCheck) bool { return d.OK() && d.Others == 1 && d.Received == 2 }},
		{"last notification missing",
			[][]feedwire.Message{{snap, callMsg(g, 1, 0, 0)}},
			[]int32{1}, 2,
			func(d deliveryCheck) bool {
				return !d.OK() && d.Lost == 1 && d.IncompleteCalls == 1 && d.SeqBehind == 1
			}},
		{"an unexplained call",
			[][]feedwire.Message{{snap, callMsg(g, 1, 0, 0), {Type: feedwire.TypeCall, Seq: 2, Call: &foreign}}},
			[]int32{0}, 2,
			func(d deliveryCheck) bool { return !d.OK() && d.Foreign == 1 && d.Lost == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &feedClient{opts: feedOptions{Gen: g, Latency: true}, done: make(chan struct{})}
			for _, f := range tt.frames {
				if err := c.frame(frameOf(t, f...), 5*time.Millisecond); err != nil {
					t.Fatal(err)
				}
			}
			accepted := 0
			for _, s := range tt.acked {
				accepted += int(s) + 1
			}
			d := checkDelivery([]*feedClient{c}, tt.acked, accepted, tt.head, false)
			if !tt.check(d) {
				t.Fatalf("verdict %+v", d)
			}
			if len(c.rec.Latencies) != d.Received || (d.Received > 0 && c.rec.Latencies[0] != 4000) {
				t.Fatalf("latencies %v for %d receptions, want 4000 µs each", c.rec.Latencies, d.Received)
			}
		})
	}
}

func TestClientRefusesAFeedWithoutSnapshot(t *testing.T) {
	g := generator{}
	c := &feedClient{opts: feedOptions{Gen: g}, done: make(chan struct{})}
	if err := c.frame(frameOf(t, callMsg(g, 1, 0, 0)), 0); err == nil {
		t.Fatal("a feed that opens with a call message was accepted")
	}
}

// TestABaselineClientTakesAnyFirstStep: a client that connected after its
// calls began (their first steps are in its snapshot) counts no gap for a
// call's first message, and still checks the steps after it.
func TestABaselineClientTakesAnyFirstStep(t *testing.T) {
	g := generator{run: 3}
	snap := feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 10, Now: time.Now()}
	c := &feedClient{opts: feedOptions{Gen: g, Baseline: true}, done: make(chan struct{})}
	frames := [][]feedwire.Message{{snap, callMsg(g, 11, 0, 5), callMsg(g, 12, 1, 2), callMsg(g, 13, 0, 6)}, {callMsg(g, 14, 1, 4)}}
	for _, f := range frames {
		if err := c.frame(frameOf(t, f...), 0); err != nil {
			t.Fatal(err)
		}
	}
	if c.rec.Gaps != 1 || c.rec.Unique != 4 || c.rec.Last[0] != 6 || c.rec.Last[1] != 4 {
		t.Fatalf("record %+v, want one gap (call 1 from step 2 to 4), 4 received", c.rec)
	}
}

// TestASeededClientCountsAKeepAliveAsNoReception: a client that connected
// after seeding holds every seeded call at step 1 from its snapshot; the
// call's message at that step (a keepAlive the server recorded before the
// call's next notification) is no new reception, and the step after it is.
func TestASeededClientCountsAKeepAliveAsNoReception(t *testing.T) {
	g := generator{run: 4}
	snap := feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 10, Now: time.Now()}
	c := &feedClient{opts: feedOptions{Gen: g, Baseline: true, Seeded: 3}, done: make(chan struct{})}
	msgs := []feedwire.Message{snap, callMsg(g, 11, 0, 1), callMsg(g, 12, 0, 2), callMsg(g, 13, 1, 3)}
	if err := c.frame(frameOf(t, msgs...), 0); err != nil {
		t.Fatal(err)
	}
	if c.rec.Unique != 2 || c.rec.Others != 1 || c.rec.Gaps != 1 || c.rec.Last[0] != 2 || c.rec.Last[1] != 3 {
		t.Fatalf("record %+v, want 2 received (call 0's step 2, call 1's step 3), the keepAlive at step 1 counted apart, and one gap (call 1 from 1 to 3)", c.rec)
	}
}
