package graphsim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// OData types of the Graph resources the simulator writes.
const (
	odataNotifications    = "#microsoft.graph.commsNotifications"
	odataNotification     = "#microsoft.graph.commsNotification"
	odataCall             = "#microsoft.graph.call"
	odataResultInfo       = "#microsoft.graph.resultInfo"
	odataParticipantInfo  = "#microsoft.graph.participantInfo"
	odataInvitationInfo   = "#microsoft.graph.invitationParticipantInfo"
	odataIdentitySet      = "#microsoft.graph.identitySet"
	odataIdentity         = "#microsoft.graph.identity"
	odataParticipant      = "#microsoft.graph.participant"
	odataMediaStream      = "#microsoft.graph.mediaStream"
	odataChatInfo         = "#microsoft.graph.chatInfo"
	odataJoinMeetingIDMtg = "#microsoft.graph.joinMeetingIdMeetingInfo"
	odataMediaState       = "#microsoft.graph.callMediaState"
)

// envelope is the body of every notification POST.
type envelope struct {
	ODataType string         `json:"@odata.type"`
	Value     []notification `json:"value"`
}

// notification is one commsNotification. Resource is the legacy /app path
// real deliveries still carry next to resourceUrl.
type notification struct {
	ODataType    string `json:"@odata.type"`
	ChangeType   string `json:"changeType"`
	Resource     string `json:"resource"`
	ResourceURL  string `json:"resourceUrl"`
	ResourceData any    `json:"resourceData"`
}

func callPath(id string) string { return "/communications/calls/" + id }

func legacyCallPath(id string) string { return "/app/calls/" + id }

// newEnvelope wraps one change of the call id. suffix is "" for the call
// itself or "/participants" for its roster.
func newEnvelope(changeType, id, suffix string, data any) envelope {
	return envelope{
		ODataType: odataNotifications,
		Value: []notification{{
			ODataType:    odataNotification,
			ChangeType:   changeType,
			Resource:     legacyCallPath(id) + suffix,
			ResourceURL:  callPath(id) + suffix,
			ResourceData: data,
		}},
	}
}

// wireCall is Graph's call resource. Fields left empty are omitted, so the
// same type serves the full resource and the short state-only updates.
type wireCall struct {
	ODataContext        string                `json:"@odata.context,omitempty"`
	ODataType           string                `json:"@odata.type"`
	ODataID             string                `json:"@odata.id,omitempty"`
	ID                  string                `json:"id,omitempty"`
	State               string                `json:"state,omitempty"`
	Direction           string                `json:"direction,omitempty"`
	CallbackURI         string                `json:"callbackUri,omitempty"`
	Source              *wireParticipantInfo  `json:"source,omitempty"`
	Targets             []wireParticipantInfo `json:"targets,omitempty"`
	RequestedModalities []string              `json:"requestedModalities,omitempty"`
	Subject             string                `json:"subject,omitempty"`
	CallChainID         string                `json:"callChainId,omitempty"`
	ChatInfo            *wireChatInfo         `json:"chatInfo,omitempty"`
	MeetingInfo         *wireMeetingInfo      `json:"meetingInfo,omitempty"`
	MyParticipantID     string                `json:"myParticipantId,omitempty"`
	TenantID            string                `json:"tenantId,omitempty"`
	ResultInfo          *wireResult           `json:"resultInfo,omitempty"`
	TerminationReason   string                `json:"terminationReason,omitempty"`
	ToneInfo            *wireTone             `json:"toneInfo,omitempty"`
	MediaState          *wireMediaState       `json:"mediaState,omitempty"`
}

type wireTone struct {
	ODataType  string `json:"@odata.type"`
	SequenceID int    `json:"sequenceId"`
	Tone       string `json:"tone"`
}

type wireMediaState struct {
	ODataType string `json:"@odata.type"`
	Audio     string `json:"audio"`
}

type wireRecordingInfo struct {
	ODataType       string `json:"@odata.type"`
	RecordingStatus string `json:"recordingStatus"`
}

// wireParticipantInfo is a participantInfo (the source) or an
// invitationParticipantInfo (a target), which share these fields.
type wireParticipantInfo struct {
	ODataType  string          `json:"@odata.type,omitempty"`
	Identity   wireIdentitySet `json:"identity"`
	Region     string          `json:"region,omitempty"`
	LanguageID string          `json:"languageId,omitempty"`
}

type wireIdentitySet struct {
	ODataType           string        `json:"@odata.type,omitempty"`
	User                *wireIdentity `json:"user,omitempty"`
	Phone               *wireIdentity `json:"phone,omitempty"`
	Application         *wireIdentity `json:"application,omitempty"`
	ApplicationInstance *wireIdentity `json:"applicationInstance,omitempty"`
}

type wireIdentity struct {
	ODataType   string `json:"@odata.type,omitempty"`
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
}

type wireChatInfo struct {
	ODataType string `json:"@odata.type"`
	ThreadID  string `json:"threadId"`
	MessageID string `json:"messageId"`
}

type wireMeetingInfo struct {
	ODataType     string  `json:"@odata.type"`
	JoinMeetingID string  `json:"joinMeetingId"`
	Passcode      *string `json:"passcode"`
}

type wireParticipant struct {
	ODataType     string              `json:"@odata.type"`
	ID            string              `json:"id"`
	Info          wireParticipantInfo `json:"info"`
	IsMuted       bool                `json:"isMuted"`
	IsInLobby     bool                `json:"isInLobby"`
	MediaStreams  []wireMediaStream   `json:"mediaStreams"`
	RecordingInfo *wireRecordingInfo  `json:"recordingInfo,omitempty"`
}

type wireMediaStream struct {
	ODataType   string `json:"@odata.type"`
	MediaType   string `json:"mediaType"`
	Label       string `json:"label"`
	SourceID    string `json:"sourceId"`
	Direction   string `json:"direction"`
	ServerMuted bool   `json:"serverMuted"`
}

// wireResult is a resultInfo, with the encoding quirks real deliveries show.
type wireResult struct {
	Result
	// asStrings writes code and subcode as JSON strings, as the docs' examples do.
	asStrings bool
	// camelSubCode spells the subcode member "subCode".
	camelSubCode bool
	// diag appends a "DiagCode: code#subcode.@" suffix to the message.
	diag bool
}

// MarshalJSON writes the resultInfo with the quirks r asks for.
func (r wireResult) MarshalJSON() ([]byte, error) {
	m := map[string]any{"@odata.type": odataResultInfo}
	var code, sub any = r.Code, r.Subcode
	if r.asStrings {
		code, sub = strconv.Itoa(r.Code), strconv.Itoa(r.Subcode)
	}
	m["code"] = code
	if r.camelSubCode {
		m["subCode"] = sub
	} else {
		m["subcode"] = sub
	}
	msg := r.Message
	if r.diag {
		msg = strings.TrimSpace(fmt.Sprintf("%s DiagCode: %d#%d.@", msg, r.Code, r.Subcode))
	}
	if msg != "" {
		m["message"] = msg
	}
	return json.Marshal(m)
}

// identitySet turns a Party into Graph's identitySet.
func identitySet(p Party) wireIdentitySet {
	id := &wireIdentity{ODataType: odataIdentity, ID: p.ID, DisplayName: p.DisplayName}
	set := wireIdentitySet{ODataType: odataIdentitySet}
	switch p.kind() {
	case PartyPhone:
		set.Phone = id
	case PartyApplication:
		set.Application = id
	default:
		set.User = id
	}
	return set
}

// partyOf reads a Party back from an identitySet; ok is false when the set
// names no user, phone or application.
func partyOf(set wireIdentitySet) (p Party, ok bool) {
	switch {
	case set.User != nil:
		return Party{Kind: PartyUser, ID: set.User.ID, DisplayName: set.User.DisplayName}, set.User.ID != ""
	case set.Phone != nil:
		return Party{Kind: PartyPhone, ID: set.Phone.ID, DisplayName: set.Phone.DisplayName}, set.Phone.ID != ""
	case set.Application != nil:
		return Party{Kind: PartyApplication, ID: set.Application.ID, DisplayName: set.Application.DisplayName}, set.Application.ID != ""
	case set.ApplicationInstance != nil:
		return Party{Kind: PartyApplication, ID: set.ApplicationInstance.ID, DisplayName: set.ApplicationInstance.DisplayName}, set.ApplicationInstance.ID != ""
	}
	return Party{}, false
}

func participantInfo(odataType string, p Party) wireParticipantInfo {
	return wireParticipantInfo{
		ODataType:  odataType,
		Identity:   identitySet(p),
		Region:     "westus",
		LanguageID: "en-US",
	}
}

func wireParticipantOf(m member) wireParticipant {
	w := wireParticipant{
		ODataType: odataParticipant,
		ID:        m.participantID,
		Info:      participantInfo(odataParticipantInfo, m.party),
		IsMuted:   m.muted,
		MediaStreams: []wireMediaStream{{
			ODataType:   odataMediaStream,
			MediaType:   "audio",
			Label:       "main-audio",
			SourceID:    m.sourceID,
			Direction:   "sendReceive",
			ServerMuted: m.muted,
		}},
	}
	if m.recording != "" {
		w.RecordingInfo = &wireRecordingInfo{ODataType: "#microsoft.graph.recordingInfo", RecordingStatus: m.recording}
	}
	return w
}
