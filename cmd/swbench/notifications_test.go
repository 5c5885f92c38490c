package main

import (
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/notify"
)

// TestScriptsPlayThroughTheServersDecoder feeds every generated script to
// the server's own decoder and reducer: each notification must be valid,
// change the call (so it produces exactly one feed message), keep the
// marker in the subject, and the call must end terminated.
func TestScriptsPlayThroughTheServersDecoder(t *testing.T) {
	g := generator{run: 0xbeef}
	for k := range 20 { // every script of the mix
		var c calls.Call
		steps := script(k)
		for j := range steps {
			mk := marker{Call: k, Step: j, Sent: time.Duration(k*1000 + j)}
			body, err := g.body(mk)
			if err != nil {
				t.Fatal(err)
			}
			items, err := notify.Decode(body)
			if err != nil {
				t.Fatalf("call %d step %d: the server refuses %s: %v", k, j, body, err)
			}
			if len(items) != 1 || items[0].CallID != g.callID(k) {
				t.Fatalf("call %d step %d decoded to %+v", k, j, items)
			}
			ev := calls.Event{Kind: calls.KindNotification, CallID: items[0].CallID, At: time.Unix(int64(j), 0), Change: &items[0].Change}
			next, changed := calls.Apply(c, uint64(j+1), ev)
			if !changed {
				t.Fatalf("call %d step %d (%s %s) changes nothing: it would produce no feed message", k, j, steps[j].changeType, steps[j].state)
			}
			if got, ok := parseSubject([]byte(next.Subject)); !ok || got != mk {
				t.Fatalf("call %d step %d: subject %q reads back as %+v, want %+v", k, j, next.Subject, got, mk)
			}
			c = next
		}
		if !c.Ended() {
			t.Fatalf("call %d ends %s, want terminated", k, c.State)
		}
	}
}

func TestBodyRefusesUnknownSteps(t *testing.T) {
	g := generator{}
	for _, m := range []marker{{Call: 0, Step: -1}, {Call: 0, Step: len(script(0))}, {Call: -1, Step: 0}} {
		if _, err := g.body(m); err == nil {
			t.Errorf("body(%+v) succeeded", m)
		}
	}
}

func TestCallIndexReadsBackOnlyItsOwnIDs(t *testing.T) {
	g := generator{run: 0x0a0b}
	tests := []struct {
		id     string
		want   int
		wantOK bool
	}{
		{g.callID(0), 0, true},
		{g.callID(123456), 123456, true},
		{generator{run: 1}.callID(5), 0, false}, // another run's call
		{"57dab8b1-894c-409a-b240-bd8beae78896", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		k, ok := g.callIndex([]byte(tt.id))
		if k != tt.want || ok != tt.wantOK {
			t.Errorf("callIndex(%q) = %d, %v; want %d, %v", tt.id, k, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in     string
		want   marker
		wantOK bool
	}{
		{marker{Call: 3, Step: 4, Sent: 5 * time.Second}.subject(), marker{Call: 3, Step: 4, Sent: 5 * time.Second}, true},
		{"bench k=1 j=2 t=3", marker{Call: 1, Step: 2, Sent: 3}, true},
		{"bench k=1 j=2 t=3 extra", marker{}, false},
		{"bench k=1 j=2", marker{}, false},
		{"bench k=x j=2 t=3", marker{}, false},
		{"Weekly sync", marker{}, false},
		{"", marker{}, false},
	}
	for _, tt := range tests {
		got, ok := parseSubject([]byte(tt.in))
		if ok != tt.wantOK || (ok && got != tt.want) {
			t.Errorf("parseSubject(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
