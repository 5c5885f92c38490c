package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/app/feedwire"
	"switchboard/app/verbs"
	"switchboard/backend/actions"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

// claimAs takes (POST) or gives back (DELETE) c's claim on a call.
func (h *harness) claimAs(c *http.Client, method, id string, verb verbs.Verb) (int, actions.ClaimAnswer) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]verbs.Verb{"verb": verb})
	status, data := h.send(c, method, "/api/calls/"+id+"/claim", string(body))
	var ans actions.ClaimAnswer
	json.Unmarshal(data, &ans)
	return status, ans
}

// aside reads the feed until a message of type typ satisfies cond.
func (f *feedClient) aside(typ string, what string, cond func(feedwire.Message) bool) feedwire.Message {
	f.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-f.asides:
			if m.Type == typ && cond(m) {
				return m
			}
		case <-deadline:
			f.t.Fatalf("no %s message with %s within 15s", typ, what)
			return feedwire.Message{}
		}
	}
}

func names(people []feedwire.Person) []string {
	out := make([]string, len(people))
	for i, p := range people {
		out[i] = p.Name
	}
	return out
}

func claimOn(claims []feedwire.Claim, id string) (feedwire.Claim, bool) {
	for _, c := range claims {
		if c.CallID == id {
			return c, true
		}
	}
	return feedwire.Claim{}, false
}

func TestPresenceAndClaimsAcrossReplicas(t *testing.T) {
	const claimTTL = 2 * time.Second
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	natsAddr := ln.Addr().String()
	ln.Close()
	a := start(t, options{natsListen: natsAddr, tweakCfg: func(c *server.Config) { c.ClaimTTL = claimTTL }})
	// Behind a load balancer both replicas have one public URL; here each
	// has its own, so b accepts a's origin.
	b := start(t, options{natsURL: "nats://" + natsAddr, tweakCfg: func(c *server.Config) {
		c.ClaimTTL = claimTTL
		c.AllowedOrigins = []string{a.url}
	}})
	id, err := a.sim.StartOutgoing(context.Background(), graphsim.CallSpec{Subject: "Claim me"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, ok := b.srv.View().Get(id); return ok })

	// alice looks on replica a, ada on replica b: each sees both.
	alice := a.client
	ada := b.login("ada")
	feedA := a.dial(nil)
	connB, _, err := b.dialAs(ada, a.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	feedB := b.reader(connB)
	both := func(m feedwire.Message) bool { return slices.Equal(names(m.People), []string{"ada", "alice"}) }
	feedA.aside(feedwire.TypePresence, "ada and alice", both)
	m := feedB.aside(feedwire.TypePresence, "ada and alice", both)
	if m.People[0].Role != "admin" || m.People[1].Role != "supervisor" {
		t.Errorf("people %+v: want their roles", m.People)
	}

	// alice opens a hang-up on a: ada's console on b shows it, and ada's
	// own claim is refused, naming alice.
	st, ans := a.claimAs(alice, "POST", id, verbs.HangUp)
	if st != http.StatusCreated || ans.Claim.Holder != "alice" || ans.Claim.Verb != verbs.HangUp || ans.Claim.CallID != id {
		t.Fatalf("alice's claim: %d %+v", st, ans)
	}
	feedB.aside(feedwire.TypeClaims, "alice's claim", func(m feedwire.Message) bool {
		c, ok := claimOn(m.Claims, id)
		return ok && c.Holder == "alice" && c.Doing() == "alice is hanging up"
	})
	st, ans = b.claimAs(ada, "POST", id, verbs.Transfer)
	if st != http.StatusConflict || ans.Claim.Holder != "alice" || ans.Error == nil || ans.Error.Code != "claimed" ||
		!strings.HasPrefix(ans.Error.Message, "alice is hanging up this call") {
		t.Fatalf("ada's claim on alice's call: %d %+v", st, ans)
	}
	if st, _ := b.claimAs(ada, "DELETE", id, ""); st != http.StatusConflict {
		t.Fatalf("ada released alice's claim: %d, want 409", st)
	}

	// alice closes her dialog: the claim goes, and ada may take one.
	if st, _ := a.claimAs(alice, "DELETE", id, ""); st != http.StatusNoContent {
		t.Fatalf("alice's release: %d", st)
	}
	feedB.aside(feedwire.TypeClaims, "no claim", func(m feedwire.Message) bool { _, ok := claimOn(m.Claims, id); return !ok })
	if st, ans = b.claimAs(ada, "POST", id, verbs.Transfer); st != http.StatusCreated || ans.Claim.Holder != "ada" {
		t.Fatalf("ada's claim after alice released hers: %d %+v", st, ans)
	}
	feedA.aside(feedwire.TypeClaims, "ada's claim", func(m feedwire.Message) bool {
		c, ok := claimOn(m.Claims, id)
		return ok && c.Doing() == "ada is transferring"
	})

	// ada's claim expires by itself, on both consoles; alice may then
	// claim the call.
	taken := time.Now()
	feedA.aside(feedwire.TypeClaims, "the claim expired", func(m feedwire.Message) bool { _, ok := claimOn(m.Claims, id); return !ok })
	if waited := time.Since(taken); waited < claimTTL/2 {
		t.Errorf("the claim went after %v, before its %v were up", waited, claimTTL)
	}
	if st, ans = a.claimAs(alice, "POST", id, verbs.HangUp); st != http.StatusCreated || ans.Claim.Holder != "alice" {
		t.Fatalf("alice's claim after ada's expired: %d %+v", st, ans)
	}

	// Refusals: a viewer, an unknown call, an action one cannot claim.
	if st, _ := a.claimAs(a.login("victor"), "POST", id, verbs.HangUp); st != http.StatusForbidden {
		t.Errorf("a viewer's claim: %d, want 403", st)
	}
	if st, _ := a.claimAs(alice, "POST", "0e0e0e0e-0000-4000-8000-000000000000", verbs.HangUp); st != http.StatusNotFound {
		t.Errorf("a claim on an unknown call: %d, want 404", st)
	}
	for _, v := range []verbs.Verb{"", "dance", verbs.Delete, verbs.KeepAlive} {
		if st, _ := a.claimAs(alice, "POST", id, v); st != http.StatusBadRequest {
			t.Errorf("a claim for %q: %d, want 400", v, st)
		}
	}

	// ada closes her console: alice's sees her go.
	connB.CloseNow()
	feedA.aside(feedwire.TypePresence, "alice alone", func(m feedwire.Message) bool {
		return slices.Equal(names(m.People), []string{"alice"})
	})

	// alice holds the call: ada's hang-up, alone or in bulk, is refused
	// with alice's name, until ada says she acts anyway.
	adaOnA := a.login("ada")
	if st, msg := a.doAs(adaOnA, "DELETE", "/api/calls/"+id, ""); st != http.StatusConflict ||
		msg != "cannot hang up: alice is hanging up this call; act anyway only if you mean to" {
		t.Fatalf("ada's hang-up of alice's call: %d %q", st, msg)
	}
	st, res, msg := a.bulkHangUp(adaOnA, `{"calls":["`+id+`"]}`)
	if st != http.StatusOK || len(res.Outcomes) != 1 || res.Outcomes[0].Code != "claimed" ||
		!strings.Contains(res.Outcomes[0].Message, "alice is hanging up this call") {
		t.Fatalf("ada's bulk hang-up of alice's call: %d %+v %s", st, res, msg)
	}
	for _, r := range a.sim.Requests() {
		if r.Method == http.MethodDelete {
			t.Fatalf("Graph was asked to hang up a claimed call: %s", r.Path)
		}
	}
	if st, msg := a.doAs(adaOnA, "DELETE", "/api/calls/"+id+"?override=1", ""); st != http.StatusNoContent {
		t.Fatalf("ada's hang-up acting anyway: %d %q", st, msg)
	}
}
