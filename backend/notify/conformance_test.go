package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
)

// TestEveryShapeIsAccepted decodes one body of each shape Graph's pages and
// captured traffic show, and checks what was read from it.
func TestEveryShapeIsAccepted(t *testing.T) {
	tests := []struct {
		name string
		body string
		want func(t *testing.T, items []Item)
	}{
		{"envelope spelled with '#'", env(v1Note("updated", idIn, callData(`"state": "established"`))), state(idIn, calls.Established)},
		{"envelope spelled without '#', as earlier pages print it",
			envelopeWith("microsoft.graph.commsNotifications", callNote("updated", idIn, callData(`"state": "hold"`))), state(idIn, calls.Hold)},
		{"envelope in another case", envelopeWith("#Microsoft.Graph.CommsNotifications", v1Note("updated", idIn, callData(`"state": "hold"`))), state(idIn, calls.Hold)},
		{"envelope without @odata.type", envelopeWith("", legacyNote("updated", "/app/calls/"+idIn, callData(`"state": "hold"`))), state(idIn, calls.Hold)},
		{"incoming call with every field", env(v1Note("created", idIn, callData(incomingFull))), func(t *testing.T, items []Item) {
			ch := one(t, items, idIn)
			if ch.Source == nil || ch.Source.DisplayName != "Maren Holt" || len(ch.Targets) != 1 || ch.Targets[0].Kind != "application" ||
				ch.MyParticipantID == "" || strings.Join(ch.Modalities, ",") != "audio,video" || ch.Direction != "incoming" {
				t.Fatalf("incoming call read as %+v", ch)
			}
		}},
		{"incoming call with only its state (beta commsNotifications)",
			env(v1Note("created", idIn, callData(`"id": "`+idIn+`", "state": "incoming"`))), state(idIn, calls.Incoming)},
		{"the redirect page's trailing comma", env(v1Note("created", idIn, incomingTrailingComma)), func(t *testing.T, items []Item) {
			ch := one(t, items, idIn)
			if ch.Source == nil || ch.Source.Phone != "+15550104477" || len(ch.Targets) != 1 || ch.Targets[0].Kind != "applicationInstance" {
				t.Fatalf("parties read as %+v %+v", ch.Source, ch.Targets)
			}
		}},
		{"outgoing call's first notification: establishing, chain id, \"source\": {}",
			env(callNote("updated", idOut, callData(`"state": "establishing", "source": {}, "callChainId": "c4a1b2c3-0000-4000-8000-000000000001"`))),
			func(t *testing.T, items []Item) {
				ch := one(t, items, idOut)
				if ch.State != calls.Establishing || ch.Source != nil || len(ch.Targets) != 0 || ch.ChainID == "" {
					t.Fatalf("read as %+v (an empty source must say nothing)", ch)
				}
			}},
		{"source whose identity set is empty", env(callNote("updated", idOut, callData(`"state": "established", "source": {"@odata.type": "#microsoft.graph.participantInfo", "identity": {"@odata.type": "#microsoft.graph.identitySet"}}`))),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idOut); ch.Source != nil {
					t.Fatalf("an empty identity set read as source %+v", ch.Source)
				}
			}},
		{"captured: media state with meetingCapability and coOrganizers",
			env(callNote("updated", idOut, callData(`"state": "established", "mediaState": {"@odata.type": "#microsoft.graph.callMediaState", "audio": "active"},
				"meetingCapability": {"@odata.type": "#microsoft.graph.meetingCapability"}, "coOrganizers": [], "callChainId": "c4a1b2c3-0000-4000-8000-000000000001"`))),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idOut); ch.MediaState == nil || ch.MediaState.Audio != "active" {
					t.Fatalf("media state read as %+v", ch.MediaState)
				}
			}},
		{"captured: chat info, token meeting info, replacesContext",
			env(callNote("updated", idOut, callData(`"state": "established", "chatInfo": {"@odata.type": "#microsoft.graph.chatInfo", "threadId": "19:meeting_abc@thread.v2", "messageId": "0"},
				"meetingInfo": {"@odata.type": "#microsoft.graph.tokenMeetingInfo", "token": "eyJhbGciOi.x.y"},
				"meetingProperties": {"@odata.type": "#microsoft.graph.meetingProperties", "meetingLabel": "00000000-0000-0000-0000-000000000000"},
				"replacesContext": "aHR0cHM6Ly9leGFtcGxlLmludmFsaWQ="`))),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idOut); ch.ThreadID != "19:meeting_abc@thread.v2" {
					t.Fatalf("chat thread read as %q", ch.ThreadID)
				}
			}},
		{"a tone (subscribeToTone, captured tone press)",
			env(callNote("updated", idOut, callData(`"state": "established", "toneInfo": {"@odata.type": "#microsoft.graph.toneInfo", "sequenceId": 6, "tone": "tone1"}`))),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idOut); ch.Tone == nil || ch.Tone.Tone != "tone1" || ch.Tone.Sequence != 6 || ch.Tone.Key() != "1" {
					t.Fatalf("tone read as %+v", ch.Tone)
				}
			}},
		{"transfer completed with 0/7015 as numbers",
			env(v1Note("deleted", idXfer, callData(`"state": "terminated", "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 0, "subcode": 7015, "message": "GracefulTransferCompleted"}`))),
			result(idXfer, calls.Result{Code: 0, Subcode: 7015, Message: "GracefulTransferCompleted"})},
		{"transfer completed with only a terminationReason",
			env(v1Note("deleted", idXfer, callData(`"state": "terminated", "terminationReason": "AppTransferred"`))),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idXfer); ch.TerminationReason != "AppTransferred" || ch.Result != nil {
					t.Fatalf("read as reason %q result %+v", ch.TerminationReason, ch.Result)
				}
			}},
		{"failed transfer: established with 500 and subCode 7700, replacesContext",
			env(v1Note("updated", idXfer, callData(`"state": "established", "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 500, "subCode": 7700, "message": "<message>"}, "replacesContext": "<replacesContext>"`))),
			result(idXfer, calls.Result{Code: 500, Subcode: 7700, Message: "<message>"})},
		{"captured end: DiagCode in the message", env(callNote("deleted", idOut, callData(`"state": "terminated",
			"resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 200, "subcode": 5002, "message": "The conversation has ended. DiagCode: 0#5002.@"},
			"meetingCapability": {"@odata.type": "#microsoft.graph.meetingCapability"}, "coOrganizers": [], "callChainId": "c4a1b2c3-0000-4000-8000-000000000001"`))),
			result(idOut, calls.Result{Code: 200, Subcode: 5002, Message: "The conversation has ended. DiagCode: 0#5002.@"})},
		{"terminated with only a code (beta commsNotifications)",
			env(v1Note("deleted", idIn, callData(`"state": "terminated", "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 0}`))),
			result(idIn, calls.Result{})},
		{"codes as strings, with spaces", env(v1Note("deleted", idIn, callData(`"resultInfo": {"code": " 408 ", "subcode": "8537"}`))),
			result(idIn, calls.Result{Code: 408, Subcode: 8537})},
		{"codes written as 500.0", env(v1Note("deleted", idIn, callData(`"resultInfo": {"code": 500.0, "subcode": 7117.0}`))),
			result(idIn, calls.Result{Code: 500, Subcode: 7117})},
		{"an early page's upper-case id without dashes",
			envelopeWith("", legacyNote("deleted", "/app/calls/"+idUpper, `{"@odata.type": "#microsoft.graph.call", "@odata.id": "/app/calls/`+idUpper+`", "@odata.etag": "W/\"5445\"", "state": "terminated", "terminationReason": "AppTransferred"}`)),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idUpperCan); ch.TerminationReason != "AppTransferred" {
					t.Fatalf("read as %+v", ch)
				}
			}},
		{"an early page's replaced call: updated to terminated", envelopeWith("microsoft.graph.commsNotifications",
			`{"@odata.type": "microsoft.graph.commsNotification", "changeType": "updated", "resource": "/app/calls/`+idUpper+`",
			 "resourceData": {"@odata.type": "#microsoft.graph.call", "state": "terminated", "terminationReason": "AppInitiated"}}`),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idUpperCan); ch.State != calls.Terminated || ch.TerminationReason != "AppInitiated" {
					t.Fatalf("read as %+v", ch)
				}
			}},
		{"a whole URL as resourceUrl", env(`{"changeType": "updated", "resourceUrl": "https://graph.microsoft.com/v1.0/communications/calls/` + idIn + `", "resourceData": {"state": "hold"}}`),
			state(idIn, calls.Hold)},
		{"/applications/{app}/calls/{id} of the earliest pages", envelopeWith("", legacyNote("updated", "/applications/9f8e7d6c-1234-4abc-8def-0123456789ff/calls/"+idIn, callData(`"state": "hold"`))),
			state(idIn, calls.Hold)},
		{"changeType capitalised", env(`{"changeType": "Updated", "resourceUrl": "/communications/calls/` + idIn + `", "resourceData": {"state": "hold"}}`),
			state(idIn, calls.Hold)},
		{"a notification-level callbackUri", env(`{"@odata.type": "#microsoft.graph.commsNotification", "changeType": "updated", "callbackUri": "https://bot.example.net/cb",
			"resourceUrl": "/communications/calls/` + idIn + `", "resourceData": {"@odata.type": "#microsoft.graph.call", "state": "established"}}`),
			state(idIn, calls.Established)},

		// Rosters.
		{"captured group roster", env(callNote("updated", idGroup+"/participants", rosterCaptured)), func(t *testing.T, items []Item) {
			ch := one(t, items, idGroup)
			if ch.Resource != calls.ResourceParticipants || ch.RosterMode != calls.RosterFull || len(ch.Roster) != 2 || ch.Participants != 2 {
				t.Fatalf("roster read as %+v", ch)
			}
			p := ch.Roster[0]
			if p.ID != "d4d4d4d4-0000-4000-8000-000000000001" || p.Party.DisplayName != "Tomas Reyes" || p.Role != "attendee" || len(p.Media) != 4 || p.Muted || p.InLobby {
				t.Fatalf("participant read as %+v", p)
			}
			if b := ch.Roster[1]; b.Party.Kind != "applicationInstance" || b.Party.DisplayName != "Meeting Helper" {
				t.Fatalf("the bot read as %+v", b)
			}
		}},
		{"participant: mute's roster, comment included", env(v1Note("updated", idGroup+"/participants", rosterMutedWithComment)), func(t *testing.T, items []Item) {
			ch := one(t, items, idGroup)
			if len(ch.Roster) != 1 || !ch.Roster[0].Muted || ch.Roster[0].ID != "2f4e6a80-aaaa-4bbb-8ccc-000011112222" {
				t.Fatalf("roster read as %+v", ch.Roster)
			}
		}},
		{"invite's roster with null ids, under …/operations/participants",
			env(`{"@odata.type": "#microsoft.graph.commsNotification", "changeType": "updated",
				"resource": "/app/calls/` + idGroup + `/operations/participants", "resourceUrl": "/communications/calls/` + idGroup + `/operations/participants",
				"resourceData": ` + rosterNullIDs + `}`),
			func(t *testing.T, items []Item) {
				ch := one(t, items, idGroup)
				if ch.Resource != calls.ResourceParticipants || len(ch.Roster) != 2 || ch.Roster[0].ID != "" || !ch.Roster[1].InLobby ||
					ch.Roster[0].Key() == ch.Roster[1].Key() {
					t.Fatalf("roster read as %+v", ch)
				}
			}},
		{"an early page's roster: ids in @odata.id", envelopeWith("microsoft.graph.commsNotifications",
			legacyNote("updated", "/app/calls/"+idUpper+"/participants", rosterODataIDs)),
			func(t *testing.T, items []Item) {
				ch := one(t, items, idUpperCan)
				if len(ch.Roster) != 1 || ch.Roster[0].ID != "ABCDEF0123456789ABCDEF0123456789" || ch.Roster[0].Party.DisplayName != "Noor Haddad" {
					t.Fatalf("roster read as %+v", ch.Roster)
				}
			}},
		{"delta roster", env(v1Note("updated", idGroup+"/participants", rosterDelta)), func(t *testing.T, items []Item) {
			ch := one(t, items, idGroup)
			if ch.RosterMode != calls.RosterUpsert || len(ch.Roster) != 2 || ch.Roster[0].Recording != "recording" || ch.Roster[1].Removed != "user left" {
				t.Fatalf("delta read as %+v", ch)
			}
		}},
		{"participants deleted", env(v1Note("deleted", idGroup+"/participants", rosterMutedWithComment)), func(t *testing.T, items []Item) {
			if ch := one(t, items, idGroup); ch.RosterMode != calls.RosterRemove || len(ch.Roster) != 1 {
				t.Fatalf("read as %+v", ch)
			}
		}},
		{"one participant by its path", env(v1Note("updated", idGroup+"/participants/e5e5e5e5-0000-4000-8000-000000000005",
			`{"@odata.type": "#microsoft.graph.participant", "info": {"identity": {"user": {"id": "5656", "displayName": "Greta Lind"}}}, "isMuted": true}`)),
			func(t *testing.T, items []Item) {
				ch := one(t, items, idGroup)
				if ch.RosterMode != calls.RosterUpsert || len(ch.Roster) != 1 || ch.Roster[0].ID != "e5e5e5e5-0000-4000-8000-000000000005" || !ch.Roster[0].Muted {
					t.Fatalf("read as %+v", ch)
				}
			}},
		{"a server-muted audio stream is muted", env(v1Note("updated", idGroup+"/participants",
			`[{"id": "p1", "info": {"identity": {"user": {"id": "u1"}}}, "isMuted": false, "mediaStreams": [{"mediaType": "audio", "direction": "sendReceive", "serverMuted": true}]}]`)),
			func(t *testing.T, items []Item) {
				if ch := one(t, items, idGroup); !ch.Roster[0].Muted {
					t.Fatalf("read as %+v", ch.Roster)
				}
			}},

		// Operations.
		{"play prompt completed (captured)", env(callNote("deleted", idOut+"/operations/0b0b0b0b-0000-4000-8000-00000000000b", opPlayPromptDone)),
			opIs(idOut, calls.Operation{ID: "0b0b0b0b-0000-4000-8000-00000000000b", Kind: "playPrompt", Status: "completed", Deleted: true,
				CompletionReason: "completedSuccessfully", Result: &calls.Result{Code: 200, Message: "Action completed successfully."}})},
		{"record: maximum length reached", env(opNote("deleted", idUpper, "0C0C0C0C00004000800000000000000C", opRecordMaxLength)),
			opIs(idUpperCan, calls.Operation{ID: "0c0c0c0c-0000-4000-8000-00000000000c", Kind: "record", Status: "completed", Deleted: true,
				Result: &calls.Result{Code: 200, Subcode: 8515, Message: "Action completed, max record duration reached."}})},
		{"record cancelled, subcode twice", env(opNote("deleted", idUpper, "0D0D0D0D00004000800000000000000D", opRecordCancelled)),
			opIs(idUpperCan, calls.Operation{ID: "0d0d0d0d-0000-4000-8000-00000000000d", Kind: "record", Status: "failed", Deleted: true,
				CompletionReason: "operationCanceled", Result: &calls.Result{Code: 400, Subcode: 8508, Message: "Action failed, the operation was cancelled."}})},
		{"invite failed, trailing comma", envelopeWith("microsoft.graph.commsNotifications",
			legacyNote("deleted", "/app/calls/"+idUpper+"/operations/0E0E0E0E00004000800000000000000E", opInviteFailed)),
			func(t *testing.T, items []Item) {
				op := one(t, items, idUpperCan).Operation
				if op == nil || op.Kind != "inviteParticipants" || !op.Failed() || op.Result.Code != 500 || !strings.Contains(op.Result.Message, "could not invite") {
					t.Fatalf("read as %+v", op)
				}
			}},
		{"invite completed, id null, under …/operations/participants", env(opNote("deleted", idGroup, "participants", opInviteDone)),
			func(t *testing.T, items []Item) {
				ch := one(t, items, idGroup)
				if ch.Resource != calls.ResourceOperation || ch.Operation.Kind != "inviteParticipants" || len(ch.Operation.Participants) != 1 ||
					ch.Operation.Participants[0].DisplayName != "Pia Sorensen" || ch.State != "" {
					t.Fatalf("read as %+v", ch)
				}
			}},
		{"an early page's transfer as an operation: words as subCode", envelopeWith("",
			legacyNote("updated", "/app/calls/"+idUpper+"/operations/0F0F0F0F00004000800000000000000F", opTransferRunning),
			legacyNote("deleted", "/app/calls/"+idUpper+"/operations/0F0F0F0F00004000800000000000000F", opTransferAccepted)),
			func(t *testing.T, items []Item) {
				if len(items) != 2 {
					t.Fatalf("%d items", len(items))
				}
				a, b := items[0].Change.Operation, items[1].Change.Operation
				if a.Status != "running" || a.Result.Code != 200 || a.Result.Message != "transferring" || b.Result.Message != "transferAccepted" || !b.Deleted {
					t.Fatalf("read as %+v %+v", a, b)
				}
			}},
		{"send tones cancelled", env(opNote("deleted", idOut, "10101010-0000-4000-8000-000000000010", opDtmfCancelled)),
			opIs(idOut, calls.Operation{ID: "10101010-0000-4000-8000-000000000010", Kind: "sendDtmfTones", Status: "completed", Deleted: true, CompletionReason: "mediaOperationCanceled"})},
		{"subscribe to tone completed (beta)", envelopeWith("", legacyNote("deleted", "/app/calls/"+idUpper+"/operations/12121212000040008000000000000012", opSubscribeDone)),
			opIs(idUpperCan, calls.Operation{ID: "12121212000040008000000000000012", Kind: "comms", Status: "completed", Deleted: true})},
		{"recording status updated, status capitalised", env(opNote("deleted", idOut, "11111111-0000-4000-8000-000000000011", opUpdateRecording)),
			opIs(idOut, calls.Operation{ID: "11111111-0000-4000-8000-000000000011", Kind: "updateRecordingStatus", Status: "completed", Deleted: true, Result: &calls.Result{Code: 200}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := Decode([]byte(tt.body))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			tt.want(t, items)
		})
	}
}

func one(t *testing.T, items []Item, callID string) calls.Change {
	t.Helper()
	if len(items) != 1 || items[0].CallID != callID {
		t.Fatalf("decoded %d items (%+v), want one about %s", len(items), items, callID)
	}
	return items[0].Change
}

func state(callID string, want calls.State) func(*testing.T, []Item) {
	return func(t *testing.T, items []Item) {
		t.Helper()
		if ch := one(t, items, callID); ch.State != want {
			t.Fatalf("state %q, want %q", ch.State, want)
		}
	}
}

func result(callID string, want calls.Result) func(*testing.T, []Item) {
	return func(t *testing.T, items []Item) {
		t.Helper()
		if ch := one(t, items, callID); ch.Result == nil || *ch.Result != want {
			t.Fatalf("result %+v, want %+v", ch.Result, want)
		}
	}
}

func opIs(callID string, want calls.Operation) func(*testing.T, []Item) {
	return func(t *testing.T, items []Item) {
		t.Helper()
		ch := one(t, items, callID)
		if ch.Resource != calls.ResourceOperation || ch.Operation == nil || ch.State != "" || ch.ChangeType == "" {
			t.Fatalf("read as %+v", ch)
		}
		got := *ch.Operation
		if got.ID != want.ID || got.Kind != want.Kind || got.Status != want.Status || got.Deleted != want.Deleted ||
			got.CompletionReason != want.CompletionReason || (got.Result == nil) != (want.Result == nil) ||
			(got.Result != nil && *got.Result != *want.Result) {
			t.Fatalf("operation %+v (result %+v), want %+v (result %+v)", got, got.Result, want, want.Result)
		}
	}
}

// fold decodes bodies in order and folds them into the call id, as the live
// view does.
func fold(t *testing.T, id string, bodies ...string) calls.Call {
	t.Helper()
	var c calls.Call
	var seq uint64
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, b := range bodies {
		items, err := Decode([]byte(b))
		if err != nil {
			t.Fatalf("body %d refused: %v", i, err)
		}
		for _, it := range items {
			if it.CallID != id {
				continue
			}
			seq++
			ch := it.Change
			c, _ = calls.Apply(c, seq, calls.Event{Kind: calls.KindNotification, CallID: id, At: at.Add(time.Duration(seq) * time.Second), Change: &ch})
		}
	}
	return c
}

// TestDocumentedSequencesEndAsDocumented plays the sequences of the
// reference pages and captured traffic and checks each call ends in the
// documented state, with the documented result or termination reason, and
// with what a supervisor reads.
func TestDocumentedSequencesEndAsDocumented(t *testing.T) {
	incoming := env(v1Note("created", idXfer, callData(strings.ReplaceAll(incomingFull, idIn, idXfer))))
	establishing := env(v1Note("updated", idXfer, callData(`"state": "establishing"`)))
	established := env(v1Note("updated", idXfer, callData(`"state": "established"`)))
	transferring := env(v1Note("updated", idXfer, callData(`"state": "transferring"`)))
	accepted := env(v1Note("updated", idXfer, callData(`"state": "transferAccepted"`)))
	failed7000 := env(v1Note("updated", idXfer, callData(`"state": "established", "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 500, "subCode": 7000, "message": "<message>"}`)))
	failed7700 := env(v1Note("updated", idXfer, callData(`"state": "established", "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 500, "subCode": 7700, "message": "<message>"}, "replacesContext": "<replacesContext>"`)))
	failed1000 := env(v1Note("updated", idXfer, callData(`"state": "established", "resultInfo": {"code": "500", "subcode": "1000"}`)))
	done7015 := env(v1Note("deleted", idXfer, callData(`"state": "terminated", "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 0, "subcode": 7015, "message": "GracefulTransferCompleted"}`)))
	doneApp := env(v1Note("deleted", idXfer, callData(`"state": "terminated", "terminationReason": "AppTransferred"`)))
	terminating := env(v1Note("updated", idXfer, callData(`"state": "terminating"`)))
	hungUp := env(v1Note("deleted", idXfer, callData(`"state": "terminated", "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": "200", "subcode": "5001", "message": "The conversation has ended."}`)))
	redirecting := env(v1Note("updated", idXfer, callData(`"state": "redirecting"`)))
	redirected := env(v1Note("deleted", idXfer, callData(strings.ReplaceAll(strings.Replace(incomingFull, `"state": "incoming"`, `"state": "terminated"`, 1), idIn, idXfer))))
	rejected := env(v1Note("deleted", idXfer, `{"@odata.type": "#microsoft.graph.call", "@odata.id": "/communications/calls/`+idXfer+`"}`))
	opDeleted := env(opNote("deleted", idXfer, "0b0b0b0b-0000-4000-8000-00000000000b", opPlayPromptDone))

	tests := []struct {
		name        string
		bodies      []string
		state       calls.State
		result      *calls.Result
		termination string
		words       string // reasons.ForCall's text, when ended
	}{
		{"transfer completed", []string{incoming, establishing, established, transferring, accepted, done7015}, calls.Terminated,
			&calls.Result{Code: 0, Subcode: 7015, Message: "GracefulTransferCompleted"}, "", "Call ended as the transfer completed successfully."},
		{"consultative transfer completed: terminationReason only", []string{incoming, established, transferring, accepted, doneApp}, calls.Terminated,
			nil, "AppTransferred", "The call was transferred by the bot."},
		{"transfer failed with 500/7000", []string{incoming, established, transferring, failed7000}, calls.Established,
			&calls.Result{Code: 500, Subcode: 7000, Message: "<message>"}, "", ""},
		{"consultative transfer failed with 500/7700", []string{incoming, established, transferring, failed7700}, calls.Established,
			&calls.Result{Code: 500, Subcode: 7700, Message: "<message>"}, "", ""},
		{"failed once (500/7700), retried, completed: no failure left", []string{incoming, established, transferring, failed7700, transferring, accepted, doneApp},
			calls.Terminated, nil, "AppTransferred", "The call was transferred by the bot."},
		{"failed (500/1000 of earlier pages), then hung up", []string{incoming, established, transferring, failed1000, terminating, hungUp},
			calls.Terminated, &calls.Result{Code: 200, Subcode: 5001, Message: "The conversation has ended."}, "", "The conversation has ended."},
		{"failed, then a tone: still the failure", []string{incoming, established, transferring, failed7000,
			env(v1Note("updated", idXfer, callData(`"state": "established", "toneInfo": {"sequenceId": 1, "tone": "tone5"}`)))},
			calls.Established, &calls.Result{Code: 500, Subcode: 7000, Message: "<message>"}, "", ""},
		{"redirected: redirecting, deleted without resultInfo", []string{incoming, redirecting, redirected}, calls.Terminated, nil, "", "Graph gave no reason."},
		{"rejected: deleted without data", []string{incoming, rejected}, calls.Terminated, nil, "", "Graph gave no reason."},
		{"an operation's end never ends the call", []string{incoming, established, opDeleted}, calls.Established, nil, "", ""},
		{"a roster deleted never ends the call", []string{incoming, established, env(v1Note("deleted", idXfer+"/participants", rosterMutedWithComment))}, calls.Established, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fold(t, idXfer, tt.bodies...)
			if c.State != tt.state {
				t.Fatalf("state %q, want %q", c.State, tt.state)
			}
			if (c.Result == nil) != (tt.result == nil) || (c.Result != nil && *c.Result != *tt.result) {
				t.Fatalf("result %+v, want %+v", c.Result, tt.result)
			}
			if c.TerminationReason != tt.termination {
				t.Fatalf("termination reason %q, want %q", c.TerminationReason, tt.termination)
			}
			if tt.words != "" {
				if got := reasons.ForCall(c).Text; got != tt.words {
					t.Fatalf("a supervisor reads %q, want %q", got, tt.words)
				}
			}
		})
	}
}

// TestRostersAreFolded folds roster notifications and checks the roster a
// console shows.
func TestRostersAreFolded(t *testing.T) {
	start := env(v1Note("created", idGroup, callData(`"state": "established", "direction": "outgoing", "myParticipantId": "a9a9a9a9-0000-4000-8000-000000000009"`)))
	captured := env(callNote("updated", idGroup+"/participants", rosterCaptured))
	c := fold(t, idGroup, start, captured)
	if c.Participants != 2 || len(c.Roster) != 2 || !c.IsBot(c.Roster[1]) {
		t.Fatalf("after the captured roster: %d %+v", c.Participants, c.Roster)
	}
	// Greta joins and records, Tomas leaves (delta roster).
	c = fold(t, idGroup, start, captured, env(v1Note("updated", idGroup+"/participants", rosterDelta)))
	var names []string
	for _, p := range c.Roster {
		names = append(names, p.Label())
	}
	if !slices.Equal(names, []string{"Meeting Helper", "Greta Lind"}) || c.Participants != 2 {
		t.Fatalf("after the delta: %v (%d)", names, c.Participants)
	}
	// Everybody but the bot leaves (a full roster with the bot alone).
	botOnly := `[` + rosterCaptured[strings.Index(rosterCaptured, `{"@odata.type": "#microsoft.graph.participant",
		 "info": {"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"applicationInstance"`):]
	c = fold(t, idGroup, start, captured, env(callNote("updated", idGroup+"/participants", botOnly)))
	if c.Participants != 1 || len(c.Roster) != 1 || c.Roster[0].Party.DisplayName != "Meeting Helper" {
		t.Fatalf("after the others left: %+v", c.Roster)
	}
}
