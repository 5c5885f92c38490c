// Package traffic posts Graph call notifications of its own to a bot's
// webhook replicas, each one identifiable in the event log, and records
// every attempt: the load of a fault-injection run, whose report counts
// what was sent, accepted and stored, and how long the webhook was
// unavailable.
//
// Every notification carries a marker in the call's subject ("chaos n=N
// k=K j=J": its number in the run, its call and its step), which the
// server copies into the stored event and into the call every console
// receives. Calls are outgoing calls of the bot (establishing,
// established, …, terminated), played step by step, one call's steps in
// order, many calls at once.
package traffic

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// step is one notification of a call's script.
type step struct {
	changeType string // created, updated or deleted
	state      string
	result     *resultInfo
}

type resultInfo struct {
	ODataType string `json:"@odata.type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"subcode"`
	Message   string `json:"message,omitempty"`
}

func ended(code, subcode int, msg string) step {
	return step{changeType: "deleted", state: "terminated",
		result: &resultInfo{ODataType: "#microsoft.graph.resultInfo", Code: code, Subcode: subcode, Message: msg}}
}

// script is the notifications of call k: the bot calls out, the call is
// picked up, and ends one of a few ways. No call starts as incoming, so
// no replica answers, rejects or times out the tool's calls: the event log
// holds only what the tool sent.
func script(k int) []step {
	created := step{changeType: "created", state: "establishing"}
	up := func(s string) step { return step{changeType: "updated", state: s} }
	switch k % 5 {
	case 0: // put on hold once
		return []step{created, up("established"), up("hold"), up("established"), up("terminating"),
			ended(200, 4097, "Call ended by the other participant in the call.")}
	case 1: // transferred
		return []step{created, up("established"), up("transferring"), up("transferAccepted"),
			ended(0, 7015, "Call ended as the transfer completed successfully.")}
	default: // answered, then hung up
		return []step{created, up("established"), up("terminating"), ended(200, 5001, "The conversation has ended.")}
	}
}

// Steps is how many notifications call k has.
func Steps(k int) int { return len(script(k)) }

// Marker identifies one notification of a run.
type Marker struct {
	// N numbers the run's notifications from 1.
	N int
	// Call and Step say which call and which of its notifications.
	Call, Step int
}

// Subject is the call subject that carries m.
func (m Marker) Subject() string {
	return fmt.Sprintf("chaos n=%d k=%d j=%d", m.N, m.Call, m.Step)
}

// ParseSubject reads a marker back from a call's subject.
func ParseSubject(s string) (Marker, bool) {
	rest, ok := strings.CutPrefix(s, "chaos n=")
	if !ok {
		return Marker{}, false
	}
	f := strings.Fields(rest)
	if len(f) != 3 {
		return Marker{}, false
	}
	n, err1 := strconv.Atoi(f[0])
	k, ok2 := cutInt(f[1], "k=")
	j, ok3 := cutInt(f[2], "j=")
	if err1 != nil || !ok2 || !ok3 || n <= 0 || k < 0 || j < 0 {
		return Marker{}, false
	}
	return Marker{N: n, Call: k, Step: j}, true
}

func cutInt(s, prefix string) (int, bool) {
	v, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// Generator builds a run's notification bodies. Run tags the call ids so
// that two runs against one event log never share a call.
type Generator struct {
	Run uint16
}

// CallID is the Graph call id of call k.
func (g Generator) CallID(k int) string {
	return fmt.Sprintf("c4a05000-%04x-4000-8000-%012d", g.Run, k)
}

// Owns reports whether id is one of this generator's calls.
func (g Generator) Owns(id string) bool {
	const prefixLen = len("c4a05000-0000-4000-8000-")
	if len(id) != prefixLen+12 {
		return false
	}
	k, err := strconv.Atoi(id[prefixLen:])
	return err == nil && g.CallID(k) == id
}

// The Graph shapes the generator writes.
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
		State               string            `json:"state"`
		Direction           string            `json:"direction,omitempty"`
		Source              *participantInfo  `json:"source,omitempty"`
		Targets             []participantInfo `json:"targets,omitempty"`
		RequestedModalities []string          `json:"requestedModalities,omitempty"`
		Subject             string            `json:"subject"`
		ResultInfo          *resultInfo       `json:"resultInfo,omitempty"`
	}
	participantInfo struct {
		ODataType string      `json:"@odata.type"`
		Identity  identitySet `json:"identity"`
	}
	identitySet struct {
		ODataType   string    `json:"@odata.type"`
		User        *identity `json:"user,omitempty"`
		Application *identity `json:"application,omitempty"`
	}
	identity struct {
		ODataType   string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName,omitempty"`
	}
)

// Body is the notification m: step m.Step of call m.Call, with m in the
// call's subject.
func (g Generator) Body(m Marker) ([]byte, error) {
	steps := script(m.Call)
	if m.Call < 0 || m.Step < 0 || m.Step >= len(steps) {
		return nil, fmt.Errorf("traffic: call %d has no step %d", m.Call, m.Step)
	}
	st := steps[m.Step]
	id := g.CallID(m.Call)
	data := callData{ODataType: "#microsoft.graph.call", ODataID: "/communications/calls/" + id,
		State: st.state, Subject: m.Subject(), ResultInfo: st.result}
	if st.changeType == "created" {
		data.ID, data.Direction, data.RequestedModalities = id, "outgoing", []string{"audio"}
		data.Source = &participantInfo{ODataType: "#microsoft.graph.participantInfo", Identity: identitySet{
			ODataType: "#microsoft.graph.identitySet", Application: &identity{ODataType: "#microsoft.graph.identity",
				ID: "22222222-2222-4222-8222-222222222222", DisplayName: "Calling Bot"}}}
		data.Targets = []participantInfo{{ODataType: "#microsoft.graph.invitationParticipantInfo", Identity: identitySet{
			ODataType: "#microsoft.graph.identitySet", User: &identity{ODataType: "#microsoft.graph.identity",
				ID: fmt.Sprintf("a5e40000-0000-4000-8000-%012d", m.Call%500), DisplayName: fmt.Sprintf("Agent %d", m.Call%500)}}}}
	}
	body, err := json.Marshal(envelope{ODataType: "#microsoft.graph.commsNotifications", Value: []notification{{
		ODataType: "#microsoft.graph.commsNotification", ChangeType: st.changeType,
		Resource: "/app/calls/" + id, ResourceURL: "/communications/calls/" + id, ResourceData: data}}})
	if err != nil {
		return nil, fmt.Errorf("traffic: encode notification %d: %w", m.N, err)
	}
	return body, nil
}
