package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/verbs"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
	"switchboard/backend/upkeep"
)

func TestGhostCallsAreReconciled(t *testing.T) {
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.UpkeepTick, c.QuietAfter = 50*time.Millisecond, 300*time.Millisecond
	}})
	feed := h.dial(nil)
	feed.next()
	// A call Graph never told the simulator about: its end was lost.
	const ghost = "90570000-0000-4000-8000-000000000001"
	h.post(notification(ghost, "created", incomingData))
	h.post(notification(ghost, "updated", state("established")))
	// A real live call stays: Graph still knows it.
	id, err := h.sim.StartIncoming(context.Background(), graphsim.CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	c := feed.until(ghost, func(c calls.Call) bool { return c.Ended() })
	if !c.Reconciled || c.Result == nil || c.Result.Message != upkeep.ReconciledMessage {
		t.Fatalf("ghost ended as %+v", c)
	}
	if live, _ := h.srv.View().Get(id); live.Ended() {
		t.Fatalf("a call Graph knows was ended: %+v", live)
	}
	if !simSaw(h.sim, ghost, ghost) {
		t.Fatal("Graph was never asked about the ghost")
	}
}

func TestKeepAliveAndAutoAnswer(t *testing.T) {
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.UpkeepTick, c.KeepAliveEvery, c.AutoAnswerAfter = 40*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
	}})
	feed := h.dial(nil)
	feed.next()
	id, err := h.sim.StartIncoming(context.Background(), graphsim.CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	// Graph's established notification and the recorded answer race: wait for both.
	c := feed.until(id, func(c calls.Call) bool { return c.State == calls.Established && c.LastAction != nil })
	if c.LastAction.Verb != verbs.Answer || c.LastAction.Actor != upkeep.Actor {
		t.Fatalf("answered by %+v, want switchboard's auto-answer", c.LastAction)
	}
	c = feed.until(id, func(c calls.Call) bool { return c.LastAction != nil && c.LastAction.Verb == verbs.KeepAlive })
	if !c.LastAction.OK() {
		t.Fatalf("keepAlive failed: %+v", c.LastAction)
	}
	// The other side hangs up: the call ends with the seed's reason.
	if err := h.sim.RemoteHangUp(context.Background(), id, 200, 4097); err != nil {
		t.Fatal(err)
	}
	c = feed.until(id, func(c calls.Call) bool { return c.Ended() })
	if c.Result == nil || c.Result.Subcode != 4097 {
		t.Fatalf("ended with %+v", c.Result)
	}
	for _, r := range h.sim.Requests() {
		if strings.HasSuffix(r.Path, "keepAlive") && strings.Contains(r.Path, id) {
			return
		}
	}
	t.Fatal("the simulator never received a keepAlive")
}
