package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
	"switchboard/app/verbs"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

// fastSim makes the simulator's actions unfold quickly.
func fastSim(c *graphsim.Config) { c.StepDelay = 10 * time.Millisecond }

func TestRedirectAndTransferEndToEnd(t *testing.T) {
	h := start(t, options{simCfg: fastSim})
	ctx := context.Background()
	feed := h.dial(nil)
	feed.next()
	person := h.sim.Users()[2]

	// Redirect a ringing call to a phone number: redirecting, then ended,
	// "redirected by alice to +15550104242".
	ringing, err := h.sim.StartIncoming(ctx, graphsim.CallSpec{Subject: "Redirect me"})
	if err != nil {
		t.Fatal(err)
	}
	feed.until(ringing, func(c calls.Call) bool { return c.State == calls.Incoming })
	if st, msg := h.do("POST", "/api/calls/"+ringing+"/transfer", `{"target":"+15550104242"}`); st != http.StatusConflict || !strings.Contains(msg, "answer or redirect it instead") {
		t.Fatalf("transfer of a ringing call: %d %q, want 409 saying why", st, msg)
	}
	if st, msg := h.do("POST", "/api/calls/"+ringing+"/redirect", `{"target":{"phone":" +1 (555) 010-4242 "}}`); st != http.StatusAccepted {
		t.Fatalf("redirect: %d %s", st, msg)
	}
	c := feed.until(ringing, func(c calls.Call) bool { return c.Ended() && c.EndAction != "" })
	if c.EndedBy != "alice" || c.EndAction != verbs.Redirect || c.EndTarget != "+15550104242" || reasons.ForCall(c).Category != reasons.Transfer {
		t.Fatalf("redirected call: %+v", c)
	}
	if info, _ := h.sim.Call(ringing); len(info.RedirectTargets) != 1 || info.RedirectTargets[0].ID != "+15550104242" {
		t.Fatalf("Graph was asked to redirect to %+v", info.RedirectTargets)
	}

	// Transfer an answered call to someone unreachable: it returns to
	// established with 500/7000, and nobody ended it.
	talking, err := h.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: "Transfer me"})
	if err != nil {
		t.Fatal(err)
	}
	feed.until(talking, func(c calls.Call) bool { return c.State == calls.Established })
	if st, msg := h.do("POST", "/api/calls/"+talking+"/redirect", `{"target":"+15550104242"}`); st != http.StatusConflict || !strings.Contains(msg, "already answered") {
		t.Fatalf("redirect of an answered call: %d %q", st, msg)
	}
	h.sim.SetUnreachable(false, "+15550109999")
	if st, msg := h.do("POST", "/api/calls/"+talking+"/transfer", `{"target":"+15550109999"}`); st != http.StatusAccepted {
		t.Fatalf("transfer: %d %s", st, msg)
	}
	feed.until(talking, func(c calls.Call) bool { return c.State == calls.Transferring })
	c = feed.until(talking, func(c calls.Call) bool { return c.State == calls.Established && c.Result != nil })
	if c.Result.Code != 500 || c.Result.Subcode != 7000 || c.EndedBy != "" {
		t.Fatalf("after the failed transfer: %+v", c)
	}

	// Then to a person by sign-in name: looked up in the directory,
	// transferred, ended "transferred by alice", no failure left.
	if st, msg := h.do("POST", "/api/calls/"+talking+"/transfer", `{"target":"`+strings.ToUpper(person.UPN)+`"}`); st != http.StatusAccepted {
		t.Fatalf("transfer: %d %s", st, msg)
	}
	c = feed.until(talking, func(c calls.Call) bool { return c.Ended() })
	if c.EndAction != verbs.Transfer || c.EndedBy != "alice" || c.TerminationReason != "AppTransferred" ||
		c.Result == nil || c.Result.Subcode != 7015 || reasons.ForCall(c).Category != reasons.Transfer {
		t.Fatalf("transferred call: %+v (result %+v)", c, c.Result)
	}
	if info, _ := h.sim.Call(talking); len(info.TransferTargets) != 2 || info.TransferTargets[1].ID != person.ID {
		t.Fatalf("Graph was asked to transfer to %+v, want %s second", info.TransferTargets, person.ID)
	}
	if got := c.LastAction; got == nil || got.TargetName != person.DisplayName {
		t.Fatalf("the action does not name the target: %+v", got)
	}

	// The errors.
	other, _ := h.sim.StartOutgoing(ctx, graphsim.CallSpec{})
	feed.until(other, func(c calls.Call) bool { return c.State == calls.Established })
	tests := []struct {
		path, body string
		want       int
		says       string
	}{
		{"/api/calls/" + other + "/transfer", `{"target":"4255550100"}`, 400, "no country code"},
		{"/api/calls/" + other + "/transfer", `{"target":""}`, 400, "a target is required"},
		{"/api/calls/" + other + "/transfer", `{}`, 400, "a target is required"},
		{"/api/calls/" + other + "/transfer", `{"target":"nobody@contoso.example"}`, 400, "no such user"},
		{"/api/calls/" + other + "/transfer", `{"target":`, 400, "not valid JSON"},
		{"/api/calls/" + other + "/transfer", `{"target":[1]}`, 400, "nor an object with an id"},
		{"/api/calls/" + ringing + "/redirect", `{"target":"+15550100"}`, 409, "already ended"},
		{"/api/calls/nope/transfer", `{"target":"+15550100"}`, 404, "no call"},
	}
	for _, tt := range tests {
		if st, msg := h.do("POST", tt.path, tt.body); st != tt.want || !strings.Contains(msg, tt.says) {
			t.Errorf("POST %s %s: %d %q, want %d saying %q", tt.path, tt.body, st, msg, tt.want, tt.says)
		}
	}

	// A viewer may not; the audit trail says who transferred what where.
	if st, _ := h.doAs(h.login("victor"), "POST", "/api/calls/"+other+"/transfer", `{"target":"+15550100"}`); st != http.StatusForbidden {
		t.Fatalf("viewer transfer: %d, want 403", st)
	}
	var trail struct {
		Entries []struct{ Actor, Action, Target, Outcome, Detail string }
	}
	if st := h.getJSON(h.login("ada"), "/api/audit?target="+talking, &trail); st != http.StatusOK {
		t.Fatalf("audit: %d", st)
	}
	if len(trail.Entries) != 2 || trail.Entries[0].Action != "transfer" || trail.Entries[0].Detail != "to "+person.UPN ||
		trail.Entries[1].Detail != "to +15550109999" || trail.Entries[0].Actor != "alice" {
		t.Fatalf("audit trail: %+v", trail.Entries)
	}
}

func TestMuteAParticipant(t *testing.T) {
	h := start(t, options{simCfg: fastSim})
	ctx := context.Background()
	feed := h.dial(nil)
	feed.next()
	ada := graphsim.Party{ID: "ada-1", DisplayName: "Ada Byron"}
	bob := graphsim.Party{ID: "bob-2", DisplayName: "Bob Kahn"}
	id, err := h.sim.StartOutgoing(ctx, graphsim.CallSpec{Group: true, Subject: "Group", Participants: []graphsim.Party{ada, bob}})
	if err != nil {
		t.Fatal(err)
	}
	c := feed.until(id, func(c calls.Call) bool { return len(c.Roster) == 3 })
	if !c.Group || c.Participants != 3 || !c.IsBot(c.Roster[0]) {
		t.Fatalf("group call: %+v", c)
	}
	bobID := c.Roster[2].ID
	if c.Roster[2].Party.DisplayName != "Bob Kahn" || c.Roster[2].Muted {
		t.Fatalf("Bob: %+v", c.Roster[2])
	}
	if st, msg := h.do("POST", "/api/calls/"+id+"/participants/"+bobID+"/mute", ""); st != http.StatusOK {
		t.Fatalf("mute: %d %s", st, msg)
	}
	c = feed.until(id, func(c calls.Call) bool { p, _ := c.Participant(bobID); return p.Muted })
	if info, _ := h.sim.Call(id); len(info.Muted) != 1 || info.Muted[0] != bob {
		t.Fatalf("Graph muted %+v", info.Muted)
	}
	tests := []struct {
		path string
		want int
		says string
	}{
		{"/api/calls/" + id + "/participants/" + bobID + "/mute", 409, "already muted"},
		{"/api/calls/" + id + "/participants/" + c.MyParticipantID + "/mute", 409, "the bot itself"},
		{"/api/calls/" + id + "/participants/nobody/mute", 404, "no participant"},
	}
	for _, tt := range tests {
		if st, msg := h.do("POST", tt.path, ""); st != tt.want || !strings.Contains(msg, tt.says) {
			t.Errorf("POST %s: %d %q, want %d saying %q", tt.path, st, msg, tt.want, tt.says)
		}
	}
	// A peer-to-peer call has no participants to mute.
	p2p, _ := h.sim.StartOutgoing(ctx, graphsim.CallSpec{})
	feed.until(p2p, func(c calls.Call) bool { return c.State == calls.Established })
	if st, msg := h.do("POST", "/api/calls/"+p2p+"/participants/x/mute", ""); st != http.StatusNotFound {
		t.Fatalf("mute in a peer-to-peer call: %d %s", st, msg)
	}
	// The history tells who was muted by whom.
	var hist struct {
		Events []struct {
			Event calls.Event `json:"event"`
		} `json:"events"`
	}
	if st := h.getJSON(h.client, "/api/calls/"+id+"/events", &hist); st != http.StatusOK {
		t.Fatalf("history: %d", st)
	}
	found := false
	for _, e := range hist.Events {
		if a := e.Event.Action; a != nil && a.Verb == verbs.Mute && a.Participant == bobID && a.ParticipantName == "Bob Kahn" && a.Actor == "alice" {
			found = true
		}
	}
	if !found {
		raw, _ := json.Marshal(hist)
		t.Fatalf("no mute by alice in the history: %s", raw)
	}
}

func TestEveryOfferedActionIsServed(t *testing.T) {
	h := start(t, options{})
	admin := h.login("ada")
	for _, s := range verbs.All() {
		if !s.Offered() {
			continue
		}
		st, msg := h.doAs(admin, s.Method, s.Path("no-such-call", "p1"), `{}`)
		switch {
		case s.Scope == verbs.OnRecord && st != http.StatusNoContent:
			t.Errorf("%s %s: %d %q, want 204 (deleting what is gone is not an error)", s.Method, s.Path("no-such-call", "p1"), st, msg)
		case s.Scope != verbs.OnRecord && (st != http.StatusNotFound || !strings.Contains(msg, "no call")):
			t.Errorf("%s %s: %d %q, want 404 from the action's own handler", s.Method, s.Path("no-such-call", "p1"), st, msg)
		}
	}
}

func TestOutgoingCallsAreEnrichedAtOnce(t *testing.T) {
	// A realistic wire: the outgoing call's notifications carry only its state.
	h := start(t, options{simCfg: func(c *graphsim.Config) { c.PlainWire = false }})
	feed := h.dial(nil)
	feed.next()
	callee := graphsim.Party{Kind: graphsim.PartyPhone, ID: "+15550106060"}
	id, err := h.sim.StartOutgoing(context.Background(), graphsim.CallSpec{Subject: "Read me back", Targets: []graphsim.Party{callee}})
	if err != nil {
		t.Fatal(err)
	}
	c := feed.until(id, func(c calls.Call) bool { return c.Subject == "Read me back" && c.State == calls.Established })
	if c.Source.Kind != "application" || len(c.Targets) != 1 || c.Targets[0].Phone != "+15550106060" || c.State != calls.Established {
		t.Fatalf("enriched call: %+v", c)
	}
	gets := 0
	for _, r := range h.sim.Requests() {
		if r.Method == http.MethodGet && r.CallID == id {
			gets++
		}
	}
	if gets != 1 {
		t.Fatalf("Graph was asked %d times, want once", gets)
	}
	recs, err := h.srv.Log().History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	enriched := 0
	for _, r := range recs {
		if r.Event.Kind == calls.KindEnriched {
			enriched++
		}
	}
	if enriched != 1 {
		t.Fatalf("%d enriched events in the history, want 1", enriched)
	}
}

func TestStartupEndsGhosts(t *testing.T) {
	dir := t.TempDir()
	h := start(t, options{dataDir: dir})
	// Two calls live when the replica stops: one Graph still has, one it
	// ended while nobody listened (its deleted notification lost).
	const ghost = "90570000-0000-4000-8000-000000000002"
	h.post(notification(ghost, "created", incomingData))
	h.post(notification(ghost, "updated", state("established")))
	real, err := h.sim.StartOutgoing(context.Background(), graphsim.CallSpec{Subject: "Still here"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		r, _ := h.srv.View().Get(real)
		g, _ := h.srv.View().Get(ghost)
		return r.State == calls.Established && g.State == calls.Established
	})
	h.close()

	// The restarted replica never hears of either call again; quiet checks
	// are an hour away. The start-up check ends the ghost in seconds.
	h2 := start(t, options{dataDir: dir, tweakCfg: func(c *server.Config) {
		c.GraphURL, c.TokenURL, c.QuietAfter = h.sim.GraphURL(), h.sim.TokenURL(), time.Hour // the same Graph
	}})
	waitFor(t, func() bool { c, _ := h2.srv.View().Get(ghost); return c.Ended() })
	c, _ := h2.srv.View().Get(ghost)
	if !c.Reconciled || c.Result == nil || c.Result.Subcode != 8522 {
		t.Fatalf("ghost after the restart: %+v", c)
	}
	if r, _ := h2.srv.View().Get(real); r.Ended() {
		t.Fatalf("a call Graph knows was ended: %+v", r)
	}
}
