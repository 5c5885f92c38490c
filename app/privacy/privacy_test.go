package privacy_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
	"switchboard/app/privacy"
	"switchboard/app/verbs"
)

func TestPartiesAreMaskedWhenExternal(t *testing.T) {
	tests := []struct {
		name string
		in   calls.Party
		want calls.Party
	}{
		{"a phone number", calls.Party{Kind: "phone", ID: "+14255550123", Phone: "+14255550123"},
			calls.Party{Kind: "phone", ID: "•••• 0123", Phone: "•••• 0123"}},
		{"a named phone party", calls.Party{Kind: "phone", ID: "+14255550123", Phone: "+14255550123", DisplayName: "Grace Hopper"},
			calls.Party{Kind: "phone", ID: "•••• 0123", Phone: "•••• 0123", DisplayName: privacy.ExternalName}},
		{"a short number", calls.Party{Kind: "phone", ID: "112", Phone: "112"}, calls.Party{Kind: "phone", ID: "••••", Phone: "••••"}},
		{"a guest", calls.Party{Kind: "guest", ID: "guest-7", DisplayName: "Alan"}, calls.Party{Kind: "guest", DisplayName: privacy.ExternalName}},
		{"a number without a kind", calls.Party{ID: "+44 20 7946 0958"}, calls.Party{ID: "•••• 0958"}},
		{"a Teams user", calls.Party{Kind: "user", ID: "u-1", DisplayName: "Ada"}, calls.Party{Kind: "user", ID: "u-1", DisplayName: "Ada"}},
		{"the bot", calls.Party{Kind: "application", ID: "bot", DisplayName: "Front desk"}, calls.Party{Kind: "application", ID: "bot", DisplayName: "Front desk"}},
	}
	for _, tt := range tests {
		if got := privacy.Party(tt.in); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// secretCall names an external caller everywhere a call can.
func secretCall() calls.Call {
	phone := calls.Party{Kind: "phone", ID: "+14255550123", Phone: "+14255550123", DisplayName: "Grace Hopper"}
	return calls.Call{ID: "c1", Source: phone, Targets: []calls.Party{{Kind: "application", ID: "bot"}, phone},
		Roster:        []calls.Participant{{ID: "p1", Party: phone}, {ID: "p2", Party: calls.Party{Kind: "user", ID: "u-1", DisplayName: "Ada"}}},
		LastAction:    &calls.Action{Verb: verbs.Mute, Participant: "p1", ParticipantName: "Grace Hopper", Actor: "alice"},
		LastOperation: &calls.Operation{Kind: "inviteParticipants", Participants: []calls.Party{phone}},
		EndTarget:     "+14255550123"}
}

func TestACallKeepsNothingOfItsExternalParties(t *testing.T) {
	c := secretCall()
	before, _ := json.Marshal(c)
	masked := privacy.Call(c)
	data, _ := json.Marshal(masked)
	if strings.Contains(string(data), "4255550123") || strings.Contains(string(data), "Grace") {
		t.Fatalf("masked call: %s", data)
	}
	if !strings.Contains(string(data), "Ada") || !strings.Contains(string(data), "•••• 0123") {
		t.Fatalf("masking hid what it should not, or showed no digits: %s", data)
	}
	if after, _ := json.Marshal(c); string(after) != string(before) {
		t.Fatalf("masking changed its argument:\n%s\n%s", before, after)
	}
	if !privacy.Needed(c) || privacy.Needed(calls.Call{ID: "c2", Source: calls.Party{Kind: "user", ID: "u-1"}}) {
		t.Fatal("Needed does not tell external calls from internal ones")
	}
	transfer := calls.Call{ID: "c3", Source: calls.Party{Kind: "user", ID: "u-1"},
		LastAction: &calls.Action{Verb: verbs.Transfer, Target: "+14255550123", TargetName: "Grace Hopper"}}
	if !privacy.Needed(transfer) {
		t.Fatal("a call transferred to a number needs no masking")
	}
	if data, _ := json.Marshal(privacy.Call(transfer)); strings.Contains(string(data), "4255550123") || strings.Contains(string(data), "Grace") {
		t.Fatalf("masked transfer: %s", data)
	}
}

func TestEventsAndRowsAreMasked(t *testing.T) {
	c := secretCall()
	ev := calls.Event{Kind: calls.KindNotification, CallID: "c1", Change: &calls.Change{ChangeType: "created", Source: &c.Source,
		Targets: c.Targets, Roster: c.Roster, Operation: c.LastOperation}, Action: c.LastAction}
	before, _ := json.Marshal(ev)
	data, _ := json.Marshal(privacy.Event(ev))
	if strings.Contains(string(data), "4255550123") || strings.Contains(string(data), "Grace") {
		t.Fatalf("masked event: %s", data)
	}
	if after, _ := json.Marshal(ev); string(after) != string(before) {
		t.Fatal("masking changed the event")
	}
	row := privacy.Row(historyquery.RowFor(c))
	if data, _ := json.Marshal(row); strings.Contains(string(data), "4255550123") || strings.Contains(string(data), "Grace") {
		t.Fatalf("masked row: %s", data)
	}
	internal := calls.Call{ID: "c2", Source: calls.Party{Kind: "user", ID: "u-1", DisplayName: "Ada"}}
	if got := privacy.Call(internal); !reflect.DeepEqual(got, internal) {
		t.Fatalf("an internal call changed: %+v", got)
	}
}
