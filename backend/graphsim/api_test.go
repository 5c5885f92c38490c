package graphsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const answerBodyJSON = `{"callbackUri":"","acceptedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`

// graphPaths are the bases of a call's URL the simulator serves.
var graphPaths = []string{"/v1.0/communications/calls/", "/beta/communications/calls/", "/v1.0/app/calls/"}

func TestGetCall(t *testing.T) {
	h := newHarness(t, nil)
	id := h.incoming(t, CallSpec{
		Source:     Party{Kind: PartyPhone, ID: "+14255550123"},
		Modalities: []string{"audio"}, ChainID: "chain-1",
	})
	for _, base := range graphPaths {
		st, body := h.do(t, "GET", base+id, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", base, st, body)
		}
		version := strings.Split(base, "/")[1]
		containsJSON(t, body, `{
			"@odata.context": "https://graph.microsoft.com/`+version+`/$metadata#communications/calls/$entity",
			"@odata.type": "#microsoft.graph.call",
			"id": "`+id+`", "state": "incoming", "direction": "incoming", "callChainId": "chain-1",
			"tenantId": "`+testTenant+`",
			"source": {"@odata.type": "#microsoft.graph.participantInfo",
				"identity": {"phone": {"id": "+14255550123"}}},
			"targets": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo",
				"identity": {"application": {"id": "`+testApp+`", "displayName": "Calling Bot"}}}],
			"requestedModalities": ["audio"]
		}`)
		var c map[string]any
		json.Unmarshal(body, &c)
		if c["myParticipantId"] == "" || c["myParticipantId"] == nil {
			t.Fatalf("no myParticipantId: %s", body)
		}
	}
}

func TestUnknownCallIs404(t *testing.T) {
	h := newHarness(t, nil)
	requests := []struct{ method, suffix, body string }{
		{"GET", "", ""},
		{"DELETE", "", ""},
		{"POST", "/answer", answerBodyJSON},
		{"POST", "/microsoft.graph.answer", answerBodyJSON},
		{"POST", "/reject", `{"reason":"busy"}`},
		{"POST", "/microsoft.graph.reject", `{"reason":"busy"}`},
		{"POST", "/redirect", `{"targets":[{"identity":{"user":{"id":"u1"}}}]}`},
		{"POST", "/keepAlive", ""},
		{"POST", "/microsoft.graph.keepAlive", ""},
	}
	for _, base := range graphPaths {
		for _, r := range requests {
			st, body := h.do(t, r.method, base+"57dab8b1-894c-409a-b240-bd8beae78896"+r.suffix, r.body)
			if st != http.StatusNotFound {
				t.Fatalf("%s %s%s: status %d, want 404", r.method, base, r.suffix, st)
			}
			if e := graphErr(t, body); e.Code != "8522" || e.Message != "Call not found." {
				t.Fatalf("%s %s%s: error %+v, want 8522 Call not found.", r.method, base, r.suffix, e)
			}
		}
	}
}

func TestAnswer(t *testing.T) {
	for _, base := range graphPaths {
		for _, action := range []string{"answer", "microsoft.graph.answer"} {
			t.Run(base+action, func(t *testing.T) {
				h := newHarness(t, nil)
				id := h.incoming(t, CallSpec{})
				st, body := h.do(t, "POST", base+id+"/"+action, answerBodyJSON)
				if st != http.StatusAccepted || len(body) != 0 {
					t.Fatalf("answer: %d %s, want 202 and no body", st, body)
				}
				notes := h.expectStates(t, id, "updated/establishing", "updated/established")
				if notes[1].call(t)["direction"] != "incoming" {
					t.Fatalf("established notification lacks the call: %s", notes[1].ResourceData)
				}
				if c, _ := h.sim.Call(id); c.State != "established" {
					t.Fatalf("sim state = %q", c.State)
				}
				reqs := h.sim.Requests()
				last := reqs[len(reqs)-1]
				if last.CallID != id || last.Method != "POST" || last.Status != 202 || !strings.HasSuffix(last.Path, "/"+action) ||
					!strings.Contains(string(last.Body), "serviceHostedMediaConfig") {
					t.Fatalf("request log = %+v", last)
				}
			})
		}
	}
}

func TestAnswerBodyErrors(t *testing.T) {
	h := newHarness(t, nil)
	id := h.incoming(t, CallSpec{})
	tests := []struct{ name, body, says string }{
		{"malformed", `{"mediaConfig":`, "Invalid request body"},
		{"wrong type", `{"acceptedModalities":"audio"}`, "Invalid request body"},
		{"no media config", `{"acceptedModalities":["audio"]}`, "mediaConfig is required"},
		{"bad media config", `{"mediaConfig":{"@odata.type":"#microsoft.graph.teapot"}}`, "mediaConfig"},
		{"bad modality", `{"acceptedModalities":["smell"],"mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig"}}`, "smell"},
		{"bad callback", `{"callbackUri":"ftp://x","mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig"}}`, "callbackUri"},
	}
	for _, tt := range tests {
		st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/answer", tt.body)
		if st != http.StatusBadRequest {
			t.Fatalf("%s: status %d, want 400", tt.name, st)
		}
		if e := graphErr(t, body); e.Code != "BadRequest" || !strings.Contains(e.Message, tt.says) {
			t.Fatalf("%s: error %+v, want BadRequest saying %q", tt.name, e, tt.says)
		}
	}
	if c, _ := h.sim.Call(id); c.State != "incoming" {
		t.Fatalf("a refused answer changed the call to %q", c.State)
	}
	h.rcv.none(t)
}

func TestReject(t *testing.T) {
	tests := []struct {
		body       string
		wantStatus int
		wantReason string
	}{
		{`{"reason":"none"}`, 202, "none"},
		{`{"reason":"busy"}`, 202, "busy"},
		{`{"reason":"forbidden"}`, 202, "forbidden"},
		{`{"reason":"None"}`, 202, "none"},
		{`{"reason":"Busy","callbackUri":""}`, 202, "busy"},
		{`{"reason":"FORBIDDEN"}`, 202, "forbidden"},
		{`{}`, 202, "none"},
		{``, 202, "none"},
		{`{"reason":"maybe"}`, 400, ""},
		{`{"reason":7}`, 400, ""},
		{`{"reason":`, 400, ""},
	}
	h := newHarness(t, nil)
	for i, tt := range tests {
		id := h.incoming(t, CallSpec{})
		action := []string{"/reject", "/microsoft.graph.reject"}[i%2]
		base := graphPaths[i%len(graphPaths)]
		st, body := h.do(t, "POST", base+id+action, tt.body)
		if st != tt.wantStatus {
			t.Fatalf("%s %q: status %d %s, want %d", action, tt.body, st, body, tt.wantStatus)
		}
		if st != 202 {
			graphErr(t, body)
			h.sim.RemoteHangUp(testCtx(t), id, 200, 4097)
			h.expectStates(t, id, "deleted/terminated")
			continue
		}
		n := h.rcv.nextCall(t, id)
		// Exactly the reject example's deleted notification.
		containsJSON(t, mustJSON(t, n), `{"@odata.type":"#microsoft.graph.commsNotification","changeType":"deleted",
			"resourceUrl":"/communications/calls/`+id+`",
			"resourceData":{"@odata.type":"#microsoft.graph.call","@odata.id":"/communications/calls/`+id+`"}}`)
		if c := n.call(t); c["state"] != nil || c["resultInfo"] != nil {
			t.Fatalf("reject's deleted carries more than the example: %s", n.ResourceData)
		}
		c, _ := h.sim.Call(id)
		if c.State != "terminated" || c.RejectReason != tt.wantReason {
			t.Fatalf("%q: sim has %q/%q, want terminated/%q", tt.body, c.State, c.RejectReason, tt.wantReason)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRedirect(t *testing.T) {
	h := newHarness(t, nil)
	for _, action := range []string{"redirect", "microsoft.graph.redirect"} {
		id := h.incoming(t, CallSpec{})
		st, body := h.do(t, "POST", "/beta/communications/calls/"+id+"/"+action,
			`{"targets":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"phone":{"id":"+14255550199"}}}],"timeout":30}`)
		if st != http.StatusAccepted {
			t.Fatalf("%s: %d %s", action, st, body)
		}
		h.expectStates(t, id, "updated/redirecting", "deleted/terminated")
		c, _ := h.sim.Call(id)
		if len(c.RedirectTargets) != 1 || c.RedirectTargets[0] != (Party{Kind: PartyPhone, ID: "+14255550199"}) {
			t.Fatalf("redirect targets = %+v", c.RedirectTargets)
		}
	}
	id := h.incoming(t, CallSpec{})
	for _, body := range []string{`{}`, `{"targets":[]}`, `{"targets":[{"identity":{}}]}`, `{"targets":`} {
		if st, resp := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/redirect", body); st != 400 {
			t.Fatalf("redirect %s: %d %s, want 400", body, st, resp)
		}
	}
}

func TestHangUpFollowsTheDocumentation(t *testing.T) {
	for _, base := range graphPaths {
		h := newHarness(t, nil)
		id := h.established(t, CallSpec{})
		st, body := h.do(t, "DELETE", base+id, "")
		if st != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("DELETE %s: %d %s, want 204 and no body", base, st, body)
		}
		terminating := h.rcv.next(t)
		containsJSON(t, terminating.body, `{
		  "@odata.type": "#microsoft.graph.commsNotifications",
		  "value": [{
		      "@odata.type": "#microsoft.graph.commsNotification",
		      "changeType": "updated",
		      "resourceUrl": "/communications/calls/`+id+`",
		      "resource": "/app/calls/`+id+`",
		      "resourceData": {"@odata.type": "#microsoft.graph.call", "state": "terminating"}
		  }]}`)
		terminated := h.rcv.next(t)
		containsJSON(t, terminated.body, `{
		  "@odata.type": "#microsoft.graph.commsNotifications",
		  "value": [{
		      "@odata.type": "#microsoft.graph.commsNotification",
		      "changeType": "deleted",
		      "resourceUrl": "/communications/calls/`+id+`",
		      "resourceData": {
		        "@odata.type": "#microsoft.graph.call",
		        "state": "terminated",
		        "resultInfo": {"@odata.type": "#microsoft.graph.resultInfo",
		          "code": "200", "subcode": "5001", "message": "The conversation has ended."}
		      }
		  }]}`)
		if st, _ := h.do(t, "DELETE", base+id, ""); st != http.StatusNotFound {
			t.Fatalf("second DELETE: %d, want 404", st)
		}
		c, _ := h.sim.Call(id)
		if c.State != "terminated" || c.Result == nil || *c.Result != (Result{200, 5001, "The conversation has ended."}) {
			t.Fatalf("sim view after hang-up: %+v", c)
		}
	}
}

func TestIncomingNotificationFollowsTheDocumentation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AppID = "2891555a-92ff-42e6-80fa-6e1300c6b5c6" })
	id, err := h.sim.StartIncoming(testCtx(t), CallSpec{
		ID:         "57dab8b1-894c-409a-b240-bd8beae78896",
		Source:     Party{ID: "112f7296-5fa4-42ca-bae8-6a692b15d4b8", DisplayName: "John"},
		Modalities: []string{"audio", "video"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The reject page's incoming example, verbatim.
	containsJSON(t, h.rcv.next(t).body, `{
	  "@odata.type": "#microsoft.graph.commsNotifications",
	  "value": [{
	      "@odata.type": "#microsoft.graph.commsNotification",
	      "changeType": "created",
	      "resourceUrl": "/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896",
	      "resourceData": {
	        "@odata.type": "#microsoft.graph.call",
	        "@odata.id": "/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896",
	        "state": "incoming",
	        "direction": "incoming",
	        "source": {
	          "identity": {"user": {"displayName": "John", "id": "112f7296-5fa4-42ca-bae8-6a692b15d4b8"}},
	          "region": "westus",
	          "languageId": "en-US"
	        },
	        "targets": [{
	            "identity": {"application": {"displayName": "Calling Bot", "id": "2891555a-92ff-42e6-80fa-6e1300c6b5c6"}},
	            "region": "westus",
	            "languageId": "en-US"
	        }],
	        "requestedModalities": ["audio", "video"]
	      }
	  }]}`)
	if id != "57dab8b1-894c-409a-b240-bd8beae78896" {
		t.Fatalf("id = %q", id)
	}
}

func TestWrongState(t *testing.T) {
	h := newHarness(t, nil)
	established := h.established(t, CallSpec{})
	ended := h.incoming(t, CallSpec{})
	if err := h.sim.RemoteHangUp(testCtx(t), ended, 200, 4097); err != nil {
		t.Fatal(err)
	}
	h.expectStates(t, ended, "deleted/terminated")
	tests := []struct {
		id, action, body string
		status           int
		code             string
	}{
		{established, "answer", answerBodyJSON, 409, "InvalidCallState"},
		{established, "microsoft.graph.answer", answerBodyJSON, 409, "InvalidCallState"},
		{established, "reject", `{"reason":"busy"}`, 409, "InvalidCallState"},
		{established, "redirect", `{"targets":[{"identity":{"user":{"id":"u1"}}}]}`, 409, "InvalidCallState"},
		{ended, "answer", answerBodyJSON, 404, "8522"},
		{ended, "reject", `{"reason":"busy"}`, 404, "8522"},
		{ended, "keepAlive", ``, 404, "8522"},
		{established, "transfer", `{}`, 400, "BadRequest"},
		{established, "frobnicate", `{}`, 400, "BadRequest"},
	}
	for _, tt := range tests {
		st, body := h.do(t, "POST", "/v1.0/communications/calls/"+tt.id+"/"+tt.action, tt.body)
		if st != tt.status {
			t.Fatalf("%s: status %d %s, want %d", tt.action, st, body, tt.status)
		}
		if e := graphErr(t, body); e.Code != tt.code {
			t.Fatalf("%s: code %q, want %q", tt.action, e.Code, tt.code)
		}
	}
	if st, _ := h.do(t, "GET", "/v1.0/communications/calls/"+ended, ""); st != 404 {
		t.Fatalf("GET of an ended call: %d, want 404", st)
	}
	if st, body := h.do(t, "PATCH", "/v1.0/communications/calls/"+established, "{}"); st != 405 {
		t.Fatalf("PATCH: %d %s, want 405", st, body)
	}
	if c, _ := h.sim.Call(established); c.State != "established" {
		t.Fatalf("refused actions changed the call to %q", c.State)
	}
	h.rcv.none(t)
}

func TestKeepAlive(t *testing.T) {
	h := newHarness(t, nil)
	id := h.established(t, CallSpec{})
	for _, p := range []string{"/v1.0/communications/calls/" + id + "/keepAlive", "/beta/communications/calls/" + id + "/microsoft.graph.keepAlive"} {
		if st, body := h.do(t, "POST", p, ""); st != http.StatusOK {
			t.Fatalf("keepAlive %s: %d %s", p, st, body)
		}
	}
	if c, _ := h.sim.Call(id); c.KeepAlives != 2 {
		t.Fatalf("KeepAlives = %d, want 2", c.KeepAlives)
	}
	if st, _ := h.do(t, "DELETE", "/v1.0/communications/calls/"+id, ""); st != 204 {
		t.Fatalf("DELETE: %d", st)
	}
	st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/keepAlive", "")
	if st != http.StatusNotFound || graphErr(t, body).Code != "8522" {
		t.Fatalf("keepAlive after hang-up: %d %s, want 404 8522", st, body)
	}
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name      string
		establish bool
		cfg       func(*Config)
		want      Result
	}{
		{"unanswered incoming", false, func(c *Config) { c.IncomingTimeout = 300 * time.Millisecond },
			Result{408, 1106, "An acknowledgment wasn't received for the call acceptance in the allotted time."}},
		{"no keepAlive", true, func(c *Config) { c.KeepAliveTimeout = 300 * time.Millisecond },
			Result{408, 8537, "Keep Alive timeout, cleaned up inactive call."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			id := h.incoming(t, CallSpec{})
			if tt.establish {
				if err := h.sim.Establish(testCtx(t), id); err != nil {
					t.Fatal(err)
				}
				h.expectStates(t, id, "updated/establishing", "updated/established")
			}
			n := h.expectStates(t, id, "deleted/terminated")[0]
			ri, _ := n.call(t)["resultInfo"].(map[string]any)
			if ri["code"] != strconv.Itoa(tt.want.Code) || ri["subcode"] != strconv.Itoa(tt.want.Subcode) || ri["message"] != tt.want.Message {
				t.Fatalf("resultInfo = %v, want %+v", ri, tt.want)
			}
			if c, _ := h.sim.Call(id); c.State != "terminated" || *c.Result != tt.want {
				t.Fatalf("sim view: %+v", c)
			}
			if st, _ := h.do(t, "GET", "/v1.0/communications/calls/"+id, ""); st != 404 {
				t.Fatalf("GET after timeout: %d, want 404", st)
			}
		})
	}
}

func TestThrottling(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ThrottleEvery = 3 })
	id := h.incoming(t, CallSpec{})
	var statuses []int
	for range 6 {
		st, body := h.do(t, "GET", "/v1.0/communications/calls/"+id, "")
		if st == http.StatusTooManyRequests && graphErr(t, body).Code != "TooManyRequests" {
			t.Fatalf("429 body: %s", body)
		}
		statuses = append(statuses, st)
	}
	if want := []int{200, 200, 429, 200, 200, 429}; !equalInts(statuses, want) {
		t.Fatalf("statuses = %v, want %v", statuses, want)
	}

	h = newHarness(t, nil)
	id = h.incoming(t, CallSpec{})
	h.sim.ThrottleNext(2, 1500*time.Millisecond)
	for i, want := range []int{429, 429, 200} {
		req, _ := http.NewRequestWithContext(testCtx(t), "GET", h.srv.URL+"/beta/communications/calls/"+id, nil)
		resp, err := h.graph.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "1.5" {
			t.Fatalf("Retry-After = %q, want 1.5", resp.Header.Get("Retry-After"))
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAnswerCallbackURIRedirectsLaterNotifications(t *testing.T) {
	h := newHarness(t, nil)
	other := newReceiver(t)
	id := h.incoming(t, CallSpec{})
	body := `{"callbackUri":"` + other.url() + `","mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig"}}`
	if st, resp := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/answer", body); st != 202 {
		t.Fatalf("answer: %d %s", st, resp)
	}
	for _, want := range []string{"establishing", "established"} {
		if n := other.nextCall(t, id); n.state(t) != want {
			t.Fatalf("callback got %q, want %q", n.state(t), want)
		}
	}
	h.rcv.none(t)
}

func TestScriptedMethods(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t)

	id := h.established(t, CallSpec{})
	if err := h.sim.Hold(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.Hold(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	h.expectStates(t, id, "updated/hold", "updated/established")
	if err := h.sim.Transfer(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	notes := h.expectStates(t, id, "updated/transferring", "updated/established")
	ri, _ := notes[1].call(t)["resultInfo"].(map[string]any)
	if ri["code"] != "500" || ri["subcode"] != "7000" {
		t.Fatalf("failed transfer's resultInfo = %v, want 500/7000", ri)
	}
	if err := h.sim.Transfer(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	notes = h.expectStates(t, id, "updated/transferring", "updated/transferAccepted", "deleted/terminated")
	ri, _ = notes[2].call(t)["resultInfo"].(map[string]any)
	if ri["code"] != "0" || ri["subcode"] != "7015" {
		t.Fatalf("transferred call's resultInfo = %v, want 0/7015", ri)
	}

	out, err := h.sim.StartOutgoing(ctx, CallSpec{Targets: []Party{{Kind: PartyPhone, ID: "+14255550100"}}})
	if err != nil {
		t.Fatal(err)
	}
	notes = h.expectStates(t, out, "updated/establishing", "updated/established")
	containsJSON(t, notes[0].ResourceData, `{"direction":"outgoing",
		"source":{"identity":{"application":{"id":"`+testApp+`"}}},
		"targets":[{"identity":{"phone":{"id":"+14255550100"}}}]}`)
	if err := h.sim.RemoteHangUp(ctx, out, 200, 540000); err != nil {
		t.Fatal(err)
	}
	n := h.expectStates(t, out, "deleted/terminated")[0]
	ri, _ = n.call(t)["resultInfo"].(map[string]any)
	if ri["message"] != "Call ended by the PSTN User." {
		t.Fatalf("resultInfo = %v", ri)
	}

	errTests := []struct {
		name string
		err  error
		want error
	}{
		{"hold an ended call", h.sim.Hold(ctx, out, true), ErrCallNotFound},
		{"establish an unknown call", h.sim.Establish(ctx, "nope"), ErrCallNotFound},
		{"resume a call not on hold", h.sim.Hold(ctx, h.established(t, CallSpec{}), false), ErrInvalidCallState},
		{"transfer an incoming call", h.sim.Transfer(ctx, h.incoming(t, CallSpec{}), true), ErrInvalidCallState},
		{"roster of a one-to-one call", h.sim.SetRoster(ctx, h.established(t, CallSpec{}), nil, 1), ErrInvalidCallState},
	}
	for _, tt := range errTests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	badInput := []struct {
		name string
		err  error
	}{
		{"result code 42", h.sim.RemoteHangUp(ctx, "x", 42, 0)},
		{"negative subcode", h.sim.RemoteHangUp(ctx, "x", 200, -1)},
		{"bad party kind", startErr(h.sim.StartIncoming(ctx, CallSpec{Source: Party{Kind: "fax", ID: "1"}}))},
		{"party without id", startErr(h.sim.StartIncoming(ctx, CallSpec{Source: Party{DisplayName: "Nobody"}}))},
		{"bad modality", startErr(h.sim.StartIncoming(ctx, CallSpec{Modalities: []string{"smell"}}))},
		{"negative leave", h.sim.SetRoster(ctx, "x", nil, -1)},
	}
	for _, tt := range badInput {
		if tt.err == nil || errors.Is(tt.err, ErrCallNotFound) {
			t.Errorf("%s: err = %v, want an input error", tt.name, tt.err)
		}
	}
	live := h.incoming(t, CallSpec{})
	if _, err := h.sim.StartIncoming(ctx, CallSpec{ID: live}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate id: err = %v", err)
	}
}

func startErr(_ string, err error) error { return err }

func TestGroupCallParticipants(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t)
	alice := Party{ID: "a1", DisplayName: "Alice"}
	bob := Party{ID: "b2", DisplayName: "Bob"}
	id, err := h.sim.StartIncoming(ctx, CallSpec{Source: alice, MeetingID: "123456789", Subject: "Weekly sync",
		Participants: []Party{alice, bob}})
	if err != nil {
		t.Fatal(err)
	}
	created := h.rcv.nextCall(t, id)
	containsJSON(t, created.ResourceData, `{"subject":"Weekly sync",
		"meetingInfo":{"@odata.type":"#microsoft.graph.joinMeetingIdMeetingInfo","joinMeetingId":"123456789"},
		"chatInfo":{"@odata.type":"#microsoft.graph.chatInfo","messageId":"0"}}`)
	if err := h.sim.Establish(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.expectStates(t, id, "updated/establishing", "updated/established")
	roster := h.rcv.nextCall(t, id)
	if !roster.participants() || roster.Resource != "/app/calls/"+id+"/participants" {
		t.Fatalf("expected a participants notification, got %s %s", roster.ResourceURL, roster.Resource)
	}
	c, _ := h.sim.Call(id)
	containsJSON(t, roster.ResourceData, `[
		{"@odata.type":"#microsoft.graph.participant","id":"`+c.MyParticipantID+`",
		 "info":{"identity":{"application":{"id":"`+testApp+`"}}}},
		{"@odata.type":"#microsoft.graph.participant","info":{"identity":{"user":{"id":"a1","displayName":"Alice"}}}},
		{"@odata.type":"#microsoft.graph.participant","info":{"identity":{"user":{"id":"b2","displayName":"Bob"}}}}]`)
	if err := h.sim.SetRoster(ctx, id, []Party{{Kind: PartyPhone, ID: "+14255550111"}}, 1); err != nil {
		t.Fatal(err)
	}
	roster = h.rcv.nextCall(t, id)
	containsJSON(t, roster.ResourceData, `[{},
		{"info":{"identity":{"user":{"id":"a1"}}}},
		{"info":{"identity":{"phone":{"id":"+14255550111"}}}}]`)
	if c, _ := h.sim.Call(id); len(c.Participants) != 2 || c.Participants[1].ID != "+14255550111" {
		t.Fatalf("sim roster = %+v", c.Participants)
	}
}
