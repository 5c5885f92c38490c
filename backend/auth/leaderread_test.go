package auth

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"

	"switchboard/backend/natstest"
)

// TestSignInsAndSessionsAreReadFromTheLeader: reading a sign-in or a
// session never asks for a direct read, which any replica of a clustered
// bucket may answer from behind; the stream leader answers.
func TestSignInsAndSessionsAreReadFromTheLeader(t *testing.T) {
	ns := natstest.Server(t)
	watch, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(watch.Close)
	var direct, leader atomic.Int32
	for subject, n := range map[string]*atomic.Int32{"$JS.API.DIRECT.GET.>": &direct, "$JS.API.STREAM.MSG.GET.>": &leader} {
		if _, err := watch.Subscribe(subject, func(m *nats.Msg) {
			if strings.Contains(m.Subject, "KV_"+SessionsBucket) || strings.Contains(m.Subject, "KV_"+LoginsBucket) {
				n.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}
	s := openSessions(t, natstest.Connect(t, ns), SessionOptions{})
	ctx := context.Background()
	token, _, err := s.Create(ctx, Session{Subject: "u1", Name: "alice", Role: Supervisor})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if got, err := s.Get(ctx, token); err != nil || got.Name != "alice" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
	}
	tok, err := s.saveLogin(ctx, loginAttempt{State: "st"})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.takeLogin(ctx, tok); err != nil || a.State != "st" {
		t.Fatalf("takeLogin = %+v, %v", a, err)
	}
	if err := s.End(ctx, idOf(token)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Get of an ended session: %v, want ErrNoSession", err)
	}
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}
	if direct.Load() != 0 || leader.Load() < 7 {
		t.Fatalf("%d direct reads and %d reads from the leader, want none and every read", direct.Load(), leader.Load())
	}
}
