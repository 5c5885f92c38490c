package alerts

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// board is a simulated view: calls folded from events with the real
// reducer, on a clock the test moves, and the alert events Evaluate asks
// for folded back in as the server's log would.
type board struct {
	t     *testing.T
	now   time.Time
	seq   uint64
	calls map[string]calls.Call
	rules []Rule
	log   []string // "call rule op" of every alert event, in order
}

func newBoard(t *testing.T, rules ...Rule) *board {
	rules = Normalize(rules)
	if err := Validate(rules); err != nil {
		t.Fatal(err)
	}
	return &board{t: t, now: t0, calls: make(map[string]calls.Call), rules: rules}
}

func (b *board) apply(ev calls.Event) {
	b.seq++
	ev.At = b.now
	b.calls[ev.CallID], _ = calls.Apply(b.calls[ev.CallID], b.seq, ev)
}

func (b *board) state(id string, st calls.State) {
	b.apply(calls.Event{Kind: calls.KindNotification, CallID: id, Change: &calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: st}})
}

func (b *board) end(id string, code, sub int) {
	b.apply(calls.Event{Kind: calls.KindNotification, CallID: id, Change: &calls.Change{ChangeType: "deleted", Resource: calls.ResourceCall,
		State: calls.Terminated, Result: &calls.Result{Code: code, Subcode: sub}}})
}

func (b *board) list() []calls.Call {
	out := make([]calls.Call, 0, len(b.calls))
	for _, c := range b.calls {
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y calls.Call) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// at moves the clock to sec seconds after t0 and runs the evaluator,
// folding what it asks for; it returns the alert events of this round.
func (b *board) at(sec int) []string {
	b.now = t0.Add(time.Duration(sec) * time.Second)
	var round []string
	for _, ch := range Evaluate(b.rules, b.list(), b.now) {
		b.apply(calls.Event{Kind: calls.KindAlert, CallID: ch.CallID, Alert: &ch.Note})
		round = append(round, ch.CallID+" "+ch.Note.Rule+" "+string(ch.Note.Op))
	}
	b.log = append(b.log, round...)
	// Evaluating again at the same time asks for nothing: the log now
	// says what the calls breach.
	if again := Evaluate(b.rules, b.list(), b.now); len(again) != 0 {
		b.t.Fatalf("at %d s, a second evaluation asked for %+v", sec, again)
	}
	return round
}

func (b *board) expect(sec int, want ...string) {
	b.t.Helper()
	if got := b.at(sec); !slices.Equal(got, want) {
		b.t.Fatalf("at %d s: alert events %q, want %q", sec, got, want)
	}
}

func TestRingingRaisesAndClears(t *testing.T) {
	b := newBoard(t, Rule{ID: "ring", Kind: Ringing, Seconds: 10})
	b.state("a", calls.Incoming)
	b.expect(5)
	b.expect(10) // not longer than 10 s yet
	b.expect(11, "a ring raised")
	c := b.calls["a"]
	if a, ok := c.Alert("ring"); !ok || a.Words != "Ringing over 10 s" || a.Detail != "incoming for 11 s" || !a.Since.Equal(t0.Add(11*time.Second)) {
		t.Fatalf("alert %+v (%v)", a, ok)
	}
	b.expect(30)
	b.state("a", calls.Establishing)
	b.expect(31, "a ring cleared")
	if len(b.calls["a"].Alerts) != 0 {
		t.Fatalf("alerts left: %+v", b.calls["a"].Alerts)
	}
}

func TestRingingCountsFromTheStateNotTheCall(t *testing.T) {
	b := newBoard(t, Rule{ID: "ring", Kind: Ringing, Seconds: 10})
	b.now = t0
	b.state("out", calls.Establishing)
	b.expect(8)
	b.state("out", calls.Ringing)
	b.expect(15) // ringing for 7 s
	b.expect(19, "out ring raised")
}

func TestHoldAlertsEachHold(t *testing.T) {
	b := newBoard(t, Rule{ID: "held", Kind: Hold, Seconds: 60, Words: "Caller on hold too long"})
	b.state("a", calls.Established)
	b.expect(100) // established for long: not on hold
	b.state("a", calls.Hold)
	b.expect(160)
	b.expect(161, "a held raised")
	if a, _ := b.calls["a"].Alert("held"); a.Words != "Caller on hold too long" || a.Detail != "on hold for 1 min 1 s" {
		t.Fatalf("alert %+v", a)
	}
	b.state("a", calls.Established)
	b.expect(170, "a held cleared")
	b.state("a", calls.Hold) // on hold again at 170: counted afresh
	b.expect(200)
	b.expect(231, "a held raised")
}

func TestDurationClearsWhenTheCallEnds(t *testing.T) {
	b := newBoard(t, Rule{ID: "long", Kind: Duration, Seconds: 300})
	b.state("a", calls.Incoming)
	b.now = t0.Add(20 * time.Second)
	b.state("a", calls.Established) // the duration counts from here
	b.expect(310)
	b.expect(321, "a long raised")
	b.state("a", calls.Hold) // on hold is still a call that lasts
	b.expect(400)
	b.end("a", 200, 5001)
	b.expect(401, "a long cleared")
	b.expect(500)
}

func TestAcknowledgedAlertStaysUntilItClears(t *testing.T) {
	b := newBoard(t, Rule{ID: "ring", Kind: Ringing, Seconds: 5})
	b.state("a", calls.Incoming)
	b.expect(6, "a ring raised")
	b.apply(calls.Event{Kind: calls.KindAlert, CallID: "a", Alert: &calls.AlertNote{Op: calls.AlertAcknowledged, Rule: "ring", Actor: "bob"}})
	b.expect(9)
	if a, _ := b.calls["a"].Alert("ring"); a.AckedBy != "bob" {
		t.Fatalf("acknowledgement lost: %+v", a)
	}
	b.end("a", 408, 1106)
	b.expect(12, "a ring cleared")
}

func TestRulesChanging(t *testing.T) {
	b := newBoard(t, Rule{ID: "ring", Kind: Ringing, Seconds: 5}, Rule{ID: "long", Kind: Duration, Seconds: 8})
	b.state("a", calls.Incoming)
	b.state("b", calls.Incoming)
	b.expect(9, "a ring raised", "a long raised", "b ring raised", "b long raised")
	b.rules = Normalize([]Rule{{ID: "long", Kind: Duration, Seconds: 60}})
	b.expect(10, "a ring cleared", "a long cleared", "b ring cleared", "b long cleared")
	var why []string
	for _, c := range Evaluate(nil, []calls.Call{{ID: "x", State: calls.Incoming, Alerts: []calls.Alert{{Rule: "gone"}}}}, b.now) {
		why = append(why, c.Note.Detail)
	}
	if !slices.Equal(why, []string{"the rule was removed"}) {
		t.Fatalf("clear of a removed rule says %q", why)
	}
}

func TestFailureRate(t *testing.T) {
	b := newBoard(t, Rule{ID: "timeouts", Kind: Failures, Count: 2, Category: reasons.Timeout, Minutes: 1})
	fail := func(id string, sec int) {
		b.now = t0.Add(time.Duration(sec) * time.Second)
		b.state(id, calls.Incoming)
		b.end(id, 408, 1106) // a timeout
	}
	fail("f1", 0)
	fail("f2", 10)
	b.now = t0.Add(15 * time.Second)
	b.state("ok", calls.Established)
	b.end("ok", 200, 5001) // ended normally: not counted
	b.expect(20)
	fail("f3", 30)
	b.expect(30, "f3 timeouts raised")
	if a, _ := b.calls["f3"].Alert("timeouts"); a.Words != "More than 2 timeout failures in 1 min" || a.Detail != "3 timeout failures in 1 min" {
		t.Fatalf("alert %+v", a)
	}
	fail("f4", 40)
	b.expect(40)                        // still breached: the alert stays where it is
	b.expect(65)                        // f1 left the window: 3 left, still more than 2
	b.expect(71, "f3 timeouts cleared") // f2 left too: 2 left
	for _, c := range b.list() {
		if len(c.Alerts) != 0 {
			t.Fatalf("%s still alerted: %+v", c.ID, c.Alerts)
		}
	}
	fail("f5", 80)
	b.expect(80, "f5 timeouts raised")
	b.expect(200, "f5 timeouts cleared")
}

func TestBreachesIgnoreEndedAndOtherStates(t *testing.T) {
	rules := Normalize([]Rule{{Kind: Ringing, Seconds: 1}, {Kind: Hold, Seconds: 1}, {Kind: Duration, Seconds: 100}})
	now := t0.Add(time.Hour)
	cs := []calls.Call{
		{ID: "ended", State: calls.Terminated, StartedAt: t0, StateSince: t0, EndedAt: t0.Add(time.Minute)},
		{ID: "est", State: calls.Established, StartedAt: now.Add(-50 * time.Second), StateSince: now.Add(-50 * time.Second), AnsweredAt: now.Add(-50 * time.Second)},
		{ID: "held", State: calls.Hold, StartedAt: now.Add(-50 * time.Second), StateSince: now.Add(-2 * time.Second), AnsweredAt: now.Add(-50 * time.Second)},
		{ID: "ring", State: calls.Ringing, StartedAt: now.Add(-3 * time.Second), StateSince: now.Add(-3 * time.Second)},
		{ID: "unknown", State: "parked", StartedAt: now.Add(-3 * time.Second)},
	}
	var got []string
	for _, br := range Breaches(rules, cs, now) {
		got = append(got, fmt.Sprintf("%s %s %s", br.CallID, br.Rule.ID, br.Detail))
	}
	want := []string{"held hold-1 on hold for 2 s", "ring ringing-1 ringing for 3 s"}
	if !slices.Equal(got, want) {
		t.Fatalf("breaches %q, want %q", got, want)
	}
}
