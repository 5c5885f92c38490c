package auth

import (
	"context"
	"errors"
	"switchboard/backend/natstest"
	"testing"
	"time"
)

// clocked opens Sessions on a fresh NATS with a settable clock.
func clocked(t *testing.T, opts SessionOptions) (*Sessions, *clock) {
	t.Helper()
	s := openSessions(t, natstest.Connect(t, natstest.Server(t)), opts)
	c := newClock()
	s.now = c.Now
	return s, c
}

func TestSessionTimeouts(t *testing.T) {
	opts := SessionOptions{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 8 * time.Hour}
	tests := []struct {
		name  string
		steps []time.Duration // advance, then use the session, for each
		last  time.Duration   // advance before the final Get
		live  bool
	}{
		{"fresh", nil, 0, true},
		{"just under idle", nil, 29 * time.Minute, true},
		{"idle", nil, 30 * time.Minute, false},
		{"kept alive by use", []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, 20 * time.Minute, true},
		{"absolute despite use", repeat(20*time.Minute, 23), 20 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := clocked(t, opts)
			ctx := context.Background()
			token, sess, err := s.Create(ctx, Session{Subject: "u1", Name: "alice", Role: Supervisor})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range tt.steps {
				c.Advance(d)
				got, err := s.Get(ctx, token)
				if err != nil {
					t.Fatalf("Get during use: %v", err)
				}
				if sess, err = s.Touch(ctx, got); err != nil {
					t.Fatalf("Touch: %v", err)
				}
			}
			c.Advance(tt.last)
			got, err := s.Get(ctx, token)
			if tt.live {
				if err != nil || got.Name != "alice" || got.Role != Supervisor || got.ID != sess.ID {
					t.Fatalf("Get = %+v, %v; want the live session", got, err)
				}
				return
			}
			if !errors.Is(err, ErrNoSession) {
				t.Fatalf("Get = %v, want ErrNoSession", err)
			}
			if _, err := s.get(ctx, sess.ID); !errors.Is(err, ErrNoSession) {
				t.Error("the expired session is still in the bucket")
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestTouchWritesAtMostOncePerMinute checks that using a session does not
// write the bucket on every request.
func TestTouchWritesAtMostOncePerMinute(t *testing.T) {
	s, c := clocked(t, SessionOptions{})
	ctx := context.Background()
	_, sess, err := s.Create(ctx, Session{Name: "alice", Role: Supervisor})
	if err != nil {
		t.Fatal(err)
	}
	first := sess.revision
	for range 5 {
		c.Advance(10 * time.Second)
		if sess, err = s.Touch(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if sess.revision != first {
		t.Fatalf("Touch wrote within a minute of login: revision %d → %d", first, sess.revision)
	}
	c.Advance(15 * time.Second)
	if sess, err = s.Touch(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if sess.revision == first || !sess.LastSeen.Equal(c.Now().UTC()) {
		t.Fatalf("Touch after 65 s did not write: revision %d, last seen %v", sess.revision, sess.LastSeen)
	}
	// A stale copy (another request touched first) is not an error and
	// does not overwrite.
	c.Advance(2 * time.Minute)
	stale := sess
	stale.revision = first
	if _, err := s.Touch(ctx, stale); err != nil {
		t.Errorf("Touch of a stale copy: %v", err)
	}
}

// TestEndedSessionsAreWatchedEverywhere checks that WatchEnded reports
// logouts and expiries on every replica, and that Touch never revives an
// ended session.
func TestEndedSessionsAreWatchedEverywhere(t *testing.T) {
	ns := natstest.Server(t)
	opts := SessionOptions{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour, SweepEvery: 20 * time.Millisecond}
	c := newClock()
	replicas := []*Sessions{openSessions(t, natstest.Connect(t, ns), opts), openSessions(t, natstest.Connect(t, ns), opts)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended := []chan string{make(chan string, 8), make(chan string, 8)}
	for i, s := range replicas {
		s.now = c.Now
		if err := s.WatchEnded(ctx, func(id string) { ended[i] <- id }); err != nil {
			t.Fatal(err)
		}
	}
	a, b := replicas[0], replicas[1]

	// Logout on replica a.
	tok, sess, err := a.Create(ctx, Session{Name: "alice", Role: Supervisor})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, tok); err != nil {
		t.Fatalf("replica b does not see the new session: %v", err)
	}
	if err := a.End(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	for i := range replicas {
		if got := waitFor(t, ended[i], "logout"); got != sess.ID {
			t.Errorf("replica %d: ended %q, want %q", i, got, sess.ID)
		}
	}
	c.Advance(2 * time.Minute)
	if _, err := b.Touch(ctx, sess); err != nil {
		t.Fatalf("Touch of an ended session: %v", err)
	}
	if _, err := b.Get(ctx, tok); !errors.Is(err, ErrNoSession) {
		t.Errorf("Touch revived an ended session: %v", err)
	}
	if err := a.End(ctx, sess.ID); err != nil {
		t.Errorf("ending an ended session: %v", err)
	}

	// Expiry: nobody calls Get; the sweepers notice.
	_, idle, err := b.Create(ctx, Session{Name: "victor", Role: Viewer})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(11 * time.Minute)
	for i := range replicas {
		if got := waitFor(t, ended[i], "expiry"); got != idle.ID {
			t.Errorf("replica %d: ended %q, want the idle session %q", i, got, idle.ID)
		}
	}
	// Each end is reported once, although both replicas sweep.
	select {
	case id := <-ended[0]:
		t.Errorf("an extra end was reported: %q", id)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestTouchIDKeepsWatchersLoggedIn checks that a feed touching a session
// by id keeps it from idling out, and learns when it has ended.
func TestTouchIDKeepsWatchersLoggedIn(t *testing.T) {
	s, c := clocked(t, SessionOptions{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour})
	ctx := context.Background()
	token, sess, err := s.Create(ctx, Session{Name: "victor", Role: Viewer})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		c.Advance(5 * time.Minute)
		if err := s.TouchID(ctx, sess.ID); err != nil {
			t.Fatalf("TouchID of a watched session: %v", err)
		}
	}
	if _, err := s.Get(ctx, token); err != nil {
		t.Fatalf("the watched session idled out: %v", err)
	}
	c.Advance(10 * time.Minute)
	if err := s.TouchID(ctx, sess.ID); !errors.Is(err, ErrNoSession) {
		t.Errorf("TouchID after the idle timeout: %v, want ErrNoSession", err)
	}
	if err := s.TouchID(ctx, "unknown"); !errors.Is(err, ErrNoSession) {
		t.Errorf("TouchID of an unknown id: %v, want ErrNoSession", err)
	}
}

func TestLoginAttemptsCompleteOnce(t *testing.T) {
	s, c := clocked(t, SessionOptions{})
	ctx := context.Background()
	tok, err := s.saveLogin(ctx, loginAttempt{State: "st", Nonce: "no", Verifier: "ve", Next: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.takeLogin(ctx, tok)
	if err != nil || a.State != "st" || a.Nonce != "no" || a.Verifier != "ve" || a.Next != "/x" {
		t.Fatalf("takeLogin = %+v, %v", a, err)
	}
	if _, err := s.takeLogin(ctx, tok); !errors.Is(err, errNoLogin) {
		t.Errorf("second takeLogin: %v, want errNoLogin", err)
	}
	old, err := s.saveLogin(ctx, loginAttempt{State: "st"})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(loginLife + time.Second)
	if _, err := s.takeLogin(ctx, old); !errors.Is(err, errNoLogin) {
		t.Errorf("takeLogin of an expired sign-in: %v, want errNoLogin", err)
	}
	if _, err := s.takeLogin(ctx, ""); !errors.Is(err, errNoLogin) {
		t.Errorf("takeLogin without token: %v", err)
	}
}

func TestSessionOptions(t *testing.T) {
	js := natstest.Connect(t, natstest.Server(t))
	for _, o := range []SessionOptions{
		{IdleTimeout: -time.Second},
		{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour},
	} {
		if _, err := OpenSessions(context.Background(), js, o); err == nil {
			t.Errorf("OpenSessions(%+v) succeeded, want an error", o)
		}
	}
	s := openSessions(t, js, SessionOptions{IdleTimeout: 40 * time.Second})
	if got := s.Options(); got.AbsoluteTimeout != 12*time.Hour || got.SweepEvery != 10*time.Second || got.Replicas != 1 {
		t.Errorf("defaults: %+v", got)
	}
	if _, err := s.Get(context.Background(), "no-such-token"); !errors.Is(err, ErrNoSession) {
		t.Errorf("Get of an unknown token: %v", err)
	}
}
