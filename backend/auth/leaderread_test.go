package auth

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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
	// The watcher hears the requests asynchronously: give it a moment.
	for deadline := time.Now().Add(5 * time.Second); leader.Load() < 7 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if direct.Load() != 0 || leader.Load() < 7 {
		t.Fatalf("%d direct reads and %d reads from the leader, want none and every read", direct.Load(), leader.Load())
	}
}

// TestALeaderReadWithoutDeadlineEnds: a read whose caller set no deadline
// (a request's context) still ends when no leader answers, as JetStream's
// own reads do, instead of holding the request forever.
func TestALeaderReadWithoutDeadlineEnds(t *testing.T) {
	// A server without JetStream, where someone takes the request and
	// never answers: a leader being elected.
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("$JS.API.STREAM.MSG.GET.KV_SILENT", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := leaderGet(context.Background(), nc, "SILENT", "k")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, errAbsent) || time.Since(start) < leaderReadTimeout/2 {
			t.Fatalf("a read nobody answered gave %v after %s, want an error once it waited", err, time.Since(start))
		}
	case <-time.After(leaderReadTimeout + 5*time.Second):
		t.Fatal("a read nobody answered did not end")
	}
}
