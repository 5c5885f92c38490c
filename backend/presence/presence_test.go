package presence_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/feedwire"
	"switchboard/app/verbs"
	"switchboard/backend/natstest"
	"switchboard/backend/presence"
)

// watcher runs a board and records what it publishes.
type watcher struct {
	mu     sync.Mutex
	people [][]feedwire.Person
	claims [][]feedwire.Claim
}

func (w *watcher) publish(m feedwire.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch m.Type {
	case feedwire.TypePresence:
		w.people = append(w.people, m.People)
	case feedwire.TypeClaims:
		w.claims = append(w.claims, m.Claims)
	}
}

func (w *watcher) lastPeople() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.people) == 0 {
		return nil
	}
	var out []string
	for _, p := range w.people[len(w.people)-1] {
		out = append(out, p.Name)
	}
	return out
}

func (w *watcher) lastClaims() []feedwire.Claim {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.claims) == 0 {
		return nil
	}
	return w.claims[len(w.claims)-1]
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 400 {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("waited 10s for %s", what)
}

// board opens a board for replica and runs it until stop is called or the
// test ends.
func board(t *testing.T, js jetstream.JetStream, replica string, seatTTL, claimTTL time.Duration) (*presence.Board, *watcher, func()) {
	t.Helper()
	w := &watcher{}
	b, err := presence.Open(context.Background(), js, presence.Options{Replica: replica, SeatTTL: seatTTL, ClaimTTL: claimTTL,
		Publish: w.publish})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return b, w, stop
}

func TestSeatsComeGoAndExpire(t *testing.T) {
	js := natstest.JetStream(t)
	const ttl = 1500 * time.Millisecond
	a, wa, _ := board(t, js, "replica a", ttl, time.Minute)
	b, wb, stopB := board(t, js, "replica b", ttl, time.Minute)

	// One session on both replicas, another on b only.
	leaveA := a.Arrive(feedwire.Person{Name: "alice", Role: "supervisor"}, "s1")
	leaveB := b.Arrive(feedwire.Person{Name: "alice", Role: "supervisor"}, "s1")
	b.Arrive(feedwire.Person{Name: "ada", Role: "admin"}, "s2")
	b.Arrive(feedwire.Person{Name: "ada", Role: "admin"}, "s2") // a second tab
	waitUntil(t, "both people on a", func() bool { return slices.Equal(wa.lastPeople(), []string{"ada", "alice"}) })
	waitUntil(t, "both people on b", func() bool { return slices.Equal(wb.lastPeople(), []string{"ada", "alice"}) })

	// alice's feed on a closes: she is still present through b.
	leaveA()
	leaveA() // closing twice changes nothing
	time.Sleep(300 * time.Millisecond)
	if got := wa.lastPeople(); !slices.Equal(got, []string{"ada", "alice"}) {
		t.Fatalf("after alice left replica a only: %v", got)
	}
	leaveB()
	waitUntil(t, "alice gone", func() bool { return slices.Equal(wa.lastPeople(), []string{"ada"}) })

	// Seats are refreshed while the feed stays open: ada is still there
	// well past the TTL.
	time.Sleep(2 * ttl)
	if got := wa.lastPeople(); !slices.Equal(got, []string{"ada"}) {
		t.Fatalf("after %v with ada's feeds open: %v", 2*ttl, got)
	}

	// Replica b dies without a word: its seats expire on a.
	stopB()
	waitUntil(t, "ada's seat expired", func() bool { return len(wa.lastPeople()) == 0 })
}

func TestClaimsAreExclusiveAndExpire(t *testing.T) {
	js := natstest.JetStream(t)
	const ttl = 1500 * time.Millisecond
	a, wa, _ := board(t, js, "replica a", time.Minute, ttl)
	b, _, _ := board(t, js, "replica b", time.Minute, ttl)
	ctx := context.Background()

	c, err := a.Claim(ctx, "call-1", verbs.HangUp, "alice", "s1")
	if err != nil || c.Holder != "alice" || c.Verb != verbs.HangUp || !c.Until.After(c.Since) {
		t.Fatalf("alice's claim: %+v %v", c, err)
	}
	// Taken again by the same session (another dialog): replaced.
	if c, err = b.Claim(ctx, "call-1", verbs.Transfer, "alice", "s1"); err != nil || c.Verb != verbs.Transfer {
		t.Fatalf("alice's second claim: %+v %v", c, err)
	}
	held, err := b.Claim(ctx, "call-1", verbs.HangUp, "ada", "s2")
	if !errors.Is(err, presence.ErrClaimed) || held.Holder != "alice" || held.Doing() != "alice is transferring" {
		t.Fatalf("ada's claim on alice's call: %+v %v", held, err)
	}
	if err := b.Release(ctx, "call-1", "s2"); !errors.Is(err, presence.ErrClaimed) {
		t.Fatalf("ada released alice's claim: %v", err)
	}
	waitUntil(t, "a publishing alice's claim", func() bool {
		cl := wa.lastClaims()
		return len(cl) == 1 && cl[0].Holder == "alice" && cl[0].CallID == "call-1"
	})
	if err := a.Release(ctx, "call-1", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "call-1", "s1"); err != nil {
		t.Fatalf("releasing nothing: %v", err)
	}
	if _, err := b.Claim(ctx, "call-1", verbs.HangUp, "ada", "s2"); err != nil {
		t.Fatalf("ada's claim after alice released hers: %v", err)
	}
	// Two sessions racing for one call: exactly one gets it.
	var wins sync.WaitGroup
	got := make(chan error, 2)
	for i, bd := range []*presence.Board{a, b} {
		wins.Go(func() {
			_, err := bd.Claim(ctx, "call-2", verbs.HangUp, "p", []string{"x", "y"}[i])
			got <- err
		})
	}
	wins.Wait()
	close(got)
	var ok, claimed int
	for err := range got {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, presence.ErrClaimed):
			claimed++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || claimed != 1 {
		t.Fatalf("two sessions racing: %d won, %d refused; want 1 and 1", ok, claimed)
	}

	// Nobody releases: the claims expire, and the call may be claimed again.
	waitUntil(t, "a seeing both claims", func() bool { return len(wa.lastClaims()) == 2 })
	waitUntil(t, "the claims expired", func() bool { return len(wa.lastClaims()) == 0 })
	if _, err := a.Claim(ctx, "call-1", verbs.HangUp, "alice", "s1"); err != nil {
		t.Fatalf("a claim after the last expired: %v", err)
	}
}
