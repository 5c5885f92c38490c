package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/app/reasons"
)

func TestSavedViewRoundTrip(t *testing.T) {
	clock := &fixedClock{t0}
	s := NewStore(Options{Now: clock.Now})
	if _, err := s.Save(User{Name: "alice"}, 10); !errors.Is(err, ErrNoSavedView) {
		t.Fatalf("a store without a view saved something: %v", err)
	}
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 42, Epoch: "e1", Now: t0.Add(5 * time.Second), Calls: []calls.Call{
		live("a", calls.Established, calls.DirectionIncoming, t0.Add(-3*time.Minute)),
		ended("x", t0.Add(-10*time.Minute), 200, 4097),
		ended("y", t0.Add(-5*time.Minute), 480, 10037),
	}})
	sv, err := s.Save(User{Name: "alice", Role: Supervisor}, 1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := sv.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeSaved(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Seq != 42 || back.Epoch != "e1" || back.User.Name != "alice" || !slices.Equal(ids(back.Calls), []string{"a", "y"}) {
		t.Fatalf("saved %d %q %q %v; want 42, e1, alice, the live call and the last ended one", back.Seq, back.Epoch, back.User.Name, ids(back.Calls))
	}
	// Reloaded a minute later: the same view, the server's clock carried forward.
	clock.now = t0.Add(time.Minute)
	in := NewInbox(clock.Now)
	if !in.Restore(back.Snapshot(clock.now)) {
		t.Fatal("an empty inbox refused the saved view")
	}
	if in.Seq() != 42 {
		t.Errorf("the inbox resumes from %d, want 42", in.Seq())
	}
	restored := NewStore(Options{Now: clock.Now})
	if _, err := restored.ApplyBatch(in.Take()); err != nil {
		t.Fatal(err)
	}
	if got := restored.Now(); !got.Equal(t0.Add(time.Minute + 5*time.Second)) {
		t.Errorf("the restored server clock reads %v, want a minute past the saved %v", got, t0.Add(5*time.Second))
	}
	if restored.Seq() != 42 || restored.Epoch() != "e1" || restored.LiveLen() != 1 || restored.EndedLen() != 1 {
		t.Errorf("restored seq %d epoch %q live %d ended %d", restored.Seq(), restored.Epoch(), restored.LiveLen(), restored.EndedLen())
	}
	if in.Restore(back.Snapshot(clock.now)) {
		t.Error("an inbox holding a view took a saved one over it")
	}
	for _, bad := range []string{`{"format":99,"seq":3}`, `{"format":1,"seq":0}`, `not json`} {
		if _, err := DecodeSaved([]byte(bad)); err == nil {
			t.Errorf("%s decoded as a saved view", bad)
		}
	}
}

// TestFeedResumesARestoredView: a console reloaded offline shows its saved
// view; when the server answers, the feed asks for what came after it.
func TestFeedResumesARestoredView(t *testing.T) {
	a := live("a", calls.Incoming, calls.DirectionIncoming, t0)
	srv := &feedServer{t: t}
	srv.scripts = append(srv.scripts, func(r *http.Request, w http.ResponseWriter) *websocket.Conn {
		conn := accept(t, w, r)
		send(t, conn, feedwire.Message{Type: feedwire.TypeResume, Seq: 42, Epoch: "e1", Now: t0}, callMsg(43, a))
		return closeWith(conn, websocket.StatusPolicyViolation, feedwire.ReasonLoggedOut)
	})
	f, _, _ := startFeed(t, srv, nil)
	f.Inbox.Restore(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 42, Epoch: "e1", Now: t0})
	if err := runFeed(t, f); !errors.Is(err, ErrLoggedOut) {
		t.Fatalf("Run = %v, want ErrLoggedOut", err)
	}
	if got := srv.since(); !slices.Equal(got, []string{"42"}) {
		t.Errorf("since asked = %q, want 42", got)
	}
	if f.Inbox.Seq() != 43 {
		t.Errorf("inbox at %d, want 43", f.Inbox.Seq())
	}
}

func TestStoreSortsByColumn(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	a := live("a", calls.Established, calls.DirectionIncoming, t0.Add(-3*time.Minute))
	a.AnsweredAt = t0.Add(-time.Minute)
	a.Source.DisplayName = "Zoe"
	b := live("b", calls.Incoming, calls.DirectionIncoming, t0.Add(-2*time.Minute))
	b.Source.DisplayName = "adam"
	c := live("c", calls.Hold, calls.DirectionOutgoing, t0.Add(-5*time.Minute))
	c.AnsweredAt = t0.Add(-4 * time.Minute)
	c.Source.DisplayName = "Mia"
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 3, Now: t0, Calls: []calls.Call{a, b, c}})
	tests := []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"b", "a", "c"}},
		{Filter{Sort: SortState}, []string{"b", "a", "c"}},
		{Filter{Sort: SortState, Desc: true}, []string{"c", "a", "b"}},
		{Filter{Sort: SortDuration}, []string{"a", "b", "c"}},
		{Filter{Sort: SortDuration, Desc: true}, []string{"c", "b", "a"}},
		{Filter{Sort: SortCaller}, []string{"b", "c", "a"}},
		{Filter{Sort: SortCaller, Direction: calls.DirectionIncoming}, []string{"b", "a"}},
	}
	for _, tt := range tests {
		got, total := s.View(tt.f, 0, -1)
		if !slices.Equal(ids(got), tt.want) || total != len(tt.want) {
			t.Errorf("%+v: %v (%d), want %v", tt.f, ids(got), total, tt.want)
		}
	}
}

func TestStoreFiltersEndedByCategory(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	ghost := ended("g", t0.Add(-time.Minute), 404, 8522)
	ghost.Reconciled = true
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 3, Now: t0, Calls: []calls.Call{
		ended("x", t0.Add(-10*time.Minute), 200, 4097), ended("y", t0.Add(-5*time.Minute), 480, 10037), ghost,
		live("a", calls.Established, calls.DirectionIncoming, t0.Add(-3*time.Minute)),
	}})
	got, _ := s.View(Filter{Ended: true, Category: reasons.Unreachable}, 0, -1)
	if !slices.Equal(ids(got), []string{"y"}) {
		t.Errorf("unreachable: %v, want y", ids(got))
	}
	got, _ = s.View(Filter{Ended: true, Category: reasons.Reconciled}, 0, -1)
	if !slices.Equal(ids(got), []string{"g"}) {
		t.Errorf("reconciled: %v, want g", ids(got))
	}
	if got, _ := s.View(Filter{Category: reasons.EndedNormally}, 0, -1); len(got) != 0 {
		t.Errorf("a live view with a category shows %v", ids(got))
	}
	sum := s.Summary(time.Hour)
	for _, cc := range sum.EndedByCategory {
		if cc.Category == reasons.Unknown && cc.Count != 0 {
			t.Errorf("the summary counts %d calls as unknown; the ghost call is reconciled", cc.Count)
		}
	}
}

func TestSaveRefusesAViewTooLargeForTheBrowser(t *testing.T) {
	clock := &fixedClock{t0}
	s := NewStore(Options{Now: clock.Now})
	var cs []calls.Call
	for i := range 20000 {
		c := live(fmt.Sprintf("call-%05d", i), calls.Established, calls.DirectionIncoming, t0.Add(-time.Duration(i)*time.Second))
		c.Subject = strings.Repeat("s", 200)
		cs = append(cs, c)
	}
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 7, Calls: cs})
	if _, err := s.Save(User{Name: "alice"}, 0); !errors.Is(err, ErrSavedTooLarge) {
		t.Fatalf("saving 20,000 calls: %v, want ErrSavedTooLarge", err)
	}
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 8, Calls: cs[:100]})
	sv, err := s.Save(User{Name: "alice"}, 0)
	if err != nil || len(sv.Calls) != 100 || sv.Calls[0].Subject != cs[0].Subject {
		t.Fatalf("saving 100 calls: %d calls, %v", len(sv.Calls), err)
	}
}
