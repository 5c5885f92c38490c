package notify

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"switchboard/app/calls"
)

// Bodies as the seeds show them.
const (
	seedIncoming    = `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"created","resourceUrl":"/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896","resourceData":{"@odata.type":"#microsoft.graph.call","@odata.id":"/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896","state":"incoming","direction":"incoming","source":{"identity":{"user":{"displayName":"John","id":"112f7296-5fa4-42ca-bae8-6a692b15d4b8"}},"region":"westus","languageId":"en-US"},"targets":[{"identity":{"application":{"displayName":"Calling Bot","id":"2891555a-92ff-42e6-80fa-6e1300c6b5c6"}},"region":"westus","languageId":"en-US"}],"requestedModalities":["audio","video"]}}]}`
	seedTerminating = `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"updated","resourceUrl":"/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896","resourceData":{"@odata.type":"#microsoft.graph.call","state":"terminating"}}]}`
	seedTerminated  = `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"deleted","resourceUrl":"/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896","resourceData":{"@odata.type":"#microsoft.graph.call","state":"terminated","resultInfo":{"@odata.type":"#microsoft.graph.resultInfo","code":"200","subcode":"5001","message":"The conversation has ended."}}}]}`
	seedRejected    = `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"deleted","resourceUrl":"/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896","resourceData":{"@odata.type":"#microsoft.graph.call","@odata.id":"/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896"}}]}`
)

const seedID = "57dab8b1-894c-409a-b240-bd8beae78896"

func TestDecodeSeeds(t *testing.T) {
	items, err := Decode([]byte(seedIncoming))
	if err != nil || len(items) != 1 {
		t.Fatalf("incoming: %v %v", items, err)
	}
	ch := items[0].Change
	if items[0].CallID != seedID || ch.State != calls.Incoming || ch.Direction != "incoming" || ch.ChangeType != "created" {
		t.Fatalf("incoming decoded as %+v", items[0])
	}
	if ch.Source == nil || ch.Source.DisplayName != "John" || ch.Source.Kind != "user" || len(ch.Targets) != 1 || ch.Targets[0].Kind != "application" {
		t.Fatalf("parties: %+v %+v", ch.Source, ch.Targets)
	}
	if strings.Join(ch.Modalities, ",") != "audio,video" {
		t.Fatalf("modalities %v", ch.Modalities)
	}
	items, err = Decode([]byte(seedTerminated))
	if err != nil || items[0].Change.Result == nil || *items[0].Change.Result != (calls.Result{Code: 200, Subcode: 5001, Message: "The conversation has ended."}) {
		t.Fatalf("terminated: %+v %v", items, err)
	}
	items, err = Decode([]byte(seedRejected))
	if err != nil || items[0].Change.ChangeType != "deleted" || items[0].Change.State != "" {
		t.Fatalf("rejected: %+v %v", items, err)
	}
}

func TestDecodeQuirks(t *testing.T) {
	tests := []struct {
		name string
		item string
		want func(Item) bool
	}{
		{"legacy resource only", `{"changeType":"updated","resource":"/app/calls/abc","resourceData":{"state":"established"}}`,
			func(i Item) bool { return i.CallID == "abc" && i.Change.State == calls.Established }},
		{"numeric codes and subCode", `{"changeType":"deleted","resourceUrl":"/communications/calls/abc","resourceData":{"state":"terminated","resultInfo":{"code":480,"subCode":10037}}}`,
			func(i Item) bool { return *i.Change.Result == calls.Result{Code: 480, Subcode: 10037} }},
		{"diag code in message", `{"changeType":"deleted","resourceUrl":"/communications/calls/abc","resourceData":{"resultInfo":{"message":"Bot join failed. DiagCode: 500#7117.@"}}}`,
			func(i Item) bool { return i.Change.Result.Code == 500 && i.Change.Result.Subcode == 7117 }},
		{"participants array", `{"changeType":"updated","resourceUrl":"/communications/calls/abc/participants","resourceData":[{"id":"p1"},{"id":"p2"}]}`,
			func(i Item) bool {
				return i.Change.Resource == calls.ResourceParticipants && i.Change.Participants == 2
			}},
		{"phone source", `{"changeType":"created","resourceUrl":"communications/calls/abc","resourceData":{"state":"incoming","source":{"identity":{"phone":{"id":"+14255550100"}}},"meetingInfo":{"joinMeetingId":"123 456"},"callChainId":"chain","myParticipantId":"me"}}`,
			func(i Item) bool {
				c := i.Change
				return c.Source.Phone == "+14255550100" && c.MeetingID == "123 456" && c.ChainID == "chain" && c.MyParticipantID == "me"
			}},
		{"non-numeric code is no code", `{"changeType":"deleted","resourceUrl":"/communications/calls/abc","resourceData":{"resultInfo":{"code":"x","message":"m"}}}`,
			func(i Item) bool { return i.Change.Result.Code == 0 && i.Change.Result.Message == "m" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := Decode([]byte(`{"@odata.type":"#microsoft.graph.commsNotifications","value":[` + tt.item + `]}`))
			if err != nil || len(items) != 1 {
				t.Fatalf("decode: %v %v", items, err)
			}
			if !tt.want(items[0]) {
				t.Fatalf("decoded %+v (result %+v)", items[0], items[0].Change.Result)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{"value":[`, "not a JSON object"},
		{"array", `[]`, "not a JSON object"},
		{"other type", `{"@odata.type":"#microsoft.graph.changeNotificationCollection","value":[]}`, "not #microsoft.graph.commsNotifications"},
		{"no value", `{"@odata.type":"#microsoft.graph.commsNotifications"}`, `no "value" array`},
		{"no change type", `{"value":[{"resourceUrl":"/communications/calls/a"}]}`, "changeType is missing"},
		{"bad change type", `{"value":[{"changeType":"moved","resourceUrl":"/communications/calls/a"}]}`, `changeType "moved"`},
		{"no resource", `{"value":[{"changeType":"updated"}]}`, "resourceUrl (or resource) is missing"},
		{"not a call", `{"value":[{"changeType":"updated","resourceUrl":"/users/a"}]}`, "is not a call"},
		{"bad data", `{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/a","resourceData":{"state":1}}]}`, "resourceData is not a call"},
		{"trailing data", `{"value":[]} {}`, "data after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestDecodeKeepsOperationsSkipsOtherResourcesAndKeepsIDsStable(t *testing.T) {
	body := `{"value":[{"changeType":"deleted","resourceUrl":"/communications/calls/a/operations/op1","resourceData":{"status":"completed"}},` +
		`{"changeType":"updated","resourceUrl":"/communications/calls/a/contentSharingSessions/s1","resourceData":{"id":"s1"}},` +
		`{"changeType":"updated","resourceUrl":"/communications/calls/a","resourceData":{"state":"hold"}}]}`
	a, err := Decode([]byte(body))
	if err != nil || len(a) != 2 || a[1].Change.State != calls.Hold {
		t.Fatalf("decode: %+v %v", a, err)
	}
	if op := a[0].Change; op.Resource != calls.ResourceOperation || op.Operation == nil || op.Operation.ID != "op1" || !op.Operation.Deleted || op.State != "" {
		t.Fatalf("operation decoded as %+v", op)
	}
	b, _ := Decode([]byte(body))
	if a[0].ID != b[0].ID || a[0].ID == "" || a[0].ID == a[1].ID {
		t.Fatalf("redelivery ids differ: %q %q", a[0].ID, b[0].ID)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{seedIncoming, seedTerminating, seedTerminated, seedRejected,
		`{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/a/participants","resourceData":[{}]}]}`,
		env(v1Note("created", idIn, incomingTrailingComma)),
		env(v1Note("updated", idGroup+"/participants", rosterMutedWithComment)),
		env(v1Note("updated", idGroup+"/participants", rosterDelta)),
		env(opNote("deleted", idUpper, "0C0C0C0C00004000800000000000000C", opRecordMaxLength)),
		envelopeWith("", legacyNote("updated", "/app/calls/"+idUpper+"/operations/0F", opTransferRunning)),
		env(opNote("deleted", idGroup, "participants", opInviteDone)),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := Decode(body)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, it := range items {
			if it.CallID == "" || it.ID == "" {
				t.Fatalf("item without id: %+v", it)
			}
			if it.Change.Resource == calls.ResourceOperation && (it.Change.State != "" || it.Change.Operation == nil) {
				t.Fatalf("an operation carries a call state: %+v", it.Change)
			}
			switch it.Change.ChangeType {
			case "created", "updated", "deleted":
			default:
				t.Fatalf("change type %q passed", it.Change.ChangeType)
			}
		}
	})
}

// FuzzRelax checks that relaxing never breaks a body that was valid JSON
// and never reaches into strings.
func FuzzRelax(f *testing.F) {
	for _, s := range []string{`{"a": 1, // c
}`, `{"s": "// not a comment, /* nor this */", "t": [1,2,],}`, `{"x": /* c */ 1}`, `{"u": "\\\"// x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, changed := relax(in)
		if json.Valid(in) {
			var a, b any
			if json.Unmarshal(in, &a) != nil {
				return
			}
			if err := json.Unmarshal(out, &b); err != nil {
				t.Fatalf("relaxing valid JSON %q gave invalid %q: %v", in, out, err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("relaxing valid JSON %q changed its value: %q", in, out)
			}
		}
		if !changed && string(out) != string(in) {
			t.Fatalf("unchanged, yet %q became %q", in, out)
		}
	})
}

// BenchmarkDecode measures the webhook's decoding of the shapes it meets
// most: a call update, a captured group roster, and a documentation
// example that needs relaxing.
func BenchmarkDecode(b *testing.B) {
	for _, bb := range []struct{ name, body string }{
		{"call", seedTerminated},
		{"roster", env(callNote("updated", idGroup+"/participants", rosterCaptured))},
		{"relaxed", env(v1Note("updated", idGroup+"/participants", rosterMutedWithComment))},
	} {
		b.Run(bb.name, func(b *testing.B) {
			body := []byte(bb.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzStrictObjectTakesWhatADecoderTakes: strictObject, which tries
// Unmarshal first, takes exactly the bodies a decoder followed by a check
// for more data takes, as the same value.
func FuzzStrictObjectTakesWhatADecoderTakes(f *testing.F) {
	for _, s := range []string{`{"value":[]}`, `{"value":[]} {}`, `{"value":[]}}`, ` {"a":1} `, `{"a":`, `{"a":1}]`, `{"a":[1,2,]}`, seedIncoming} {
		f.Add([]byte(s))
	}
	decoded := func(data []byte) (map[string]any, bool) {
		data = bytes.TrimSpace(data)
		if len(data) == 0 || data[0] != '{' {
			return nil, false
		}
		var v map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		if dec.Decode(&v) != nil || dec.More() {
			return nil, false
		}
		return v, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantOK := decoded(data)
		var got map[string]any
		err := strictObject(data, &got)
		if (err == nil) != wantOK || (wantOK && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%q: strictObject %v (%v), a decoder %v (%v)", data, got, err, want, wantOK)
		}
	})
}
