package verbs_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"switchboard/app/calls"
	"switchboard/app/verbs"
)

func TestContractIsComplete(t *testing.T) {
	seen := map[verbs.Verb]bool{}
	routes := map[string]bool{}
	for _, s := range verbs.All() {
		if seen[s.Verb] {
			t.Errorf("%s listed twice", s.Verb)
		}
		seen[s.Verb] = true
		if s.Words == "" || s.Done == "" || s.Busy == "" || s.Help == "" || s.OK == 0 {
			t.Errorf("%s lacks words: %+v", s.Verb, s)
		}
		for _, st := range s.States {
			if !calls.State(st).Known() {
				t.Errorf("%s allows state %q, which Graph does not document", s.Verb, st)
			}
		}
		if !s.Offered() {
			if s.Role != verbs.System {
				t.Errorf("%s has no route but is not a system action", s.Verb)
			}
			continue
		}
		if s.Label == "" || !strings.HasPrefix(s.Route, "/api/") || (s.Method != http.MethodPost && s.Method != http.MethodDelete) {
			t.Errorf("%s: route %s %s, label %q", s.Verb, s.Method, s.Route, s.Label)
		}
		if routes[s.Pattern()] {
			t.Errorf("%s shares route %s", s.Verb, s.Pattern())
		}
		routes[s.Pattern()] = true
		if (s.Input == verbs.AskParticipant) != (s.Scope == verbs.OnParticipant) || (s.Scope == verbs.OnParticipant) != strings.Contains(s.Route, "{participant}") {
			t.Errorf("%s: input, scope and route disagree", s.Verb)
		}
	}
}

func TestUnknownVerbsAreErrors(t *testing.T) {
	if _, err := verbs.Lookup("teleport"); !errors.Is(err, verbs.ErrUnknown) {
		t.Fatalf("Lookup(teleport) = %v", err)
	}
	if _, err := verbs.Parse(" transfer "); err != nil {
		t.Fatal(err)
	}
	if verbs.Verb("teleport").Ends() || verbs.Verb("teleport").Known() {
		t.Fatal("an unknown verb ends calls")
	}
	c := calls.Call{ID: "c", State: calls.Established}
	if why := c.Why("teleport"); !strings.Contains(why, "unknown action") {
		t.Fatalf("Why(teleport) = %q", why)
	}
}

func TestWhy(t *testing.T) {
	incoming := verbs.Facts{State: "incoming"}
	established := verbs.Facts{State: "established", Answered: true}
	group := verbs.Facts{State: "established", Answered: true, Group: true}
	ended := verbs.Facts{State: "terminated", Answered: true, Ended: true}
	tests := []struct {
		verb  verbs.Verb
		facts verbs.Facts
		want  string // "" allowed, else a part of the refusal
	}{
		{verbs.Answer, incoming, ""},
		{verbs.Reject, established, "already answered (it is established); hang it up instead"},
		{verbs.Redirect, incoming, ""},
		{verbs.Redirect, verbs.Facts{State: "establishing"}, "cannot redirect: the call is establishing, and only an incoming call can be redirected"},
		{verbs.Redirect, ended, "cannot redirect: the call has already ended"},
		{verbs.Transfer, established, ""},
		{verbs.Transfer, incoming, "not answered yet; answer or redirect it instead"},
		{verbs.Transfer, verbs.Facts{State: "hold", Answered: true}, "cannot transfer: the call is on hold, and only a call that is established can be transferred"},
		{verbs.HangUp, verbs.Facts{State: "terminating"}, ""},
		{verbs.HangUp, ended, "already ended"},
		{verbs.Mute, established, "only participants of a group call can be muted"},
		{verbs.Mute, group, ""},
		{verbs.Mute, verbs.Facts{State: "hold", Group: true}, ""},
		{verbs.Delete, established, "only an ended conversation can be deleted"},
		{verbs.Delete, ended, ""},
	}
	for _, tt := range tests {
		s, err := verbs.Lookup(tt.verb)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Why(tt.facts)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s on %+v: %q, want %q", tt.verb, tt.facts, got, tt.want)
		}
	}
}

func TestOfferAndPermissions(t *testing.T) {
	names := func(ss []verbs.Spec) []string {
		var out []string
		for _, s := range ss {
			out = append(out, string(s.Verb))
		}
		return out
	}
	if got := names(verbs.Offer(verbs.Supervisor, verbs.Facts{State: "incoming"})); !slices.Equal(got, []string{"answer", "reject", "redirect", "hangup"}) {
		t.Errorf("incoming: %v", got)
	}
	if got := names(verbs.Offer(verbs.Supervisor, verbs.Facts{State: "established", Answered: true, Group: true})); !slices.Equal(got, []string{"transfer", "hangup"}) {
		t.Errorf("established (mute is per participant): %v", got)
	}
	if got := names(verbs.Offer(verbs.Viewer, verbs.Facts{State: "incoming"})); len(got) != 0 {
		t.Errorf("a viewer is offered %v", got)
	}
	if got := names(verbs.Offer(verbs.Admin, verbs.Facts{State: "terminated", Ended: true})); len(got) != 0 {
		t.Errorf("an ended call offers %v (delete is the ended list's)", got)
	}
	if got := strings.Join(verbs.Permissions(verbs.Admin), " "); got != "answer reject redirect transfer hangup mute delete" {
		t.Errorf("admin may %q", got)
	}
	if got := verbs.Permissions(verbs.System); len(got) != 0 {
		t.Errorf("system may %v", got)
	}
}

func TestPath(t *testing.T) {
	s, _ := verbs.Lookup(verbs.Mute)
	if got := s.Path("c/1", "p 2"); got != "/api/calls/c%2F1/participants/p%202/mute" {
		t.Fatalf("path = %q", got)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want verbs.Target
		err  string
	}{
		{"+14255550100", verbs.Target{Kind: verbs.TargetPhone, ID: "+14255550100"}, ""},
		{" +1 (425) 555-0100 ", verbs.Target{Kind: verbs.TargetPhone, ID: "+14255550100"}, ""},
		{"tel:+44.20.7946.0000", verbs.Target{Kind: verbs.TargetPhone, ID: "+442079460000"}, ""},
		{"4255550100", verbs.Target{}, "no country code"},
		{"+0123", verbs.Target{}, "first not 0"},
		{"+1234567890123456", verbs.Target{}, "3 to 15 digits"},
		{"+1425x", verbs.Target{}, "which a phone number cannot"},
		{"550FAE72-D251-43EC-868C-373732C2704F", verbs.Target{Kind: verbs.TargetUser, ID: "550fae72-d251-43ec-868c-373732c2704f"}, ""},
		{"Ada.Lovelace@Contoso.com", verbs.Target{Kind: verbs.TargetUPN, ID: "ada.lovelace@contoso.com"}, ""},
		{"ada@localhost", verbs.Target{}, "no domain"},
		{"a b@contoso.com", verbs.Target{}, "cannot"},
		{"@contoso.com", verbs.Target{}, "not name@domain"},
		{"", verbs.Target{}, "required"},
		{"alice", verbs.Target{}, "not a phone number"},
	}
	for _, tt := range tests {
		got, err := verbs.ParseTarget(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseTarget(%q) error %v, want it to say %q", tt.in, err, tt.err)
		case tt.err != "" && !errors.Is(err, verbs.ErrBadTarget) && !errors.Is(err, verbs.ErrNoTarget):
			t.Errorf("ParseTarget(%q) error %v is not ErrBadTarget", tt.in, err)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"+14255550100", "tel:+1 425", "ada@contoso.com", "550fae72-d251-43ec-868c-373732c2704f", "", "@", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tgt, err := verbs.ParseTarget(s)
		if err != nil {
			return
		}
		again, err := verbs.ParseTarget(tgt.ID)
		if err != nil || again != tgt {
			t.Fatalf("%q read as %+v, which reads back as %+v, %v", s, tgt, again, err)
		}
	})
}
