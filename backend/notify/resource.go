package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

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
	ChatInfo            *chatInfo         `json:"chatInfo"`
	ResultInfo          *resultInfo       `json:"resultInfo"`
	TerminationReason   string            `json:"terminationReason"`
	ToneInfo            *toneInfo         `json:"toneInfo"`
	MediaState          *mediaState       `json:"mediaState"`
}

type participantInfo struct {
	Identity map[string]json.RawMessage `json:"identity"`
	// ParticipantID is the participant's id, which rosters carry here too.
	ParticipantID string `json:"participantId"`
}

type identity struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

type meetingInfo struct {
	JoinMeetingID string `json:"joinMeetingId"`
}

type chatInfo struct {
	ThreadID string `json:"threadId"`
}

type toneInfo struct {
	Tone       string `json:"tone"`
	SequenceID number `json:"sequenceId"`
}

type mediaState struct {
	Audio string `json:"audio"`
	Video string `json:"video"`
}

type resultInfo struct {
	Code    number `json:"code"`
	Subcode number `json:"subcode"`
	SubCode number `json:"subCode"`
	Message string `json:"message"`
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
	if isNull(data) {
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
	ch.TerminationReason = r.TerminationReason
	if r.MeetingInfo != nil {
		ch.MeetingID = r.MeetingInfo.JoinMeetingID
	}
	if r.ChatInfo != nil {
		ch.ThreadID = r.ChatInfo.ThreadID
	}
	if r.Source != nil {
		// Captured traffic has "source": {} on outgoing calls: that says
		// nothing about who calls, so it is left out.
		if p := r.Source.party(); p != (calls.Party{}) {
			ch.Source = &p
		}
	}
	for _, t := range r.Targets {
		if p := t.party(); p != (calls.Party{}) {
			ch.Targets = append(ch.Targets, p)
		}
	}
	ch.Result = r.ResultInfo.result()
	if t := r.ToneInfo; t != nil && t.Tone != "" {
		ch.Tone = &calls.Tone{Tone: t.Tone, Sequence: int(t.SequenceID.n)}
	}
	if m := r.MediaState; m != nil && (m.Audio != "" || m.Video != "") {
		ch.MediaState = &calls.MediaState{Audio: m.Audio, Video: m.Video}
	}
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

// diagCode finds "DiagCode: 500#7117" in resultInfo messages.
var diagCode = regexp.MustCompile(`DiagCode:\s*(\d+)#(\d+)`)

// result turns resultInfo into a Result, reading DiagCode from the message
// when the codes themselves are missing. A subcode Graph wrote as words
// (early pages send "subCode": "transferring") is kept as the message.
func (r *resultInfo) result() *calls.Result {
	if r == nil {
		return nil
	}
	sub := r.Subcode
	if !sub.set && sub.word == "" {
		sub = r.SubCode
	}
	res := calls.Result{Code: int(r.Code.n), Subcode: int(sub.n), Message: r.Message}
	if res.Message == "" && sub.word != "" {
		res.Message = sub.word
	}
	if !r.Code.set && !sub.set {
		if m := diagCode.FindStringSubmatch(r.Message); m != nil {
			res.Code, _ = strconv.Atoi(m[1])
			res.Subcode, _ = strconv.Atoi(m[2])
		}
	}
	return &res
}

// number accepts a JSON number or a string holding one. Anything else is
// taken as "no number" rather than refusing the notification (a string is
// kept as word): the rest still tells the supervisor something.
type number struct {
	n    int64
	set  bool
	word string
}

func (c *number) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if unq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unq)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		c.n, c.set = clamp(n), true
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && f == math.Trunc(f) && math.Abs(f) < 1<<40 {
		c.n, c.set = int64(f), true
		return nil
	}
	if s != "null" && len(s) <= 64 && !strings.ContainsAny(s, "{}[]") {
		c.word = s
	}
	return nil
}

// clamp keeps a code within what an int holds on every platform the
// console runs on.
func clamp(n int64) int64 {
	return max(min(n, math.MaxInt32), math.MinInt32)
}
