package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/app/reasons"
	"switchboard/app/verbs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixedClock is a local clock the test moves by hand.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

func live(id string, state calls.State, dir string, started time.Time) calls.Call {
	return calls.Call{ID: id, State: state, Direction: dir, StartedAt: started, UpdatedAt: started,
		Source:  calls.Party{Kind: "phone", ID: "+1555" + id, Phone: "+1555" + id},
		Targets: []calls.Party{{Kind: "application", ID: "bot", DisplayName: "Front desk bot"}}}
}

func ended(id string, endedAt time.Time, code, subcode int) calls.Call {
	c := live(id, calls.Terminated, calls.DirectionIncoming, endedAt.Add(-time.Minute))
	c.EndedAt = endedAt
	c.Result = &calls.Result{Code: code, Subcode: subcode}
	return c
}

func callMsg(seq uint64, c calls.Call) feedwire.Message {
	c.Seq = seq
	return feedwire.Message{Type: feedwire.TypeCall, Seq: seq, Call: &c}
}

func ids(cs []calls.Call) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestStoreSnapshotOrdersLiveAndEnded(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 10, Now: t0, Calls: []calls.Call{
		live("a", calls.Established, calls.DirectionIncoming, t0.Add(-3*time.Minute)),
		live("b", calls.Incoming, calls.DirectionIncoming, t0.Add(-1*time.Minute)),
		live("c", calls.Hold, calls.DirectionOutgoing, t0.Add(-2*time.Minute)),
		ended("x", t0.Add(-10*time.Minute), 200, 4097),
		ended("y", t0.Add(-5*time.Minute), 480, 10037),
	}})
	if s.Seq() != 10 || s.Len() != 5 || s.LiveLen() != 3 || s.EndedLen() != 2 {
		t.Fatalf("seq %d len %d live %d ended %d", s.Seq(), s.Len(), s.LiveLen(), s.EndedLen())
	}
	got, total := s.View(Filter{}, 0, 10)
	if want := []string{"b", "c", "a"}; !slices.Equal(ids(got), want) || total != 3 {
		t.Errorf("live view = %v (%d), want %v newest first", ids(got), total, want)
	}
	got, total = s.View(Filter{Ended: true}, 0, 10)
	if want := []string{"y", "x"}; !slices.Equal(ids(got), want) || total != 2 {
		t.Errorf("ended view = %v (%d), want %v most recent first", ids(got), total, want)
	}
	if r, ok := s.Reason("y"); !ok || r.Category != reasons.Unreachable {
		t.Errorf("Reason(y) = %+v, %v", r, ok)
	}
	if _, ok := s.Reason("a"); ok {
		t.Errorf("Reason(a) of a live call is ok")
	}
}

func TestStoreApply(t *testing.T) {
	tests := []struct {
		name    string
		msgs    []feedwire.Message
		wantIDs []string // live view after the messages
		wantSeq uint64
		wantErr bool
	}{
		{
			name:    "new call",
			msgs:    []feedwire.Message{callMsg(11, live("n", calls.Incoming, calls.DirectionIncoming, t0))},
			wantIDs: []string{"n", "a"}, wantSeq: 11,
		},
		{
			name: "duplicate and old sequences are ignored",
			msgs: []feedwire.Message{
				callMsg(11, live("n", calls.Incoming, calls.DirectionIncoming, t0)),
				callMsg(11, live("dup", calls.Incoming, calls.DirectionIncoming, t0)),
				callMsg(9, live("old", calls.Incoming, calls.DirectionIncoming, t0)),
			},
			wantIDs: []string{"n", "a"}, wantSeq: 11,
		},
		{
			name:    "a call that ends leaves the live list",
			msgs:    []feedwire.Message{callMsg(12, ended("a", t0, 200, 5001))},
			wantSeq: 12,
		},
		{
			name:    "removed",
			msgs:    []feedwire.Message{{Type: feedwire.TypeRemoved, Seq: 13, CallID: "a"}},
			wantSeq: 13,
		},
		{
			name:    "removed at an old sequence is ignored",
			msgs:    []feedwire.Message{{Type: feedwire.TypeRemoved, Seq: 10, CallID: "a"}},
			wantIDs: []string{"a"}, wantSeq: 10,
		},
		{
			name:    "call message without a call",
			msgs:    []feedwire.Message{{Type: feedwire.TypeCall, Seq: 11}},
			wantIDs: []string{"a"}, wantSeq: 10, wantErr: true,
		},
		{
			name:    "unknown type",
			msgs:    []feedwire.Message{{Type: "bogus", Seq: 11}},
			wantIDs: []string{"a"}, wantSeq: 10, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(Options{Now: (&fixedClock{t0}).Now})
			s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 10, Now: t0,
				Calls: []calls.Call{live("a", calls.Established, calls.DirectionIncoming, t0.Add(-time.Hour))}})
			var err error
			for _, m := range tt.msgs {
				if _, e := s.Apply(m); e != nil {
					err = e
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			got, _ := s.View(Filter{}, 0, -1)
			if !slices.Equal(ids(got), tt.wantIDs) && !(len(got) == 0 && len(tt.wantIDs) == 0) {
				t.Errorf("live = %v, want %v", ids(got), tt.wantIDs)
			}
			if s.Seq() != tt.wantSeq {
				t.Errorf("seq = %d, want %d", s.Seq(), tt.wantSeq)
			}
		})
	}
}

func TestStoreResume(t *testing.T) {
	clock := &fixedClock{t0}
	s := NewStore(Options{Now: clock.Now})
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 10, Now: t0})
	clock.now = t0.Add(time.Minute)
	if err := s.Resume(feedwire.Message{Type: feedwire.TypeResume, Seq: 10, Now: t0.Add(time.Minute + 3*time.Second)}); err != nil {
		t.Fatalf("resume at the held sequence: %v", err)
	}
	if s.Offset() != 3*time.Second {
		t.Errorf("offset = %v, want 3s from the resume's clock", s.Offset())
	}
	if err := s.Resume(feedwire.Message{Type: feedwire.TypeResume, Seq: 12}); !errors.Is(err, ErrGap) {
		t.Errorf("resume past the held sequence: err = %v, want ErrGap", err)
	}
}

func TestStoreServerClock(t *testing.T) {
	clock := &fixedClock{t0}
	s := NewStore(Options{Now: clock.Now})
	server := t0.Add(-90 * time.Second) // the browser's clock is 90s fast
	c := live("a", calls.Established, calls.DirectionIncoming, server.Add(-time.Minute))
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1, Now: server, Calls: []calls.Call{c}})
	clock.now = t0.Add(10 * time.Second)
	if got, want := s.Now(), server.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	got, _ := s.Get("a")
	if d := got.Duration(s.Now()); d != 70*time.Second {
		t.Errorf("duration on the server's clock = %v, want 70s", d)
	}
}

func TestStoreApplyBatchGapGivesSnapshot(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	in := NewInbox(nil)
	mustPut(t, in, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 5, Now: t0,
		Calls: []calls.Call{live("a", calls.Established, calls.DirectionIncoming, t0)}})
	mustPut(t, in, callMsg(6, live("b", calls.Incoming, calls.DirectionIncoming, t0)))
	if _, err := s.ApplyBatch(in.Take()); err != nil {
		t.Fatal(err)
	}
	// The connection drops; on reconnect the server cannot resume and
	// sends a snapshot in which "a" is gone and "c" appeared.
	mustPut(t, in, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 20, Now: t0,
		Calls: []calls.Call{live("b", calls.Established, calls.DirectionIncoming, t0), live("c", calls.Incoming, calls.DirectionIncoming, t0.Add(time.Second))}})
	mustPut(t, in, callMsg(21, live("d", calls.Incoming, calls.DirectionIncoming, t0.Add(2*time.Second))))
	ch, err := s.ApplyBatch(in.Take())
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Reset || !slices.Equal(ch.IDs, []string{"d"}) {
		t.Errorf("changes = %+v, want a reset and d", ch)
	}
	got, _ := s.View(Filter{}, 0, -1)
	if want := []string{"d", "c", "b"}; !slices.Equal(ids(got), want) || s.Seq() != 21 {
		t.Errorf("after the snapshot: %v at %d, want %v at 21", ids(got), s.Seq(), want)
	}
}

func mustPut(t *testing.T, in *Inbox, m feedwire.Message) {
	t.Helper()
	if err := in.Put(m); err != nil {
		t.Fatalf("Put(%s %d): %v", m.Type, m.Seq, err)
	}
}

func TestInboxCoalesces(t *testing.T) {
	in := NewInbox(nil)
	select {
	case <-in.Ready():
		t.Fatal("an empty inbox is ready")
	default:
	}
	mustPut(t, in, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 100, Now: t0})
	seq := uint64(100)
	for i := range 300 { // 100 updates each of three calls
		seq++
		c := live(fmt.Sprint("c", i%3), calls.Established, calls.DirectionIncoming, t0)
		c.Subject = fmt.Sprint("update ", i)
		mustPut(t, in, callMsg(seq, c))
	}
	mustPut(t, in, callMsg(50, live("stale", calls.Incoming, calls.DirectionIncoming, t0))) // below Seq: dropped
	select {
	case <-in.Ready():
	default:
		t.Fatal("inbox with messages is not ready")
	}
	b := in.Take()
	if b.Snapshot == nil || b.Snapshot.Seq != 100 {
		t.Fatalf("snapshot = %+v", b.Snapshot)
	}
	if len(b.Messages) != 3 || b.Received != 301 {
		t.Fatalf("%d messages from %d received, want 3 from 301", len(b.Messages), b.Received)
	}
	for i, m := range b.Messages {
		if want := uint64(398 + i); m.Seq != want || m.Call.Subject != fmt.Sprint("update ", 297+i) {
			t.Errorf("message %d = seq %d %q, want the latest (seq %d)", i, m.Seq, m.Call.Subject, want)
		}
	}
	if in.Seq() != 400 {
		t.Errorf("Seq = %d, want 400", in.Seq())
	}
	if b := in.Take(); b.Snapshot != nil || len(b.Messages) != 0 || b.Received != 0 {
		t.Errorf("second Take = %+v, want empty", b)
	}
	select {
	case <-in.Ready():
		t.Fatal("a taken inbox is still ready")
	default:
	}
}

func TestInboxSnapshotDiscardsPending(t *testing.T) {
	in := NewInbox(nil)
	mustPut(t, in, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1})
	mustPut(t, in, callMsg(2, live("a", calls.Incoming, calls.DirectionIncoming, t0)))
	mustPut(t, in, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 9})
	mustPut(t, in, callMsg(8, live("late", calls.Incoming, calls.DirectionIncoming, t0)))
	mustPut(t, in, feedwire.Message{Type: feedwire.TypeRemoved, Seq: 10, CallID: "z"})
	b := in.Take()
	if b.Snapshot == nil || b.Snapshot.Seq != 9 || len(b.Messages) != 1 || b.Messages[0].CallID != "z" {
		t.Errorf("batch = %+v, want the second snapshot and the removal", b)
	}
}

func TestInboxResume(t *testing.T) {
	tests := []struct {
		name    string
		resume  uint64
		wantGap bool
	}{
		{"at the held sequence", 7, false},
		{"past it", 9, true},
		{"before it", 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInbox(nil)
			mustPut(t, in, feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 7})
			err := in.Put(feedwire.Message{Type: feedwire.TypeResume, Seq: tt.resume, Now: t0})
			if errors.Is(err, ErrGap) != tt.wantGap {
				t.Errorf("Put(resume %d) = %v, want gap %v", tt.resume, err, tt.wantGap)
			}
		})
	}
}

func TestInboxRejectsBadMessages(t *testing.T) {
	for _, m := range []feedwire.Message{
		{Type: "bogus", Seq: 1},
		{Type: feedwire.TypeCall, Seq: 1},
		{Type: feedwire.TypeRemoved, Seq: 1},
	} {
		if err := NewInbox(nil).Put(m); err == nil {
			t.Errorf("Put(%+v) accepted", m)
		}
	}
}

// bigStore holds n live calls started a second apart (call 0 oldest),
// alternating directions and cycling through four states, and n/2 ended
// calls ended a second apart.
func bigStore(n int, now time.Time) *Store {
	states := []calls.State{calls.Incoming, calls.Established, calls.Hold, calls.Ringing}
	var cs []calls.Call
	for i := range n {
		dir := calls.DirectionIncoming
		if i%2 == 1 {
			dir = calls.DirectionOutgoing
		}
		c := live(fmt.Sprintf("call-%05d", i), states[i%4], dir, now.Add(-time.Duration(n-i)*time.Second))
		c.Subject = fmt.Sprintf("subject %d", i)
		cs = append(cs, c)
	}
	for i := range n / 2 {
		cs = append(cs, ended(fmt.Sprintf("end-%05d", i), now.Add(-time.Duration(i)*time.Second), 200, 4097))
	}
	s := NewStore(Options{Now: (&fixedClock{now}).Now, MaxEnded: n})
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1, Now: now, Calls: cs})
	return s
}

func TestStoreViewWindowsFiltersAndSearch(t *testing.T) {
	s := bigStore(5000, t0)
	tests := []struct {
		name          string
		filter        Filter
		offset, limit int
		wantFirst     []string
		wantTotal     int
	}{
		{"first page", Filter{}, 0, 3, []string{"call-04999", "call-04998", "call-04997"}, 5000},
		{"a middle page", Filter{}, 100, 2, []string{"call-04899", "call-04898"}, 5000},
		{"past the end", Filter{}, 6000, 10, nil, 5000},
		{"incoming only", Filter{Direction: calls.DirectionIncoming}, 0, 2, []string{"call-04998", "call-04996"}, 2500},
		{"one state", Filter{States: []calls.State{calls.Hold}}, 0, 2, []string{"call-04998", "call-04994"}, 1250},
		{"two states and a direction", Filter{States: []calls.State{calls.Hold, calls.Incoming}, Direction: calls.DirectionOutgoing}, 0, 2, nil, 0},
		{"search by id", Filter{Search: "CALL-0012"}, 0, 3, []string{"call-00129", "call-00128", "call-00127"}, 10},
		{"search by subject", Filter{Search: "subject 4321"}, 0, 5, []string{"call-04321"}, 1},
		{"search by phone", Filter{Search: "+1555call-00007"}, 0, 5, []string{"call-00007"}, 1},
		{"search by callee", Filter{Search: "front desk"}, 0, 1, []string{"call-04999"}, 5000},
		{"ended", Filter{Ended: true}, 0, 2, []string{"end-00000", "end-00001"}, 2500},
		{"ended search", Filter{Ended: true, Search: "end-0249"}, 0, 20, nil, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := s.View(tt.filter, tt.offset, tt.limit)
			if total != tt.wantTotal {
				t.Errorf("total = %d, want %d", total, tt.wantTotal)
			}
			if tt.wantFirst != nil && !slices.Equal(ids(got), tt.wantFirst) {
				t.Errorf("window = %v, want %v", ids(got), tt.wantFirst)
			}
			if len(got) > max(tt.limit, 0) {
				t.Errorf("window has %d calls, limit %d", len(got), tt.limit)
			}
		})
	}
}

func TestStoreViewFollowsChanges(t *testing.T) {
	s := bigStore(5000, t0)
	f := Filter{States: []calls.State{calls.Incoming}}
	if _, total := s.View(f, 0, 10); total != 1250 {
		t.Fatalf("incoming total = %d", total)
	}
	// call-04996 (incoming) is answered; a new incoming call arrives.
	c, _ := s.Get("call-04996")
	c.State = calls.Established
	if _, err := s.Apply(callMsg(2, c)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(callMsg(3, live("new", calls.Incoming, calls.DirectionIncoming, t0.Add(time.Second)))); err != nil {
		t.Fatal(err)
	}
	got, total := s.View(f, 0, 2)
	if total != 1250 || !slices.Equal(ids(got), []string{"new", "call-04992"}) {
		t.Errorf("after changes: %v of %d", ids(got), total)
	}
	// It ends: it moves to the ended list, first.
	if _, err := s.Apply(callMsg(4, ended("call-04000", t0.Add(time.Second), 408, 8537))); err != nil {
		t.Fatal(err)
	}
	if _, total := s.View(Filter{}, 0, 0); total != 5000 {
		t.Errorf("live total = %d, want 5000", total)
	}
	if got, _ := s.View(Filter{Ended: true}, 0, 1); len(got) != 1 || got[0].ID != "call-04000" {
		t.Errorf("first ended = %v", ids(got))
	}
}

func TestStoreRetention(t *testing.T) {
	clock := &fixedClock{t0}
	s := NewStore(Options{Now: clock.Now, History: time.Hour, MaxEnded: 3})
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1, Now: t0, Calls: []calls.Call{
		ended("old", t0.Add(-2*time.Hour), 200, 4097),
		ended("e1", t0.Add(-10*time.Minute), 200, 4097),
		ended("e2", t0.Add(-5*time.Minute), 200, 4097),
		live("l", calls.Established, calls.DirectionIncoming, t0.Add(-3*time.Hour)),
	}})
	if got := s.Prune(); !slices.Equal(got, []string{"old"}) {
		t.Errorf("Prune = %v, want the call older than the history", got)
	}
	if got := s.Prune(); got != nil {
		t.Errorf("second Prune = %v, want nothing", got)
	}
	// Two more end: the cap of 3 drops the oldest ended call.
	for i, id := range []string{"e3", "e4"} {
		if _, err := s.Apply(callMsg(uint64(2+i), ended(id, t0.Add(-time.Duration(2-i)*time.Minute), 200, 4097))); err != nil {
			t.Fatal(err)
		}
	}
	got, total := s.View(Filter{Ended: true}, 0, -1)
	if want := []string{"e4", "e3", "e2"}; !slices.Equal(ids(got), want) || total != 3 {
		t.Errorf("ended = %v (%d), want %v", ids(got), total, want)
	}
	if _, ok := s.Get("e1"); ok {
		t.Errorf("e1 is still held after the cap dropped it")
	}
	clock.now = t0.Add(58 * time.Minute) // e2 ended 63 minutes ago by now
	if got := s.Prune(); !slices.Equal(got, []string{"e2"}) {
		t.Errorf("Prune after an hour = %v, want [e2]", got)
	}
	if _, ok := s.Get("l"); !ok {
		t.Errorf("a live call was pruned")
	}
}

func TestStoreSummary(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	hungUp := ended("h", t0.Add(-time.Minute), 200, 5001)
	hungUp.EndedBy, hungUp.EndAction = "alice", verbs.HangUp
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1, Now: t0, Calls: []calls.Call{
		live("a", calls.Incoming, calls.DirectionIncoming, t0),
		live("b", calls.Incoming, calls.DirectionIncoming, t0),
		live("c", calls.Established, calls.DirectionIncoming, t0),
		live("d", "futureState", calls.DirectionIncoming, t0),
		ended("n", t0.Add(-10*time.Minute), 200, 4097),
		ended("t", t0.Add(-20*time.Minute), 408, 8537),
		ended("u", t0.Add(-30*time.Minute), 480, 10076),
		hungUp,
		ended("long-ago", t0.Add(-90*time.Minute), 200, 4097),
	}})
	sum := s.Summary(time.Hour)
	if sum.Live != 4 || sum.Ended != 4 {
		t.Errorf("live %d ended %d, want 4 and 4", sum.Live, sum.Ended)
	}
	states := map[calls.State]int{}
	for _, sc := range sum.ByState {
		states[sc.State] = sc.Count
	}
	if states[calls.Incoming] != 2 || states[calls.Established] != 1 || states["futureState"] != 1 || states[calls.Hold] != 0 {
		t.Errorf("by state = %v", sum.ByState)
	}
	if last := sum.ByState[len(sum.ByState)-1]; last.State != "futureState" {
		t.Errorf("unknown states should come last, got %v", last)
	}
	cats := map[reasons.Category]int{}
	for _, cc := range sum.EndedByCategory {
		cats[cc.Category] = cc.Count
	}
	want := map[reasons.Category]int{reasons.EndedNormally: 1, reasons.Timeout: 1, reasons.Unreachable: 1, reasons.EndedByBot: 1}
	for c, n := range want {
		if cats[c] != n {
			t.Errorf("category %s = %d, want %d (all: %v)", c, cats[c], n, sum.EndedByCategory)
		}
	}
	if len(sum.EndedByCategory) != len(reasons.Categories()) {
		t.Errorf("EndedByCategory has %d entries, want every category", len(sum.EndedByCategory))
	}
}

func BenchmarkStoreApplyAndView(b *testing.B) {
	s := bigStore(5000, t0)
	f := Filter{Direction: calls.DirectionIncoming, Search: "subject"}
	seq := uint64(1)
	for i := 0; b.Loop(); i++ {
		seq++
		c, _ := s.Get(fmt.Sprintf("call-%05d", i%5000))
		c.Participants++
		if _, err := s.Apply(callMsg(seq, c)); err != nil {
			b.Fatal(err)
		}
		s.View(f, 0, 50)
	}
}

// TestStoreStaysSortedAndCountedThroughChanges: after a long run of
// random changes (state changes that keep a call in place, changes of its
// start time that move it, endings, removals), both lists are exactly the
// calls held, in order, and the summary's counts are those of a fresh
// count.
func TestStoreStaysSortedAndCountedThroughChanges(t *testing.T) {
	t.Run("ids hashed", func(t *testing.T) { checkThroughChanges(t, bigStore(300, t0)) })
	t.Run("every id clashing", func(t *testing.T) {
		s := NewStore(Options{Now: (&fixedClock{t0}).Now, MaxEnded: 300})
		s.hash = func(string) uint64 { return 7 } // one hash for all: the clash table holds all but one
		s.ApplySnapshot(bigStore(300, t0).snapshot())
		checkThroughChanges(t, s)
	})
}

// snapshot is the store's calls as a snapshot message.
func (s *Store) snapshot() feedwire.Message {
	live, _ := s.View(Filter{}, 0, -1)
	ended, _ := s.View(Filter{Ended: true}, 0, -1)
	return feedwire.Message{Type: feedwire.TypeSnapshot, Seq: s.Seq(), Now: t0, Calls: append(live, ended...)}
}

func checkThroughChanges(t *testing.T, s *Store) {
	rnd := rand.New(rand.NewPCG(7, 9))
	states := []calls.State{calls.Incoming, calls.Established, calls.Hold, calls.Ringing, "futureState"}
	seq := uint64(1)
	for range 3000 {
		seq++
		id := fmt.Sprintf("call-%05d", rnd.IntN(320)) // a few are new
		c, ok := s.Get(id)
		if !ok {
			c = live(id, calls.Incoming, calls.DirectionIncoming, t0.Add(-time.Duration(rnd.IntN(600))*time.Second))
		}
		switch r := rnd.IntN(20); {
		case r < 14:
			c.State = states[rnd.IntN(len(states))]
		case r < 16:
			c.StartedAt = c.StartedAt.Add(time.Duration(rnd.IntN(20)-10) * time.Second)
		case r < 18:
			c.State, c.EndedAt = calls.Terminated, t0.Add(-time.Duration(rnd.IntN(100))*time.Second)
		default:
			if _, err := s.Apply(feedwire.Message{Type: feedwire.TypeRemoved, Seq: seq, CallID: id}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := s.Apply(callMsg(seq, c)); err != nil {
			t.Fatal(err)
		}
	}
	liveList, _ := s.View(Filter{}, 0, -1)
	endedList, _ := s.View(Filter{Ended: true}, 0, -1)
	count := map[calls.State]int{}
	var allLive, allEnded []slot
	for i := range s.entries {
		e := &s.entries[i]
		if !e.held() {
			continue // a free slot
		}
		if e.ended {
			allEnded = append(allEnded, slot(i))
		} else {
			allLive = append(allLive, slot(i))
			count[s.stateOf(e)]++
		}
	}
	if held := len(allLive) + len(allEnded); held != s.Len() {
		t.Fatalf("%d slots hold calls, the store counts %d", held, s.Len())
	}
	slices.SortFunc(allLive, s.byStart)
	slices.SortFunc(allEnded, s.byEnd)
	for _, tc := range []struct {
		name string
		got  []calls.Call
		want []slot
	}{{"live", liveList, allLive}, {"ended", endedList, allEnded}} {
		if len(tc.got) != len(tc.want) {
			t.Fatalf("%s: the list holds %d calls, the store %d", tc.name, len(tc.got), len(tc.want))
		}
		for i := range tc.got {
			want := &s.entries[tc.want[i]]
			if tc.got[i].ID != string(s.idOf(want)) || tc.got[i].Seq != want.seq {
				t.Fatalf("%s[%d] is %s at %d, want %s at %d", tc.name, i, tc.got[i].ID, tc.got[i].Seq, s.idOf(want), want.seq)
			}
			if _, ok := s.Get(tc.got[i].ID); !ok {
				t.Fatalf("%s[%d] %s is listed but not found", tc.name, i, tc.got[i].ID)
			}
		}
	}
	for _, sc := range s.Summary(time.Hour).ByState {
		if sc.Count != count[sc.State] {
			t.Fatalf("summary counts %d calls %s, the store holds %d", sc.Count, sc.State, count[sc.State])
		}
		delete(count, sc.State)
	}
	for st, n := range count {
		if n != 0 {
			t.Fatalf("the summary leaves out %d calls %s", n, st)
		}
	}
}

// BenchmarkStoreUpdateBigView is a console holding 50,000 live calls that
// receives state changes, then renders a window: what W4's 2,000
// notifications a second cost the console per change.
func BenchmarkStoreUpdateBigView(b *testing.B) {
	s := bigStore(50000, t0)
	states := []calls.State{calls.Established, calls.Hold}
	seq := uint64(1)
	for i := 0; b.Loop(); i++ {
		seq++
		c, _ := s.Get(fmt.Sprintf("call-%05d", (i*7919)%50000))
		c.State = states[i%2]
		if _, err := s.Apply(callMsg(seq, c)); err != nil {
			b.Fatal(err)
		}
		if i%100 == 0 { // a render every 100 changes: a window and the summary
			s.View(Filter{}, 0, 50)
			s.Summary(time.Hour)
		}
	}
}

// TestStoreShowsWhatTheLatestSnapshotSays: calls are decoded for showing
// once per change; a snapshot of a new epoch may reuse a sequence for
// another content, and the store shows the new one.
func TestStoreShowsWhatTheLatestSnapshotSays(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	c := live("a", calls.Ringing, calls.DirectionIncoming, t0)
	c.Seq, c.Subject = 7, "before"
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 7, Now: t0, Calls: []calls.Call{c}})
	if got, _ := s.Get("a"); got.Subject != "before" || got.Source.Phone != "+1555a" || len(got.Targets) != 1 {
		t.Fatalf("Get = %+v", got)
	}
	c.Subject, c.State = "after", calls.Established
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 7, Now: t0, Calls: []calls.Call{c}})
	rows, _ := s.View(Filter{}, 0, 10)
	if got, _ := s.Get("a"); got.Subject != "after" || len(rows) != 1 || rows[0].Subject != "after" || rows[0].State != calls.Established {
		t.Fatalf("after a new snapshot at the same sequence: Get %q, View %+v", got.Subject, rows)
	}
}

// Alerts counts a call's alerts as its last change left them, without
// decoding it, and says when the store does not hold the call.
func TestStoreAlertsFollowTheCall(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	a := live("a", calls.Established, calls.DirectionIncoming, t0)
	a.Alerts = []calls.Alert{{Rule: "hold", Words: "On hold too long"}, {Rule: "duration", Words: "Long call"}}
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 10, Now: t0, Calls: []calls.Call{a,
		live("b", calls.Incoming, calls.DirectionIncoming, t0)}})
	check := func(id string, wantN int, wantOK bool) {
		t.Helper()
		if n, ok := s.Alerts(id); n != wantN || ok != wantOK {
			t.Fatalf("Alerts(%q) = %d, %v; want %d, %v", id, n, ok, wantN, wantOK)
		}
	}
	check("a", 2, true)
	check("b", 0, true)
	check("gone", 0, false)
	a.Alerts = a.Alerts[:1]
	if _, err := s.Apply(callMsg(11, a)); err != nil {
		t.Fatal(err)
	}
	check("a", 1, true)
	b := live("b", calls.Incoming, calls.DirectionIncoming, t0)
	b.Alerts = []calls.Alert{{Rule: "ringing", Words: "Ringing too long"}}
	if _, err := s.Apply(callMsg(12, b)); err != nil {
		t.Fatal(err)
	}
	check("b", 1, true)
}

// TestStoreKeepsTheCallJSONTheFeedSent: a call message decoded from the
// feed brings the call's JSON, and the store keeps those bytes rather than
// encoding the call again (what a busy console spent most of each flush
// on); what it shows is the same.
func TestStoreKeepsTheCallJSONTheFeedSent(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1, Now: t0})
	c := live("a", calls.Hold, calls.DirectionIncoming, t0)
	c.Seq = 2
	sent, _ := json.Marshal(c)
	sent = append(sent[:len(sent)-1], `,"fromANewerServer":true}`...)
	msgs, err := feedwire.Decode(fmt.Appendf(nil, `{"type":"call","seq":2,"call":%s}`, sent))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(msgs[0]); err != nil {
		t.Fatal(err)
	}
	i, ok := s.find("a")
	if !ok {
		t.Fatal("the call is not held")
	}
	if raw := s.rawOf(&s.entries[i]); !bytes.Equal(raw, sent) {
		t.Fatalf("the store holds\n%s\nthe feed sent\n%s", raw, sent)
	}
	if got, _ := s.Get("a"); got.State != calls.Hold || got.Source != c.Source {
		t.Fatalf("Get = %+v", got)
	}
}
