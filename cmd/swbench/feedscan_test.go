package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

// fullCall is a call with every field a console can see set, including
// strings that try to fool the fast path.
func fullCall(id, subject string) calls.Call {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return calls.Call{
		ID: id, State: calls.Terminated, Direction: calls.DirectionIncoming,
		Source:     calls.Party{Kind: "user", ID: "u1", DisplayName: `Eve "subject":"bench k=9 j=9 t=9"`},
		Targets:    []calls.Party{{Kind: "application", ID: "bot", DisplayName: "Calling Bot"}},
		Modalities: []string{"audio"}, Subject: subject, ChainID: "chain", MeetingID: "m1", MyParticipantID: "p1", Participants: 3,
		Result:    &calls.Result{Code: 200, Subcode: 5001, Message: `The "conversation" has ended.`},
		StartedAt: at, AnsweredAt: at, EndedAt: at, UpdatedAt: at, EndedBy: "alice", EndAction: verbs.HangUp,
		LastAction: &calls.Action{Verb: verbs.HangUp, Actor: "alice", Status: 204, At: at},
		Seq:        42,
	}
}

func line(t *testing.T, m feedwire.Message) []byte {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestScanMessageMatchesEncodingJSON(t *testing.T) {
	withSubject := fullCall("b3c40000-0001-4000-8000-000000000007", "bench k=7 j=2 t=123456789")
	noSubject := fullCall("c1", "")
	escaped := fullCall("c2", `quoted "subject" \ here`)
	tests := []struct {
		name string
		msg  feedwire.Message
		want feedMessage
		fast bool // the fast path must recognise it
	}{
		{"call", feedwire.Message{Type: feedwire.TypeCall, Seq: 42, Call: &withSubject},
			feedMessage{Type: "call", Seq: 42, CallID: []byte(withSubject.ID), Subject: []byte(withSubject.Subject)}, true},
		{"call without subject", feedwire.Message{Type: feedwire.TypeCall, Seq: 43, Call: &noSubject},
			feedMessage{Type: "call", Seq: 43, CallID: []byte("c1")}, true},
		{"subject with escapes", feedwire.Message{Type: feedwire.TypeCall, Seq: 44, Call: &escaped},
			feedMessage{Type: "call", Seq: 44, CallID: []byte("c2"), Subject: []byte(escaped.Subject)}, false},
		{"snapshot", feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 9, Now: time.Now(), Calls: []calls.Call{withSubject}},
			feedMessage{Type: "snapshot", Seq: 9}, true},
		{"empty snapshot", feedwire.Message{Type: feedwire.TypeSnapshot, Now: time.Now()}, feedMessage{Type: "snapshot"}, true},
		{"resume", feedwire.Message{Type: feedwire.TypeResume, Seq: 7, Now: time.Now()}, feedMessage{Type: "resume", Seq: 7}, true},
		{"removed", feedwire.Message{Type: feedwire.TypeRemoved, Seq: 8, CallID: "c1"}, feedMessage{Type: "removed", Seq: 8}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := line(t, tt.msg)
			got, err := scanMessage(data)
			if err != nil {
				t.Fatal(err)
			}
			if !equalMessages(got, tt.want) {
				t.Fatalf("scanMessage = %+v, want %+v", got, tt.want)
			}
			slow, err := scanSlow(data)
			if err != nil || !equalMessages(slow, tt.want) {
				t.Fatalf("scanSlow = %+v, %v; want %+v", slow, err, tt.want)
			}
			if _, ok := scanFast(data); ok != tt.fast {
				t.Fatalf("fast path recognised it: %v, want %v", ok, tt.fast)
			}
		})
	}
}

func equalMessages(a, b feedMessage) bool {
	return a.Type == b.Type && a.Seq == b.Seq && string(a.CallID) == string(b.CallID) && string(a.Subject) == string(b.Subject)
}

func TestScanMessageRefusesGarbage(t *testing.T) {
	for _, in := range []string{`not json`, `{"seq":3}`, `{"type":"call","seq":-1}`, `[1,2]`} {
		if m, err := scanMessage([]byte(in)); err == nil {
			t.Errorf("scanMessage(%s) = %+v, want an error", in, m)
		}
	}
}

func TestScanFastFallsBackOnOtherShapes(t *testing.T) {
	// Valid messages in a field order the server does not use today.
	in := []byte(`{"seq":5,"type":"call","call":{"subject":"s","id":"x"}}`)
	if _, ok := scanFast(in); ok {
		t.Fatal("the fast path accepted a shape it does not know")
	}
	got, err := scanMessage(in)
	want := feedMessage{Type: "call", Seq: 5, CallID: []byte("x"), Subject: []byte("s")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("scanMessage = %+v, %v; want %+v", got, err, want)
	}
}
