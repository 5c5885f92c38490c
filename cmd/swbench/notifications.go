package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The load tool generates its own notification bodies, shaped like the ones
// Graph (and the Graph simulator) posts: a commsNotifications envelope with
// one commsNotification, the call resource in full when the call is created
// and short state updates after that.
//
// Every body also sets the call's subject to a marker the feed clients read
// back (see subjectMarker): the call index, the step, and the time the body
// was sent. The server copies the subject into the call, so each feed
// message says which notification produced it and when it left the sender.
// Participants notifications are not generated: their resourceData is a
// roster, which has no subject to carry the marker.

// step is one notification of a generated call.
type step struct {
	changeType string // created, updated or deleted
	state      string // the call's new state; empty for a bare deleted
	full       bool   // carries the whole call resource
	result     *resultInfo
}

// resultInfo is Graph's resultInfo as the generator writes it.
type resultInfo struct {
	ODataType string `json:"@odata.type"`
	Code      any    `json:"code"` // a number, or a string as in Graph's examples
	Subcode   any    `json:"subcode"`
	Message   string `json:"message,omitempty"`
}

func result(code, subcode int, asStrings bool, message string) *resultInfo {
	r := &resultInfo{ODataType: "#microsoft.graph.resultInfo", Code: code, Subcode: subcode, Message: message}
	if asStrings {
		r.Code, r.Subcode = strconv.Itoa(code), strconv.Itoa(subcode)
	}
	return r
}

// script returns the notifications of generated call k. The mix follows the
// simulator's traffic: most calls are answered and hung up, some are
// rejected or never answered, some put on hold, some transferred.
func script(k int) []step {
	created := step{changeType: "created", state: "incoming", full: true}
	up := func(state string) step { return step{changeType: "updated", state: state} }
	ended := func(r *resultInfo) step { return step{changeType: "deleted", state: "terminated", result: r} }
	switch k % 20 {
	case 0, 1, 2: // rejected by the bot: a bare deleted, as in the reject example
		return []step{created, {changeType: "deleted"}}
	case 3, 4: // nobody answered within 15 s
		return []step{created, ended(result(408, 1106, false, "An acknowledgment wasn't received for the call acceptance in the allotted time."))}
	case 5, 6: // transferred
		return []step{created, up("establishing"), up("established"), up("transferring"), up("transferAccepted"),
			ended(result(0, 7015, false, "Call ended as the transfer completed successfully."))}
	case 7, 8, 9, 10: // put on hold once
		return []step{created, up("establishing"), up("established"), up("hold"), up("established"), up("terminating"),
			ended(result(200, 4097, true, "Call ended by the other participant in the call."))}
	default: // answered, then hung up
		return []step{created, up("establishing"), up("established"), up("terminating"),
			ended(result(200, 5001, k%2 == 0, "The conversation has ended."))}
	}
}

// generator builds the notification bodies of one run. Call ids embed a
// run tag so that two runs against one event log never collide.
type generator struct {
	run uint16
}

// callID is the Graph call id of generated call k: a UUID whose last group
// is k in decimal.
func (g generator) callID(k int) string {
	return fmt.Sprintf("b3c40000-%04x-4000-8000-%012d", g.run, k)
}

// callIndex reads k back from a generated call id; ok is false for any
// other id.
func (g generator) callIndex(id []byte) (k int, ok bool) {
	const prefixLen = len("b3c40000-0000-4000-8000-")
	if len(id) != prefixLen+12 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(id[prefixLen:]), 10, 40)
	if err != nil || g.callID(int(n)) != string(id) {
		return 0, false
	}
	return int(n), true
}

// marker is what a generated notification writes in the call's subject.
type marker struct {
	Call, Step int
	// Sent is when the body left the sender, as an offset from the run's
	// start on the sender's monotonic clock (the clients share the clock).
	Sent time.Duration
}

// subject encodes m; parseSubject decodes it.
func (m marker) subject() string {
	return fmt.Sprintf("bench k=%d j=%d t=%d", m.Call, m.Step, int64(m.Sent))
}

// parseSubject decodes a subject written by marker.subject.
func parseSubject(s []byte) (m marker, ok bool) {
	rest, ok := bytes.CutPrefix(s, []byte("bench k="))
	if !ok {
		return m, false
	}
	var k, j, t uint64
	if k, rest, ok = cutUint(rest); !ok {
		return m, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(" j=")); !ok {
		return m, false
	}
	if j, rest, ok = cutUint(rest); !ok {
		return m, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(" t=")); !ok {
		return m, false
	}
	if t, rest, ok = cutUint(rest); !ok || len(rest) != 0 {
		return m, false
	}
	return marker{Call: int(k), Step: int(j), Sent: time.Duration(t)}, true
}

// The Graph resource shapes the generator writes.
type (
	envelope struct {
		ODataType string         `json:"@odata.type"`
		Value     []notification `json:"value"`
	}
	notification struct {
		ODataType    string   `json:"@odata.type"`
		ChangeType   string   `json:"changeType"`
		Resource     string   `json:"resource"`
		ResourceURL  string   `json:"resourceUrl"`
		ResourceData callData `json:"resourceData"`
	}
	callData struct {
		ODataType           string            `json:"@odata.type"`
		ODataID             string            `json:"@odata.id"`
		ID                  string            `json:"id,omitempty"`
		State               string            `json:"state,omitempty"`
		Direction           string            `json:"direction,omitempty"`
		CallbackURI         string            `json:"callbackUri,omitempty"`
		Source              *participantInfo  `json:"source,omitempty"`
		Targets             []participantInfo `json:"targets,omitempty"`
		RequestedModalities []string          `json:"requestedModalities,omitempty"`
		Subject             string            `json:"subject"`
		CallChainID         string            `json:"callChainId,omitempty"`
		MyParticipantID     string            `json:"myParticipantId,omitempty"`
		TenantID            string            `json:"tenantId,omitempty"`
		ResultInfo          *resultInfo       `json:"resultInfo,omitempty"`
	}
	participantInfo struct {
		ODataType string      `json:"@odata.type"`
		Identity  identitySet `json:"identity"`
		Region    string      `json:"region,omitempty"`
	}
	identitySet struct {
		ODataType   string    `json:"@odata.type"`
		User        *identity `json:"user,omitempty"`
		Phone       *identity `json:"phone,omitempty"`
		Application *identity `json:"application,omitempty"`
	}
	identity struct {
		ODataType   string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName,omitempty"`
	}
)

// body is the notification of step m.Step of call m.Call, with m in the
// subject. It fails when the call has no such step.
func (g generator) body(m marker) ([]byte, error) {
	steps := script(m.Call)
	if m.Call < 0 || m.Step < 0 || m.Step >= len(steps) {
		return nil, fmt.Errorf("generated call %d has no step %d", m.Call, m.Step)
	}
	return g.envelope(g.note(m, steps[m.Step]))
}

// liveStep is step j of a call that stays live (W4, W5, W6): it is
// created, answered, then put on hold and taken back, on and on.
func liveStep(j int) step {
	switch {
	case j == 0:
		return step{changeType: "created", state: "incoming", full: true}
	case j%2 == 0:
		return step{changeType: "updated", state: "hold"}
	default:
		return step{changeType: "updated", state: "established"}
	}
}

// liveBody is a body of the live calls' notifications of markers, one
// notification per marker (Graph posts one; seeding posts many at once).
func (g generator) liveBody(markers ...marker) ([]byte, error) {
	notes := make([]notification, len(markers))
	for i, m := range markers {
		if m.Call < 0 || m.Step < 0 {
			return nil, fmt.Errorf("generated call %d has no step %d", m.Call, m.Step)
		}
		notes[i] = g.note(m, liveStep(m.Step))
	}
	return g.envelope(notes...)
}

// note is the notification of step st of call m.Call, with m in the subject.
func (g generator) note(m marker, st step) notification {
	id := g.callID(m.Call)
	data := callData{ODataType: "#microsoft.graph.call", ODataID: "/communications/calls/" + id,
		State: st.state, Subject: m.subject(), ResultInfo: st.result}
	if st.full {
		g.fill(&data, m.Call)
	}
	return notification{ODataType: "#microsoft.graph.commsNotification", ChangeType: st.changeType,
		Resource: "/app/calls/" + id, ResourceURL: "/communications/calls/" + id, ResourceData: data}
}

// envelope wraps notes in a commsNotifications body.
func (g generator) envelope(notes ...notification) ([]byte, error) {
	out, err := json.Marshal(envelope{ODataType: "#microsoft.graph.commsNotifications", Value: notes})
	if err != nil {
		return nil, fmt.Errorf("encode notifications: %w", err)
	}
	return out, nil
}

// fill completes the resource of a created notification: who calls whom.
func (g generator) fill(d *callData, k int) {
	d.ID = g.callID(k)
	d.Direction = "incoming"
	d.CallbackURI = "https://bot.example.com/api/calls"
	d.RequestedModalities = []string{"audio"}
	d.CallChainID = fmt.Sprintf("c4a10000-%04x-4000-8000-%012d", g.run, k)
	d.MyParticipantID = fmt.Sprintf("d0e10000-%04x-4000-8000-%012d", g.run, k)
	d.TenantID = "5a1e0000-0000-4000-8000-00000000be7c"
	caller := identitySet{ODataType: "#microsoft.graph.identitySet"}
	if k%3 == 0 {
		caller.Phone = &identity{ODataType: "#microsoft.graph.identity", ID: fmt.Sprintf("+1425555%04d", k%10000)}
	} else {
		caller.User = &identity{ODataType: "#microsoft.graph.identity", ID: fmt.Sprintf("a5e40000-0000-4000-8000-%012d", k%500),
			DisplayName: fmt.Sprintf("Caller %d", k%500)}
	}
	d.Source = &participantInfo{ODataType: "#microsoft.graph.participantInfo", Identity: caller, Region: "westus"}
	bot := identitySet{ODataType: "#microsoft.graph.identitySet", Application: &identity{ODataType: "#microsoft.graph.identity",
		ID: "5b0a0000-0000-4000-8000-0000000000b0", DisplayName: "Calling Bot"}}
	d.Targets = []participantInfo{{ODataType: "#microsoft.graph.invitationParticipantInfo", Identity: bot}}
}
