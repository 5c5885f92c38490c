package feedwire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

func sampleCall() calls.Call {
	at := time.Date(2026, 12, 1, 9, 30, 0, 123456789, time.UTC)
	return calls.Call{ID: "b3c40000-0007-4000-8000-000000012345", State: calls.Hold, Direction: "incoming",
		Source:     calls.Party{Kind: "phone", ID: "+14255552345", Phone: "+14255552345"},
		Targets:    []calls.Party{{Kind: "application", ID: "5b0a0000-0000-4000-8000-0000000000b0", DisplayName: "Calling Bot"}},
		Modalities: []string{"audio"}, Subject: "Order 7 — \"rush\"\u2028", StartedAt: at, AnsweredAt: at.Add(time.Second),
		UpdatedAt: at.Add(time.Minute), StateSince: at.Add(time.Minute), Reached: []calls.State{calls.Incoming, calls.Established, calls.Hold},
		Alerts: []calls.Alert{{Rule: "long-hold", Words: "on hold for long"}}, Seq: 42}
}

func encode(t *testing.T, msgs ...feedwire.Message) []byte {
	t.Helper()
	var lines [][]byte
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b)
	}
	return bytes.Join(lines, []byte("\n"))
}

// TestDecodeGivesBackWhatWasSent: a frame of every kind of message decodes
// to the messages encoded, in order, and a call message also gives the
// call's JSON as sent, which decodes to the same call.
func TestDecodeGivesBackWhatWasSent(t *testing.T) {
	c := sampleCall()
	now := time.Date(2026, 12, 1, 9, 31, 0, 0, time.UTC)
	sent := []feedwire.Message{
		{Type: feedwire.TypeSnapshot, Seq: 41, Now: now, Epoch: "e1", Calls: []calls.Call{c}},
		{Type: feedwire.TypeCall, Seq: 42, Call: &c},
		{Type: feedwire.TypeRemoved, Seq: 43, CallID: "gone"},
		{Type: feedwire.TypeStatus, Seq: 43, Trouble: "the event store is away"},
		{Type: feedwire.TypePresence, Seq: 43, People: []feedwire.Person{{Name: "alice", Role: "supervisor"}}},
	}
	frame := append(encode(t, sent...), '\n', '\n') // blank lines are skipped
	got, err := feedwire.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sent) {
		t.Fatalf("decoded %d messages, want %d", len(got), len(sent))
	}
	for i := range sent {
		want := sent[i]
		if got[i].Call != nil {
			wantJSON, _ := json.Marshal(want.Call)
			if !bytes.Equal(got[i].CallJSON, wantJSON) {
				t.Fatalf("message %d: the call's JSON is\n%s\nwant\n%s", i, got[i].CallJSON, wantJSON)
			}
			var again calls.Call
			if err := json.Unmarshal(got[i].CallJSON, &again); err != nil || !reflect.DeepEqual(again, *got[i].Call) {
				t.Fatalf("message %d: the call's JSON decodes to %+v (%v), the call is %+v", i, again, err, *got[i].Call)
			}
			want.CallJSON = got[i].CallJSON
		} else if got[i].CallJSON != nil {
			t.Fatalf("message %d (%s) has call JSON %s and no call", i, got[i].Type, got[i].CallJSON)
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("message %d decodes to\n%+v\nwant\n%+v", i, got[i], want)
		}
	}
}

// TestDecodeRefusesWhatIsNotAMessage: a line that is no JSON object, or
// whose call is not a call, is an error naming the message; the messages
// before it are returned.
func TestDecodeRefusesWhatIsNotAMessage(t *testing.T) {
	ok := encode(t, feedwire.Message{Type: feedwire.TypeRemoved, Seq: 1, CallID: "x"})
	for name, bad := range map[string]string{
		"not JSON":          `{"type":"call","seq":2`,
		"a call not a call": `{"type":"call","seq":2,"call":{"id":7}}`,
		"an array":          `[1,2]`,
	} {
		got, err := feedwire.Decode(append(append(ok, '\n'), bad...))
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if err == nil || !(errors.As(err, &syntax) || errors.As(err, &typ)) {
			t.Fatalf("%s: error %v, want a JSON error", name, err)
		}
		if len(got) != 1 || got[0].CallID != "x" {
			t.Fatalf("%s: decoded %+v before the error, want the first message", name, got)
		}
	}
	got, err := feedwire.Decode([]byte(`{"type":"call","seq":3,"call":null}`))
	if err != nil || len(got) != 1 || got[0].Call != nil || got[0].CallJSON != nil {
		t.Fatalf("a null call decodes to %+v, %v: want a message without a call", got, err)
	}
}

// FuzzDecode: whatever a frame holds, Decode does not panic, and every
// call it gives has JSON that decodes to that call.
func FuzzDecode(f *testing.F) {
	c := sampleCall()
	for _, m := range []feedwire.Message{{Type: feedwire.TypeCall, Seq: 42, Call: &c}, {Type: feedwire.TypeRemoved, Seq: 1, CallID: "x"}} {
		b, _ := json.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte("{\"type\":\"call\",\"call\":{}}\n\n{\"type\":\"status\"}"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		msgs, _ := feedwire.Decode(frame)
		for _, m := range msgs {
			if m.Call == nil {
				continue
			}
			var again calls.Call
			if err := json.Unmarshal(m.CallJSON, &again); err != nil || !reflect.DeepEqual(again, *m.Call) {
				t.Fatalf("call JSON %q decodes to %+v (%v), the call is %+v", m.CallJSON, again, err, *m.Call)
			}
		}
	})
}

// TestEncodeSendsTheCallJSONItIsGiven: a message whose call is already
// encoded is sent around those bytes, the same bytes json.Marshal gives
// for the message; without them, Encode is json.Marshal.
func TestEncodeSendsTheCallJSONItIsGiven(t *testing.T) {
	c := sampleCall()
	callJSON, _ := json.Marshal(c)
	for _, m := range []feedwire.Message{
		{Type: feedwire.TypeCall, Seq: 42, Call: &c},
		{Type: feedwire.TypeCall, Seq: 42, Call: &c, Epoch: "e1", CallID: c.ID},
		{Type: feedwire.TypeRemoved, Seq: 43, CallID: "gone"},
	} {
		want, _ := json.Marshal(m)
		if m.Call != nil {
			m.CallJSON = callJSON
		}
		got, err := feedwire.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.Epoch == "" && !bytes.Equal(got, want) {
			t.Fatalf("Encode gives\n%s\njson.Marshal\n%s", got, want)
		}
		back, err := feedwire.Decode(got)
		if err != nil || len(back) != 1 {
			t.Fatalf("Encode's %s does not decode: %v", got, err)
		}
		back[0].CallJSON, m.CallJSON = nil, nil
		if !reflect.DeepEqual(back[0], m) {
			t.Fatalf("Encode's %s decodes to %+v, want %+v", got, back[0], m)
		}
	}
	// The bytes given are what is sent, not an encoding of Call.
	other := c
	other.Subject = "given"
	given, _ := json.Marshal(other)
	got, _ := feedwire.Encode(feedwire.Message{Type: feedwire.TypeCall, Seq: 42, Call: &c, CallJSON: given})
	if !bytes.Contains(got, []byte(`"subject":"given"`)) {
		t.Fatalf("Encode encoded the call again: %s", got)
	}
}

// BenchmarkDecode is a busy feed's frame as a console decodes it: 40 call
// messages. Run it with and without GOEXPERIMENT=jsonv2 to compare the JSON
// engines (the console is built on the newer one).
func BenchmarkDecode(b *testing.B) {
	c := sampleCall()
	var lines [][]byte
	for i := range 40 {
		c.Seq = uint64(i + 1)
		m, _ := json.Marshal(feedwire.Message{Type: feedwire.TypeCall, Seq: c.Seq, Call: &c})
		lines = append(lines, m)
	}
	frame := bytes.Join(lines, []byte("\n"))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := feedwire.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}
