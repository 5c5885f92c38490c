package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"switchboard/app/calls"
)

// callResource is the part of Graph's call resource (seed 004) a console shows.
type callResource struct {
	State               string            `json:"state"`
	Direction           string            `json:"direction"`
	Source              *participantInfo  `json:"source"`
	Targets             []participantInfo `json:"targets"`
	RequestedModalities []string          `json:"requestedModalities"`
	Subject             string            `json:"subject"`
	CallChainID         string            `json:"callChainId"`
	MyParticipantID     string            `json:"myParticipantId"`
	MeetingInfo         *meetingInfo      `json:"meetingInfo"`
	ResultInfo          *resultInfo       `json:"resultInfo"`
}

type participantInfo struct {
	Identity map[string]json.RawMessage `json:"identity"`
}

type identity struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

type meetingInfo struct {
	JoinMeetingID string `json:"joinMeetingId"`
}

type resultInfo struct {
	Code    codeNumber `json:"code"`
	Subcode codeNumber `json:"subcode"`
	SubCode codeNumber `json:"subCode"`
	Message string     `json:"message"`
}

// identityKinds are the identitySet members in the order a supervisor would
// rather read them: a phone number or a person before an application.
var identityKinds = []string{"phone", "user", "guest", "acsUser", "azureCommunicationServicesUser",
	"spoolUser", "encrypted", "onPremises", "applicationInstance", "application", "device"}

// DecodeCall normalises a call resource (the resourceData of a notification,
// or the body of GET /communications/calls/{id}) into a Change.
func DecodeCall(data []byte) (calls.Change, error) {
	var ch calls.Change
	ch.Resource = calls.ResourceCall
	return ch, decodeCall(data, &ch)
}

func decodeCall(data json.RawMessage, ch *calls.Change) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil // a deleted notification may carry no data
	}
	var r callResource
	if err := strictObject(data, &r); err != nil {
		return fmt.Errorf("resourceData is not a call: %v", err)
	}
	ch.State = calls.State(r.State)
	ch.Direction = r.Direction
	ch.Subject = r.Subject
	ch.ChainID = r.CallChainID
	ch.MyParticipantID = r.MyParticipantID
	ch.Modalities = r.RequestedModalities
	if r.MeetingInfo != nil {
		ch.MeetingID = r.MeetingInfo.JoinMeetingID
	}
	if r.Source != nil {
		p := r.Source.party()
		ch.Source = &p
	}
	for _, t := range r.Targets {
		ch.Targets = append(ch.Targets, t.party())
	}
	ch.Result = r.ResultInfo.result()
	return nil
}

// party picks the most telling identity of the set.
func (p participantInfo) party() calls.Party {
	for _, kind := range identityKinds {
		raw, ok := p.Identity[kind]
		if !ok {
			continue
		}
		var id identity
		if json.Unmarshal(raw, &id) != nil || (id.ID == "" && id.DisplayName == "") {
			continue
		}
		party := calls.Party{Kind: kind, ID: id.ID, DisplayName: id.DisplayName}
		if kind == "phone" {
			party.Phone = id.ID
		}
		return party
	}
	return calls.Party{}
}

// result turns resultInfo into a Result, reading DiagCode from the message
// when the codes themselves are missing.
func (r *resultInfo) result() *calls.Result {
	if r == nil {
		return nil
	}
	sub := r.Subcode
	if !sub.set {
		sub = r.SubCode
	}
	res := calls.Result{Code: r.Code.n, Subcode: sub.n, Message: r.Message}
	if !r.Code.set && !sub.set {
		if m := diagCode.FindStringSubmatch(r.Message); m != nil {
			res.Code, _ = strconv.Atoi(m[1])
			res.Subcode, _ = strconv.Atoi(m[2])
		}
	}
	return &res
}
