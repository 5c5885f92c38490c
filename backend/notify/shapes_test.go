package notify

import (
	"fmt"
	"strings"
)

// The fixtures below are written for these tests. Their shapes follow
// Graph's reference pages (call: answer, reject, redirect, transfer, delete,
// subscribeToTone, record, cancelMediaProcessing, sendDtmfTones, participant:
// mute, participant: invite, commsNotifications; v1.0, beta and earlier
// versions) and notifications captured from real Graph traffic: the same
// fields, types and quirks, with ids, names and values of our own.

// Call ids of the fixtures.
const (
	idIn       = "7a1f0c00-1111-4a2b-9c3d-0123456789ab" // an incoming call
	idOut      = "6e1f5c00-2222-4b3c-8d4e-123456789abc" // an outgoing call (captured shapes)
	idXfer     = "5d1f0b00-3333-4c4d-9e5f-23456789abcd" // transferred
	idGroup    = "4c1f6000-4444-4d5e-8f60-3456789abcde" // a group call
	idUpper    = "3B2F1A0E5D6C4B7A8F9E0D1C2B3A4F5E"     // an id as earlier pages print it
	idUpperCan = "3b2f1a0e-5d6c-4b7a-8f9e-0d1c2b3a4f5e"
)

// envelopeWith wraps notifications in the envelope, with the given
// @odata.type ("" leaves it out).
func envelopeWith(odataType string, notifications ...string) string {
	t := ""
	if odataType != "" {
		t = fmt.Sprintf(`"@odata.type": %q, `, odataType)
	}
	return "{" + t + `"value": [` + strings.Join(notifications, ",") + "]}"
}

// env is the usual envelope.
func env(notifications ...string) string {
	return envelopeWith("#microsoft.graph.commsNotifications", notifications...)
}

// callNote is a notification about the call id, with both the current and
// the legacy resource path, as captured deliveries carry them.
func callNote(changeType, id, data string) string {
	return fmt.Sprintf(`{"@odata.type": "#microsoft.graph.commsNotification", "changeType": %q,
		"resource": "/app/calls/%s", "resourceUrl": "/communications/calls/%s", "resourceData": %s}`, changeType, id, id, data)
}

// v1Note is a notification as current reference pages print it: resourceUrl only.
func v1Note(changeType, id, data string) string {
	return fmt.Sprintf(`{"@odata.type": "#microsoft.graph.commsNotification", "changeType": %q,
		"resourceUrl": "/communications/calls/%s", "resourceData": %s}`, changeType, id, data)
}

// legacyNote is a notification as early beta pages print it: the legacy
// resource only, no @odata.type.
func legacyNote(changeType, path, data string) string {
	return fmt.Sprintf(`{"changeType": %q, "resource": %q, "resourceData": %s}`, changeType, path, data)
}

func callData(fields string) string {
	if fields == "" {
		return `{"@odata.type": "#microsoft.graph.call"}`
	}
	return `{"@odata.type": "#microsoft.graph.call", ` + fields + `}`
}

const (
	// An incoming call with every field a console shows.
	incomingFull = `"state": "incoming", "direction": "incoming",
		"callbackUri": "https://bot.example.net/api/calls/abc",
		"source": {"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"user": {"@odata.type": "#microsoft.graph.identity", "id": "0e0a1b2c-aaaa-4bbb-8ccc-ddddeeeeffff", "displayName": "Maren Holt"}},
			"region": "emea", "languageId": "en-GB"},
		"targets": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"application": {"@odata.type": "#microsoft.graph.identity", "id": "9f8e7d6c-1234-4abc-8def-0123456789ff", "displayName": "Front Desk Bot"}}}],
		"requestedModalities": ["audio", "video"],
		"myParticipantId": "b7c6d5e4-0000-4111-8222-333344445555",
		"id": "` + idIn + `"`

	// The redirect page's incoming call, trailing comma included.
	incomingTrailingComma = `{
		"@odata.type": "#microsoft.graph.call",
		"state": "incoming",
		"direction": "incoming",
		"source": {
			"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"phone": {"@odata.type": "#microsoft.graph.identity", "id": "+15550104477"}},
			"region": "amer",
		},
		"targets": [{"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"applicationInstance": {"@odata.type": "#microsoft.graph.identity", "id": "1a2b3c4d-0000-4000-8000-00000000aaaa", "displayName": "Reception Line"}},
			"endpointType": "default", "languageId": null}],
		"myParticipantId": "c0c0c0c0-1111-4222-8333-444455556666",
		"id": "` + idIn + `"
	}`

	// The participant: mute page's roster, with its comment.
	rosterMutedWithComment = `[
		{
			"@odata.type": "#microsoft.graph.participant",
			"id": "2f4e6a80-aaaa-4bbb-8ccc-000011112222",
			"info": {
				"identity": {"user": {"displayName": "Ilse Brandt", "id": "77aa88bb-0000-4000-8000-000000000001"}},
				"region": "westus", "languageId": "en-US"
			},
			"mediaStreams": [{"mediaType": "audio", "label": "main-audio", "sourceId": "4", "direction": "sendReceive"}],
			"isMuted": true, // true once muted
			"isInLobby": false
		}
	]`

	// A captured group roster: a person with four streams and the bot as
	// an application instance, with the extra fields real traffic has.
	rosterCaptured = `[
		{"@odata.type": "#microsoft.graph.participant",
		 "info": {"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"user": {"@odata.type": "#microsoft.graph.identity", "id": "5b5b5b5b-1111-4222-8333-444444444444", "displayName": "Tomas Reyes",
					"tenantId": "aaaa0000-bbbb-4ccc-8ddd-eeeeffff0000", "identityProvider": "AAD"}},
			"endpointType": "default", "endpointId": "e1e1e1e1-0000-4000-8000-000000000001", "languageId": "en-US",
			"clientVersion": "SkypeSpaces/1415/1.0.0/os=windows", "participantId": "d4d4d4d4-0000-4000-8000-000000000001",
			"replacementLink": "https://cc.example.invalid/replacement?rt=1"},
		 "mediaStreams": [
			{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "audio", "label": "main-audio", "sourceId": "402", "direction": "sendReceive", "serverMuted": false},
			{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "video", "label": "main-video", "sourceId": "403", "direction": "receiveOnly", "serverMuted": false},
			{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "videoBasedScreenSharing", "label": "applicationsharing-video", "sourceId": "413", "direction": "receiveOnly", "serverMuted": false},
			{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "data", "label": "data", "sourceId": "414", "direction": "sendReceive", "serverMuted": false}],
		 "isMuted": false, "isInLobby": false, "publishedStates": [], "meetingRole": "attendee",
		 "replacementLink": "https://cc.example.invalid/replacement?rt=1", "isIdentityAnonymized": false,
		 "id": "d4d4d4d4-0000-4000-8000-000000000001"},
		{"@odata.type": "#microsoft.graph.participant",
		 "info": {"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"applicationInstance": {"@odata.type": "#microsoft.graph.identity", "id": "f0f0f0f0-2222-4333-8444-555555555555", "displayName": "Meeting Helper",
					"tenantId": "aaaa0000-bbbb-4ccc-8ddd-eeeeffff0000", "identityProvider": "AAD"}},
			"endpointType": "default", "participantId": "a9a9a9a9-0000-4000-8000-000000000009"},
		 "mediaStreams": [{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "audio", "label": "main-audio", "sourceId": "201", "direction": "sendReceive", "serverMuted": false}],
		 "isMuted": false, "isInLobby": false, "publishedStates": [], "meetingRole": "none",
		 "isIdentityAnonymized": false, "id": "a9a9a9a9-0000-4000-8000-000000000009"}
	]`

	// The invite page's roster: ids are null.
	rosterNullIDs = `[
		{"@odata.type": "#microsoft.graph.participant",
		 "info": {"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"application": {"@odata.type": "#microsoft.graph.identity", "id": "12121212-0000-4000-8000-000000000012", "tenantId": "aaaa0000-bbbb-4ccc-8ddd-eeeeffff0000"}},
			"endpointType": "default"},
		 "mediaStreams": [{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "audio", "sourceId": "1", "direction": "sendReceive", "serverMuted": false}],
		 "isMuted": false, "isInLobby": false, "id": null},
		{"@odata.type": "#microsoft.graph.participant",
		 "info": {"@odata.type": "#microsoft.graph.participantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"user": {"@odata.type": "#microsoft.graph.identity", "id": "34343434-0000-4000-8000-000000000034", "identityProvider": "AAD"}},
			"endpointType": "default"},
		 "mediaStreams": [{"@odata.type": "#microsoft.graph.mediaStream", "mediaType": "audio", "sourceId": "3", "direction": "sendReceive", "serverMuted": false}],
		 "isMuted": false, "isInLobby": true, "id": null}
	]`

	// An early page's roster: no id, the participant's id at the end of @odata.id.
	rosterODataIDs = `[
		{"@odata.type": "#microsoft.graph.participant",
		 "@odata.id": "/app/calls/` + idUpper + `/participants/ABCDEF0123456789ABCDEF0123456789",
		 "@odata.etag": "W/\"12\"",
		 "info": {"identity": {"user": {"displayName": "Noor Haddad", "id": "ABCDEF01-2345-6789-ABCD-EF0123456789"}},
			"region": "westus", "languageId": "en-US"},
		 "mediaStreams": [{"mediaType": "audio", "label": "main-audio", "sourceId": "1", "direction": "sendReceive", "serverMuted": false}]}
	]`

	// Graph's delta roster: one joined, one removed.
	rosterDelta = `{
		"@odata.type": "#microsoft.graph.deltaParticipants",
		"sequenceNumber": 4,
		"participants": [
			{"@odata.type": "#microsoft.graph.participant", "id": "e5e5e5e5-0000-4000-8000-000000000005",
			 "info": {"identity": {"user": {"id": "56565656-0000-4000-8000-000000000056", "displayName": "Greta Lind"}}},
			 "isMuted": false, "isInLobby": false,
			 "recordingInfo": {"@odata.type": "#microsoft.graph.recordingInfo", "recordingStatus": "recording"}},
			{"@odata.type": "#microsoft.graph.participant", "id": "d4d4d4d4-0000-4000-8000-000000000001",
			 "info": {"identity": {"user": {"id": "5b5b5b5b-1111-4222-8333-444444444444", "displayName": "Tomas Reyes"}}},
			 "removedState": {"@odata.type": "#microsoft.graph.removedState", "reason": "user left"}}
		]
	}`
)

// Operation notifications.
func opNote(changeType, callID, opID, data string) string {
	return fmt.Sprintf(`{"@odata.type": "#microsoft.graph.commsNotification", "changeType": %q,
		"resourceUrl": "/communications/calls/%s/operations/%s", "resourceData": %s}`, changeType, callID, opID, data)
}

const (
	opPlayPromptDone = `{"@odata.type": "#microsoft.graph.playPromptOperation",
		"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"@odata.type": "#microsoft.graph.mediaInfo",
			"uri": "https://cdn.example.net/welcome.wav", "resourceId": "0a0b0c0d-0000-4000-8000-000000000000"}}],
		"completionReason": "completedSuccessfully", "status": "completed", "clientContext": "ctx-play-1",
		"resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 200, "subcode": 0, "message": "Action completed successfully."},
		"id": "0b0b0b0b-0000-4000-8000-00000000000b"}`

	opRecordMaxLength = `{"@odata.type": "#microsoft.graph.recordOperation",
		"@odata.id": "/communications/calls/` + idUpper + `/operations/0C0C0C0C00004000800000000000000C",
		"@odata.etag": "W/\"77\"", "id": "0c0c0c0c-0000-4000-8000-00000000000c", "clientContext": "ctx-rec-1",
		"status": "completed",
		"resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 200, "subcode": 8515, "message": "Action completed, max record duration reached."},
		"recordingLocation": "https://files.example.invalid/rec/1", "recordingAccessToken": "<access-token>"}`

	// cancelMediaProcessing's record operation, its subcode written twice.
	opRecordCancelled = `{"@odata.type": "#microsoft.graph.recordOperation", "status": "failed", "clientContext": "ctx-rec-2",
		"resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 400, "subcode": 8508,
			"message": "Action failed, the operation was cancelled.", "subcode": 8508},
		"recordingLocation": "", "recordingAccessToken": "", "completionReason": "operationCanceled",
		"id": "0d0d0d0d-0000-4000-8000-00000000000d"}`

	// An early page's failed invite, trailing comma included.
	opInviteFailed = `{"@odata.type": "#microsoft.graph.inviteParticipantsOperation",
		"@odata.id": "/app/calls/` + idUpper + `/operations/0E0E0E0E00004000800000000000000E",
		"clientContext": "ctx-invite-1", "status": "failed",
		"resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 500, "subCode": 0,
			"message": "addParticipantsfailed for participants: 28:abc reason: could not invite, code=580 subcode=5201"},
	}`

	opInviteDone = `{"@odata.type": "#microsoft.graph.inviteParticipantsOperation",
		"participants": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet",
				"user": {"@odata.type": "#microsoft.graph.identity", "id": "34343434-0000-4000-8000-000000000034", "displayName": "Pia Sorensen", "identityProvider": "AAD"}}}],
		"status": "completed", "clientContext": "ctx-invite-2", "id": null}`

	// An early page's transfer, told as an operation with words as subCode.
	opTransferRunning = `{"@odata.type": "#microsoft.graph.commsOperation",
		"@odata.id": "/app/calls/` + idUpper + `/operations/0F0F0F0F00004000800000000000000F",
		"@odata.etag": "W/\"9\"", "clientContext": "ctx-xfer-1",
		"resultInfo": {"code": "200", "subCode": "transferring"}, "status": "running"}`
	opTransferAccepted = `{"@odata.type": "#microsoft.graph.commsOperation",
		"@odata.id": "/app/calls/` + idUpper + `/operations/0F0F0F0F00004000800000000000000F",
		"@odata.etag": "W/\"9\"", "clientContext": "ctx-xfer-1",
		"resultInfo": {"code": "200", "subCode": "transferAccepted"}, "status": "completed"}`

	opDtmfCancelled = `{"@odata.type": "#microsoft.graph.sendDtmfTonesOperation", "status": "completed",
		"completionReason": "mediaOperationCanceled", "clientContext": "ctx-dtmf-1", "id": "10101010-0000-4000-8000-000000000010"}`

	opSubscribeDone = `{"@odata.type": "#microsoft.graph.commsOperation", "clientContext": "ctx-tone-1", "status": "completed"}`

	opUpdateRecording = `{"@odata.type": "#microsoft.graph.updateRecordingStatusOperation", "status": "Completed",
		"clientContext": "ctx-status-1", "id": "11111111-0000-4000-8000-000000000011",
		"resultInfo": {"@odata.type": "#microsoft.graph.resultInfo", "code": 200, "subcode": 0}}`
)
