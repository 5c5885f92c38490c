package graphsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fastSteps makes the API's actions unfold quickly.
func fastSteps(c *Config) { c.StepDelay = 5 * time.Millisecond }

// Transfer bodies in the shapes of the call: transfer page (v1.0 and
// beta, current and earlier), with values of our own.
const (
	transferToUser = `{"transferTarget": {"endpointType": "default",
		"identity": {"user": {"id": "%s", "displayName": "Someone"}}}}`
	transferToPhoneTyped = `{"transferTarget": {"@odata.type": "#microsoft.graph.invitationParticipantInfo", "endpointType": "default",
		"identity": {"@odata.type": "#microsoft.graph.identitySet", "phone": {"@odata.type": "#microsoft.graph.identity", "id": "+15550107788"}},
		"languageId": "en-us", "region": "amer"}, "clientContext": "c1a2b3c4-0000-4000-8000-000000000001"}`
	transferConsultative = `{"transferTarget": {"@odata.type": "#microsoft.graph.invitationParticipantInfo", "endpointType": "default",
		"identity": {"@odata.type": "#microsoft.graph.identitySet", "user": {"@odata.type": "#microsoft.graph.identity", "id": "%s", "displayName": "Someone"}},
		"replacesCallId": "e1e2e3e4-0000-4000-8000-000000000002"}}`
	// Example 5 of the v1.0 page nests transferee inside transferTarget.
	transferFromGroupNested = `{"transferTarget": {"endpointType": "default",
		"identity": {"user": {"id": "%s", "displayName": "Someone"}},
		"transferee": {"identity": {"user": {"id": "77777777-0000-4000-8000-000000000077", "tenantId": "88888888-0000-4000-8000-000000000088"}},
			"participantId": "99999999-0000-4000-8000-000000000099"}}}`
	transferEarlyBeta = `{"transferTarget": {"endpointType": "default",
		"identity": {"user": {"id": "%s", "tenantId": "88888888-0000-4000-8000-000000000088", "displayName": "Someone"}},
		"languageId": "languageId-value", "region": "region-value", "replacesCallId": "replacesCallId-value"},
		"clientContext": "clientContext-value"}`
)

func TestTransfer(t *testing.T) {
	h := newHarness(t, fastSteps)
	known := h.sim.Users()[0]
	stranger := "0a0b0c0d-1111-4222-8333-444455556666"
	sprintf := func(f, id string) string { return strings.Replace(f, "%s", id, 1) }
	tests := []struct {
		name, path, body string
		group            bool
		// want is the states after transferring; the last one's resultInfo
		// and terminationReason are checked.
		want        []string
		code, sub   int
		termination string
	}{
		{"to a directory user, completes", "/v1.0/communications/calls/%s/transfer", sprintf(transferToUser, known.ID), false,
			[]string{"updated/transferAccepted", "deleted/terminated"}, 0, 7015, "AppTransferred"},
		{"to a phone number, typed body, qualified", "/v1.0/communications/calls/%s/microsoft.graph.transfer", transferToPhoneTyped, false,
			[]string{"updated/transferAccepted", "deleted/terminated"}, 0, 7015, "AppTransferred"},
		{"to someone unreachable fails with 500/7000", "/beta/communications/calls/%s/transfer", sprintf(transferToUser, stranger), false,
			[]string{"updated/established"}, 500, 7000, ""},
		{"consultative to someone unreachable fails with 500/7700", "/v1.0/communications/calls/%s/transfer", sprintf(transferConsultative, stranger), false,
			[]string{"updated/established"}, 500, 7700, ""},
		{"from a group call, transferee nested", "/v1.0/communications/calls/%s/transfer", sprintf(transferFromGroupNested, known.ID), true,
			[]string{"updated/transferAccepted", "deleted/terminated"}, 0, 7015, "AppTransferred"},
		{"the earliest beta body on /app", "/beta/app/calls/%s/transfer", sprintf(transferEarlyBeta, known.ID), false,
			[]string{"updated/transferAccepted", "deleted/terminated"}, 0, 7015, "AppTransferred"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := h.established(t, CallSpec{Group: tt.group})
			if tt.group {
				h.rcv.nextCall(t, id) // the roster
			}
			st, body := h.do(t, "POST", strings.Replace(tt.path, "%s", id, 1), tt.body)
			if st != http.StatusAccepted || len(body) != 0 {
				t.Fatalf("transfer: %d %s", st, body)
			}
			notes := h.expectStates(t, id, append([]string{"updated/transferring"}, tt.want...)...)
			last := notes[len(notes)-1].call(t)
			ri, _ := last["resultInfo"].(map[string]any)
			if ri == nil || int(num(ri["code"])) != tt.code || int(num(firstOf(ri, "subcode", "subCode"))) != tt.sub {
				t.Fatalf("last notification's resultInfo = %v, want %d/%d", ri, tt.code, tt.sub)
			}
			if got, _ := last["terminationReason"].(string); got != tt.termination {
				t.Fatalf("terminationReason = %q, want %q", got, tt.termination)
			}
			c, _ := h.sim.Call(id)
			if len(c.TransferTargets) != 1 {
				t.Fatalf("transfer targets = %+v", c.TransferTargets)
			}
		})
	}
}

func num(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case string:
		var f float64
		json.Unmarshal([]byte(n), &f)
		return f
	}
	return -1
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

func TestTransferRefusals(t *testing.T) {
	h := newHarness(t, fastSteps)
	user := h.sim.Users()[0].ID
	ringing := h.incoming(t, CallSpec{})
	st, body := h.do(t, "POST", "/v1.0/communications/calls/"+ringing+"/transfer", strings.Replace(transferToUser, "%s", user, 1))
	if st != http.StatusConflict || graphErr(t, body).Code != "InvalidCallState" {
		t.Fatalf("transfer of a ringing call: %d %s", st, body)
	}
	id := h.established(t, CallSpec{})
	for _, body := range []string{`{}`, `{"transferTarget": {"identity": {}}}`, `{"transferTarget": {"identity": {"phone": {"id": "4255550100"}}}}`, `{"transferTarget":`} {
		if st, resp := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/transfer", body); st != http.StatusBadRequest {
			t.Fatalf("transfer %s: %d %s, want 400", body, st, resp)
		}
	}
	group := h.established(t, CallSpec{Group: true})
	h.rcv.nextCall(t, group)
	if st, body := h.do(t, "POST", "/v1.0/communications/calls/"+group+"/transfer", strings.Replace(transferToUser, "%s", user, 1)); st != http.StatusBadRequest ||
		!strings.Contains(graphErr(t, body).Message, "transferee") {
		t.Fatalf("transfer from a group call without transferee: %d %s", st, body)
	}
	if st, _ := h.do(t, "POST", "/v1.0/communications/calls/00000000-0000-4000-8000-000000000000/transfer", strings.Replace(transferToUser, "%s", user, 1)); st != http.StatusNotFound {
		t.Fatalf("transfer of an unknown call: %d", st)
	}
	h.sim.SetUnreachable(false, "+15550107788")
	if st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/transfer", transferToPhoneTyped); st != http.StatusAccepted {
		t.Fatalf("transfer: %d %s", st, body)
	}
	h.expectStates(t, id, "updated/transferring", "updated/established")
}

func TestRedirectEndsWithTheWholeCall(t *testing.T) {
	h := newHarness(t, fastSteps)
	id := h.incoming(t, CallSpec{Source: Party{Kind: PartyPhone, ID: "+15550100001"}})
	st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/redirect",
		`{"targets": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": {"@odata.type": "#microsoft.graph.identitySet",
			"applicationInstance": {"@odata.type": "#microsoft.graph.identity", "id": "abababab-0000-4000-8000-0000000000ab", "displayName": "Queue"}}}],
		 "routingPolicies": ["disableForwarding"], "timeout": 30, "callbackUri": "`+h.rcv.url()+`"}`)
	if st != http.StatusAccepted {
		t.Fatalf("redirect: %d %s", st, body)
	}
	notes := h.expectStates(t, id, "updated/redirecting", "deleted/terminated")
	containsJSON(t, notes[1].ResourceData, `{"state": "terminated", "direction": "incoming", "source": {"identity": {"phone": {"id": "+15550100001"}}}}`)
	if _, ok := notes[1].call(t)["resultInfo"]; ok {
		t.Fatalf("a redirected call ends without resultInfo, as documented: %s", notes[1].ResourceData)
	}
}

func TestMuteParticipant(t *testing.T) {
	h := newHarness(t, fastSteps)
	ada, bob := Party{ID: "ada-1", DisplayName: "Ada"}, Party{ID: "bob-2", DisplayName: "Bob"}
	id := h.established(t, CallSpec{Group: true, Participants: []Party{ada, bob}})
	h.rcv.nextCall(t, id) // the roster
	var roster []wireParticipant
	h.sim.mu.Lock()
	bobID := h.sim.calls[id].roster[1].participantID
	h.sim.mu.Unlock()
	for _, action := range []string{"mute", "microsoft.graph.mute"} {
		h.sim.mu.Lock()
		h.sim.calls[id].roster[1].muted = false
		h.sim.mu.Unlock()
		st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/participants/"+bobID+"/"+action, `{"clientContext": "d0d1d2d3-0000-4000-8000-000000000003"}`)
		if st != http.StatusOK {
			t.Fatalf("%s: %d %s", action, st, body)
		}
		containsJSON(t, body, `{"@odata.type": "#microsoft.graph.muteParticipantOperation", "status": "completed", "clientContext": "d0d1d2d3-0000-4000-8000-000000000003"}`)
		n := h.rcv.nextCall(t, id)
		if !n.participants() {
			t.Fatalf("after a mute, a %s notification", n.ResourceURL)
		}
		if err := json.Unmarshal(n.ResourceData, &roster); err != nil {
			t.Fatal(err)
		}
		if len(roster) != 3 || roster[2].ID != bobID || !roster[2].IsMuted || roster[1].IsMuted {
			t.Fatalf("roster after the mute: %+v", roster)
		}
	}
	if c, _ := h.sim.Call(id); len(c.Muted) != 1 || c.Muted[0] != bob {
		t.Fatalf("muted = %+v", c.Muted)
	}
	if st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/participants/nobody/mute", `{}`); st != http.StatusNotFound {
		t.Fatalf("mute of an unknown participant: %d %s", st, body)
	}
	p2p := h.established(t, CallSpec{})
	if st, body := h.do(t, "POST", "/v1.0/communications/calls/"+p2p+"/participants/x/mute", `{}`); st != http.StatusBadRequest {
		t.Fatalf("mute in a peer-to-peer call: %d %s", st, body)
	}
	ringing := h.incoming(t, CallSpec{Group: true})
	if st, _ := h.do(t, "POST", "/v1.0/communications/calls/"+ringing+"/participants/x/mute", `{}`); st != http.StatusConflict {
		t.Fatalf("mute in a ringing call: %d", st)
	}
}

func TestUsers(t *testing.T) {
	h := newHarness(t, nil)
	users := h.sim.Users()
	if len(users) < 10 || !strings.HasSuffix(users[0].UPN, "@contoso.example") {
		t.Fatalf("directory = %+v", users)
	}
	u := users[3]
	for _, key := range []string{u.ID, u.UPN, strings.ToUpper(u.UPN)} {
		st, body := h.do(t, "GET", "/v1.0/users/"+key+"?$select=id,displayName,userPrincipalName", "")
		if st != http.StatusOK {
			t.Fatalf("GET user %s: %d %s", key, st, body)
		}
		containsJSON(t, body, `{"id": "`+u.ID+`", "displayName": "`+u.DisplayName+`", "userPrincipalName": "`+u.UPN+`"}`)
	}
	st, body := h.do(t, "GET", "/beta/users/nobody@contoso.example", "")
	if st != http.StatusNotFound || graphErr(t, body).Code != "Request_ResourceNotFound" {
		t.Fatalf("unknown user: %d %s", st, body)
	}
	added := h.sim.AddUser(DirectoryUser{ID: "f1f1f1f1-0000-4000-8000-0000000000f1", DisplayName: "Quinn Ortiz"})
	if added.UPN != "quinn.ortiz@contoso.example" {
		t.Fatalf("added %+v", added)
	}
	if st, _ := h.do(t, "GET", "/v1.0/users/quinn.ortiz@contoso.example", ""); st != http.StatusOK {
		t.Fatalf("added user: %d", st)
	}
}

// opNote is an operation notification as the tests read it.
type opNote struct {
	ODataType        string `json:"@odata.type"`
	ID               string `json:"id"`
	Status           string `json:"status"`
	ClientContext    string `json:"clientContext"`
	CompletionReason string `json:"completionReason"`
	ResultInfo       *struct {
		Code    any    `json:"code"`
		Subcode any    `json:"subcode"`
		Message string `json:"message"`
	} `json:"resultInfo"`
}

func (h *harness) nextOperation(t *testing.T, id string) (testNote, opNote) {
	t.Helper()
	n := h.rcv.nextCall(t, id)
	if !strings.Contains(n.ResourceURL, "/operations/") {
		t.Fatalf("want an operation notification, got %s", n.ResourceURL)
	}
	var op opNote
	if err := json.Unmarshal(n.ResourceData, &op); err != nil {
		t.Fatal(err)
	}
	return n, op
}

func TestOperations(t *testing.T) {
	h := newHarness(t, fastSteps)
	id := h.established(t, CallSpec{})
	post := func(action, body string, want int) []byte {
		t.Helper()
		st, resp := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/"+action, body)
		if st != want {
			t.Fatalf("%s: %d %s, want %d", action, st, resp, want)
		}
		return resp
	}
	// playPrompt: 200 running, then deleted completed.
	resp := post("playPrompt", `{"clientContext": "ctx-play", "prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
		"mediaInfo": {"@odata.type": "#microsoft.graph.mediaInfo", "uri": "https://cdn.example.net/hello.wav", "resourceId": "r1"}}]}`, 200)
	containsJSON(t, resp, `{"@odata.type": "#microsoft.graph.playPromptOperation", "status": "running", "clientContext": "ctx-play"}`)
	n, op := h.nextOperation(t, id)
	if n.ChangeType != "deleted" || op.Status != "completed" || op.CompletionReason != "completedSuccessfully" || op.ClientContext != "ctx-play" {
		t.Fatalf("playPrompt ended as %s %+v", n.ChangeType, op)
	}
	// recordResponse: the maximum length reached.
	post("recordResponse", `{"bargeInAllowed": true, "clientContext": "ctx-rec", "prompts": [], "maxRecordDurationInSeconds": 10,
		"initialSilenceTimeoutInSeconds": 5, "maxSilenceTimeoutInSeconds": 2, "playBeep": true, "stopTones": ["#", "1", "*"]}`, 200)
	_, op = h.nextOperation(t, id)
	if op.ODataType != "#microsoft.graph.recordOperation" || op.ResultInfo == nil || num(op.ResultInfo.Subcode) != 8515 {
		t.Fatalf("record ended as %+v", op)
	}
	// A record cancelled by cancelMediaProcessing fails with 400/8508.
	post("record", `{"clientContext": "ctx-rec-2"}`, 200)
	post("cancelMediaProcessing", `{"clientContext": "ctx-cancel"}`, 200)
	_, op = h.nextOperation(t, id)
	if op.Status != "failed" || num(op.ResultInfo.Code) != 400 || num(op.ResultInfo.Subcode) != 8508 || op.CompletionReason != "operationCanceled" {
		t.Fatalf("cancelled record ended as %+v", op)
	}
	if _, op = h.nextOperation(t, id); op.ODataType != "#microsoft.graph.cancelMediaProcessingOperation" || op.Status != "completed" {
		t.Fatalf("cancel ended as %+v", op)
	}
	// subscribeToTone completes at once; tones then arrive as toneInfo.
	containsJSON(t, post("subscribeToTone", `{"clientContext": "ctx-tone"}`, 200), `{"@odata.type": "#microsoft.graph.subscribeToToneOperation", "status": "completed"}`)
	if err := h.sim.PressTone(testCtx(t), id, "5"); err != nil {
		t.Fatal(err)
	}
	containsJSON(t, h.rcv.nextCall(t, id).ResourceData, `{"state": "established", "toneInfo": {"@odata.type": "#microsoft.graph.toneInfo", "sequenceId": 1, "tone": "tone5"}}`)
	// updateRecordingStatus: the status is checked.
	post("updateRecordingStatus", `{"clientContext": "ctx-status", "status": "sideways"}`, 400)
	post("updateRecordingStatus", `{"clientContext": "ctx-status", "status": "recording"}`, 200)
	if _, op = h.nextOperation(t, id); op.ODataType != "#microsoft.graph.updateRecordingStatusOperation" || op.Status != "completed" {
		t.Fatalf("updateRecordingStatus ended as %+v", op)
	}
	// sendDtmfTones, and the bot's own mute and unmute.
	post("sendDtmfTones", `{"tones": ["tone1", "tonePound"], "delayBetweenTonesMs": 100, "clientContext": "ctx-dtmf"}`, 200)
	if _, op = h.nextOperation(t, id); op.CompletionReason != "completedSuccessfully" {
		t.Fatalf("sendDtmfTones ended as %+v", op)
	}
	containsJSON(t, post("mute", `{"clientContext": "ctx-mute"}`, 200), `{"@odata.type": "#microsoft.graph.muteParticipantOperation", "status": "completed"}`)
	containsJSON(t, post("unmute", `{"clientContext": "ctx-unmute"}`, 200), `{"@odata.type": "#microsoft.graph.unmuteParticipantOperation", "status": "completed"}`)
	post("changeScreenSharingRole", `{"role": "viewer"}`, 202)
	if c, _ := h.sim.Call(id); strings.Join(c.Tones, ",") != "tone5" || len(c.Operations) != 6 {
		t.Fatalf("sim saw tones %v operations %v", c.Tones, c.Operations)
	}
	// Operations need an established call.
	ringing := h.incoming(t, CallSpec{})
	if st, _ := h.do(t, "POST", "/v1.0/communications/calls/"+ringing+"/playPrompt", `{}`); st != http.StatusConflict {
		t.Fatalf("playPrompt on a ringing call: %d", st)
	}
}

func TestInviteParticipants(t *testing.T) {
	h := newHarness(t, fastSteps)
	u := h.sim.Users()[1]
	id := h.established(t, CallSpec{Group: true})
	h.rcv.nextCall(t, id)
	st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/participants/invite",
		`{"participants": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "replacesCallId": "a7a7a7a7-0000-4000-8000-0000000000a7",
			"identity": {"@odata.type": "#microsoft.graph.identitySet", "user": {"@odata.type": "#microsoft.graph.identity", "id": "`+u.ID+`", "identityProvider": "AAD"}}}],
		 "clientContext": "ctx-invite"}`)
	if st != http.StatusOK {
		t.Fatalf("invite: %d %s", st, body)
	}
	containsJSON(t, body, `{"@odata.type": "#microsoft.graph.inviteParticipantsOperation", "status": "running", "clientContext": "ctx-invite"}`)
	if _, op := h.nextOperation(t, id); op.Status != "completed" {
		t.Fatalf("invite ended as %+v", op)
	}
	roster := h.rcv.nextCall(t, id)
	containsJSON(t, roster.ResourceData, `[{}, {}, {"info": {"identity": {"user": {"id": "`+u.ID+`", "displayName": "`+u.DisplayName+`"}}}}]`)
	if st, _ := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/participants/invite", `{"participants": []}`); st != http.StatusBadRequest {
		t.Fatalf("empty invite: %d", st)
	}
}

func TestOutgoingSetupIsTerseOnARealisticWire(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PlainWire = false })
	id, err := h.sim.StartOutgoing(testCtx(t), CallSpec{Subject: "Placed by the bot"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		n := h.rcv.nextCall(t, id)
		data := n.call(t)
		if _, ok := data["source"]; ok || data["subject"] != nil || data["targets"] != nil || data["callChainId"] == nil {
			t.Fatalf("an outgoing call's setup notification carries %s", n.ResourceData)
		}
	}
	st, body := h.do(t, "GET", "/v1.0/communications/calls/"+id, "")
	if st != http.StatusOK {
		t.Fatalf("GET: %d", st)
	}
	containsJSON(t, body, `{"direction": "outgoing", "subject": "Placed by the bot", "source": {"identity": {"application": {"id": "`+testApp+`"}}}}`)
}

func TestCreateCall(t *testing.T) {
	h := newHarness(t, fastSteps)
	st, body := h.do(t, "POST", "/v1.0/communications/calls", `{
		"@odata.type": "#microsoft.graph.call",
		"callbackUri": "`+h.rcv.url()+`",
		"targets": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo",
			"identity": {"@odata.type": "#microsoft.graph.identitySet", "user": {"@odata.type": "#microsoft.graph.identity", "displayName": "Ivy", "id": "12340000-0000-4000-8000-000000001234"}}}],
		"requestedModalities": ["audio"],
		"mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	var created struct{ ID, State, Direction string }
	if err := json.Unmarshal(body, &created); err != nil || created.State != "establishing" || created.Direction != "outgoing" || created.ID == "" {
		t.Fatalf("created %s (%v)", body, err)
	}
	containsJSON(t, body, `{"targets": [{"identity": {"user": {"id": "12340000-0000-4000-8000-000000001234"}}}], "source": {"identity": {"application": {"id": "`+testApp+`"}}}}`)
	h.expectStates(t, created.ID, "updated/establishing", "updated/established")
	if st, body := h.do(t, "POST", "/beta/communications/calls", `{"targets": []}`); st != http.StatusBadRequest {
		t.Fatalf("create without mediaConfig: %d %s", st, body)
	}
}
