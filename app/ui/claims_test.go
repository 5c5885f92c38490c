package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

func claim(id string, verb verbs.Verb, holder string, until time.Duration) feedwire.Claim {
	return feedwire.Claim{CallID: id, Verb: verb, Holder: holder, Since: t0.Add(-5 * time.Second), Until: t0.Add(until)}
}

func TestPresenceAndClaimsOnTheBoard(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.snapshot(call("c1", calls.Established, t0.Add(-time.Minute)), call("c2", calls.Established, t0.Add(-2*time.Minute)),
		call("c3", calls.Established, t0.Add(-3*time.Minute)), call("c4", calls.Established, t0.Add(-4*time.Minute)))
	f.feed(feedwire.Message{Type: feedwire.TypePresence, Seq: f.seq, People: []feedwire.Person{
		{Name: "ada", Role: "admin"}, {Name: "alice", Role: "supervisor"}, {Name: "bob", Role: "viewer"}}},
		feedwire.Message{Type: feedwire.TypeClaims, Seq: f.seq, Claims: []feedwire.Claim{
			claim("c1", verbs.HangUp, "ada", 20*time.Second),
			claim("c2", verbs.Transfer, "alice", 20*time.Second), // this console's user: not shown
			claim("c3", verbs.HangUp, "bob", -time.Second),       // expired
		}})
	if got := f.textOf("presence"); got != "Also here: ada, bob" {
		t.Errorf("the header says %q", got)
	}
	if n := len(find(f.page, map[string]string{"class": "flag claim"})); n != 1 || !strings.Contains(f.textOf("call-c1"), "ada is hanging up") {
		t.Fatalf("%d claims shown, want ada's on c1:\n%s", n, f.html())
	}

	// Acting on ada's call asks first, naming her; the server is asked
	// for a claim, which ada holds.
	f.api.held = map[string]feedwire.Claim{"c1": claim("c1", verbs.HangUp, "ada", 20*time.Second)}
	click(t, f.disp, f.page, map[string]string{"data-action": "transfer", "data-call-id": "c1", "class": "btn btn-small btn-transfer"})
	if got := f.textOf("dialog-claimed"); !strings.HasPrefix(got, "ada is hanging up this call (for 5 s).") {
		t.Fatalf("the dialog says %q", got)
	}
	if len(find(f.page, map[string]string{"id": "target-form"})) != 0 {
		t.Fatal("the target form is offered before the supervisor chose to act anyway")
	}
	if got := f.api.claims(); !slices.Equal(got, []string{`POST /api/calls/c1/claim {"verb":"transfer"}`}) {
		t.Errorf("claims asked: %q", got)
	}
	click(t, f.disp, f.page, map[string]string{"data-action": "override"})
	if len(find(f.page, map[string]string{"id": "target-form"})) != 1 {
		t.Fatalf("no target form after acting anyway:\n%s", f.html())
	}
	click(t, f.disp, f.page, map[string]string{"id": "dialog-cancel"})

	// A call nobody holds: the claim is taken, and given back when the
	// dialog closes, or once the action is sent.
	click(t, f.disp, f.page, map[string]string{"data-action": "hangup", "data-call-id": "c4", "class": "btn btn-small btn-hangup"})
	if len(find(f.page, map[string]string{"id": "dialog-claimed"})) != 0 {
		t.Fatal("a call nobody claimed asks as if it were claimed")
	}
	click(t, f.disp, f.page, map[string]string{"id": "dialog-cancel"})
	click(t, f.disp, f.page, map[string]string{"data-action": "hangup", "data-call-id": "c4", "class": "btn btn-small btn-hangup"})
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	want := []string{
		`POST /api/calls/c1/claim {"verb":"transfer"}`,
		`POST /api/calls/c4/claim {"verb":"hangup"}`, `DELETE /api/calls/c4/claim`,
		`POST /api/calls/c4/claim {"verb":"hangup"}`, `DELETE /api/calls/c4/claim`,
	}
	if got := f.api.claims(); !slices.Equal(got, want) {
		t.Errorf("claims asked:\n%q\nwant\n%q", got, want)
	}
	if got := f.api.actions(); !slices.Equal(got, []string{"DELETE /api/calls/c4"}) {
		t.Errorf("sent %q", got)
	}

	// An action that asks nothing asks first on a claimed call.
	f.snapshot(call("i1", calls.Incoming, t0.Add(-time.Second)))
	f.feed(feedwire.Message{Type: feedwire.TypeClaims, Seq: f.seq, Claims: []feedwire.Claim{claim("i1", verbs.Reject, "bob", 10*time.Second)}})
	click(t, f.disp, f.page, map[string]string{"data-action": "answer", "data-call-id": "i1"})
	if got := f.textOf("dialog-claimed"); !strings.HasPrefix(got, "bob is rejecting this call") {
		t.Fatalf("answering bob's call says %q", got)
	}
	if got := f.api.actions(); len(got) != 1 {
		t.Fatalf("sent %q before the supervisor chose to act anyway", got)
	}
	click(t, f.disp, f.page, map[string]string{"data-action": "override"})
	click(t, f.disp, f.page, map[string]string{"id": "dialog-first"})
	if got := f.api.actions(); !slices.Equal(got, []string{"DELETE /api/calls/c4", "POST /api/calls/i1/answer?override=1"}) {
		t.Errorf("sent %q", got)
	}
}
