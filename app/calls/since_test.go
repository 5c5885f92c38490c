package calls

import (
	"testing"
	"time"
)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func TestStateSince(t *testing.T) {
	enriched := func(st State, sec int) Event {
		return Event{Kind: KindEnriched, CallID: "c1", At: at(sec), Change: &Change{Resource: ResourceCall, State: st}}
	}
	roster := Event{Kind: KindNotification, CallID: "c1", At: at(7),
		Change: &Change{ChangeType: "updated", Resource: ResourceParticipants, Participants: 2}}
	action := Event{Kind: KindAction, CallID: "c1", At: at(8), Action: &Action{Verb: "mute", Actor: "alice", Status: 200, At: at(8)}}
	tests := []struct {
		name   string
		events []Event
		state  State
		since  time.Time
	}{
		{"first state", []Event{note("created", Incoming, 0)}, Incoming, at(0)},
		{"moved", []Event{note("created", Incoming, 0), note("updated", Establishing, 3)}, Establishing, at(3)},
		{"same state again keeps it", []Event{note("created", Incoming, 0), note("updated", Incoming, 4)}, Incoming, at(0)},
		{"news without a state keeps it", []Event{note("created", Incoming, 0), note("updated", Established, 2), roster, action}, Established, at(2)},
		{"on hold since", []Event{note("updated", Established, 1), note("updated", Hold, 5)}, Hold, at(5)},
		{"hold, resume, hold again", []Event{note("updated", Established, 1), note("updated", Hold, 5), note("updated", Established, 9), note("updated", Hold, 12)}, Hold, at(12)},
		{"late earlier state ignored", []Event{note("created", Incoming, 0), note("updated", Established, 2), note("updated", Establishing, 1)}, Established, at(2)},
		{"ended", []Event{note("updated", Established, 1), note("deleted", Terminated, 6)}, Terminated, at(6)},
		{"late news after the end keeps it", []Event{note("updated", Established, 1), note("deleted", Terminated, 6), note("updated", Established, 9)}, Terminated, at(6)},
		{"no state yet", []Event{roster}, "", time.Time{}},
		{"state from a read", []Event{roster, enriched(Established, 8)}, Established, at(8)},
		{"a read never moves it", []Event{note("created", Incoming, 0), enriched(Established, 8)}, Incoming, at(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fold(tt.events...)
			if c.State != tt.state || !c.StateSince.Equal(tt.since) {
				t.Fatalf("state %q since %v, want %q since %v", c.State, c.StateSince, tt.state, tt.since)
			}
		})
	}
}

func TestInStateFor(t *testing.T) {
	c := fold(note("created", Incoming, 0), note("updated", Established, 2), note("updated", Hold, 10))
	if got := c.InStateFor(at(40)); got != 30*time.Second {
		t.Fatalf("on hold for %v at 40 s, want 30s", got)
	}
	if got := c.InStateFor(at(5)); got != 0 {
		t.Fatalf("before the state began: %v, want 0", got)
	}
	old := c
	old.StateSince = time.Time{} // saved before the state's start was recorded
	if got := old.InStateFor(at(40)); got != 40*time.Second {
		t.Fatalf("without StateSince: %v, want the time since the start, 40s", got)
	}
	ended := fold(note("created", Incoming, 0), note("deleted", Terminated, 3))
	if got := ended.InStateFor(at(40)); got != 0 {
		t.Fatalf("ended call in its state for %v, want 0", got)
	}
}

func alertEv(op AlertOp, rule, actor string, sec int) Event {
	return Event{Kind: KindAlert, CallID: "c1", At: at(sec), Alert: &AlertNote{Op: op, Rule: rule, Words: "Ringing over 10 s", Actor: actor}}
}

func TestApplyAlerts(t *testing.T) {
	ring := note("created", Incoming, 0)
	tests := []struct {
		name    string
		events  []Event
		want    []Alert
		changed bool // by the last event
	}{
		{"raised", []Event{ring, alertEv(AlertRaised, "r1", "", 11)},
			[]Alert{{Rule: "r1", Words: "Ringing over 10 s", Since: at(11)}}, true},
		{"raised twice is one alert", []Event{ring, alertEv(AlertRaised, "r1", "", 11), alertEv(AlertRaised, "r1", "", 12)},
			[]Alert{{Rule: "r1", Words: "Ringing over 10 s", Since: at(11)}}, false},
		{"two rules", []Event{ring, alertEv(AlertRaised, "r1", "", 11), alertEv(AlertRaised, "r2", "", 12)},
			[]Alert{{Rule: "r1", Words: "Ringing over 10 s", Since: at(11)}, {Rule: "r2", Words: "Ringing over 10 s", Since: at(12)}}, true},
		{"acknowledged", []Event{ring, alertEv(AlertRaised, "r1", "", 11), alertEv(AlertAcknowledged, "r1", "bob", 13)},
			[]Alert{{Rule: "r1", Words: "Ringing over 10 s", Since: at(11), AckedBy: "bob", AckedAt: at(13)}}, true},
		{"first acknowledgement stays", []Event{ring, alertEv(AlertRaised, "r1", "", 11), alertEv(AlertAcknowledged, "r1", "bob", 13), alertEv(AlertAcknowledged, "r1", "carol", 14)},
			[]Alert{{Rule: "r1", Words: "Ringing over 10 s", Since: at(11), AckedBy: "bob", AckedAt: at(13)}}, false},
		{"acknowledging no alert changes nothing", []Event{ring, alertEv(AlertAcknowledged, "r1", "bob", 13)}, nil, false},
		{"cleared", []Event{ring, alertEv(AlertRaised, "r1", "", 11), alertEv(AlertCleared, "r1", "", 15)}, nil, true},
		{"cleared after the end", []Event{ring, alertEv(AlertRaised, "r1", "", 11), note("deleted", Terminated, 14), alertEv(AlertCleared, "r1", "", 15)}, nil, true},
		{"raised again after a clear is new and unacknowledged", []Event{ring, alertEv(AlertRaised, "r1", "", 11), alertEv(AlertAcknowledged, "r1", "bob", 12), alertEv(AlertCleared, "r1", "", 13), alertEv(AlertRaised, "r1", "", 20)},
			[]Alert{{Rule: "r1", Words: "Ringing over 10 s", Since: at(20)}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fold(tt.events[:len(tt.events)-1]...)
			c, changed := Apply(before, uint64(len(tt.events)), tt.events[len(tt.events)-1])
			if changed != tt.changed {
				t.Fatalf("changed = %v, want %v", changed, tt.changed)
			}
			if len(c.Alerts) != len(tt.want) {
				t.Fatalf("alerts %+v, want %+v", c.Alerts, tt.want)
			}
			for i := range tt.want {
				g, w := c.Alerts[i], tt.want[i]
				if g.Rule != w.Rule || g.Words != w.Words || !g.Since.Equal(w.Since) || g.AckedBy != w.AckedBy || !g.AckedAt.Equal(w.AckedAt) {
					t.Fatalf("alert %d = %+v, want %+v", i, g, w)
				}
			}
			if c.State != before.State || !c.StateSince.Equal(before.StateSince) || !c.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("an alert event moved the call: %q %v %v, was %q %v %v", c.State, c.StateSince, c.UpdatedAt, before.State, before.StateSince, before.UpdatedAt)
			}
			if _, ok := c.Alert("r1"); ok != (len(tt.want) > 0) {
				t.Fatalf("Alert(r1) found %v with %+v", ok, c.Alerts)
			}
		})
	}
}

func TestAlertNeverCreatesACall(t *testing.T) {
	if c, changed := Apply(Call{}, 1, alertEv(AlertRaised, "r1", "", 1)); changed || c.ID != "" {
		t.Fatalf("an alert about an unknown call made %+v", c)
	}
}

func TestApplyAlertLeavesTheCallBeforeUnchanged(t *testing.T) {
	c := fold(note("created", Incoming, 0), alertEv(AlertRaised, "r1", "", 11))
	after, _ := Apply(c, 10, alertEv(AlertAcknowledged, "r1", "bob", 12))
	if c.Alerts[0].AckedBy != "" || after.Alerts[0].AckedBy != "bob" {
		t.Fatalf("acknowledging changed the call it was applied to: before %+v after %+v", c.Alerts, after.Alerts)
	}
	if !c.Unacknowledged() || after.Unacknowledged() {
		t.Fatalf("Unacknowledged: before %v after %v", c.Unacknowledged(), after.Unacknowledged())
	}
}
