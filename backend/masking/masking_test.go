package masking_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/backend/auth"
	"switchboard/backend/masking"
	"switchboard/backend/natstest"
)

// TestReplicasFollowTheAdminsChoice: two replicas, the flag off; an admin
// turns masking on through one, the other follows; clearing the choice
// brings the flag's value back everywhere.
func TestReplicasFollowTheAdminsChoice(t *testing.T) {
	js := natstest.JetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var changes atomic.Int32
	open := func(onChange func(bool)) *masking.Setting {
		t.Helper()
		s, err := masking.Open(ctx, js, masking.Options{OnChange: onChange})
		if err != nil {
			t.Fatal(err)
		}
		go s.Run(ctx)
		return s
	}
	one := open(nil)
	two := open(func(bool) { changes.Add(1) })
	if one.On() || one.Masks(auth.Viewer) {
		t.Fatal("masking is on with the flag off and no choice")
	}
	if err := one.Set(ctx, true, "ada"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the other replica to follow", func() bool { return two.On() && changes.Load() == 1 })
	if !two.Masks(auth.Viewer) || two.Masks(auth.Supervisor) || two.Masks(auth.Admin) {
		t.Fatal("masking applies to other roles than viewers")
	}
	// A replica starting now reads the choice before it serves anything.
	if three := open(nil); !three.On() {
		t.Fatal("a starting replica does not read the admin's choice")
	}
	if err := two.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the flag's value everywhere", func() bool { return !one.On() && !two.On() && changes.Load() == 2 })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("waited 5s for %s", what)
}
