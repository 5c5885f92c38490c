package graphsim

import (
	"context"
	"net/http"
	"strings"
)

// wireOperation is a commsOperation (or one of its kinds) as the API
// answers it and as operation notifications carry it.
type wireOperation struct {
	ODataType         string                `json:"@odata.type"`
	ODataContext      string                `json:"@odata.context,omitempty"`
	ID                string                `json:"id"`
	Status            string                `json:"status"`
	ClientContext     string                `json:"clientContext,omitempty"`
	ResultInfo        *wireResult           `json:"resultInfo,omitempty"`
	CompletionReason  string                `json:"completionReason,omitempty"`
	RecordingLocation string                `json:"recordingLocation,omitempty"`
	Participants      []wireParticipantInfo `json:"participants,omitempty"`

	kind string // the operation's kind: "record", "playPrompt", …
}

// located is an API answer with a Location header: operations say where
// they can be read.
type located struct {
	location string
	body     any
}

// newOperation starts an operation of kind on c, status running.
func (s *Sim) newOperation(c *call, kind, clientContext string) *wireOperation {
	return &wireOperation{
		ODataType:     "#microsoft.graph." + kind + "Operation",
		ID:            drawUUID(c.rng),
		Status:        "running",
		ClientContext: clientContext,
		kind:          kind,
	}
}

// located wraps op as the API answers it.
func (s *Sim) located(c *call, op *wireOperation) located {
	body := *op
	body.ODataContext = "https://graph.microsoft.com/v1.0/$metadata#" + op.kind + "Operation"
	return located{location: s.publicURL + "/v1.0" + callPath(c.info.ID) + "/operations/" + op.ID, body: body}
}

// finishOperationLocked notifies op as over (changeType deleted), with its
// status and result.
func (s *Sim) finishOperationLocked(c *call, op *wireOperation) <-chan struct{} {
	delete(c.ops, op.ID)
	c.info.Operations = append(c.info.Operations, op.kind+":"+op.Status)
	return s.emit(c, newEnvelope("deleted", c.info.ID, "/operations/"+op.ID, op))
}

// mediaBody is what the media operations' bodies share.
type mediaBody struct {
	ClientContext string `json:"clientContext"`
	// Status is updateRecordingStatus's new status.
	Status string `json:"status"`
	// Participants are invite's.
	Participants []wireParticipantInfo `json:"participants"`
}

// mediaOperations are the operations on a call the simulator serves, by
// the action segment Graph names them with (lower case).
var mediaOperations = map[string]string{
	"playprompt":              "playPrompt",
	"recordresponse":          "record",
	"record":                  "record",
	"subscribetotone":         "subscribeToTone",
	"cancelmediaprocessing":   "cancelMediaProcessing",
	"updaterecordingstatus":   "updateRecordingStatus",
	"senddtmftones":           "sendDtmfTones",
	"mute":                    "muteParticipant",
	"unmute":                  "unmuteParticipant",
	"changescreensharingrole": "changeScreenSharingRole",
}

// postOperation serves the operations on an established call: playPrompt,
// recordResponse, subscribeToTone, cancelMediaProcessing,
// updateRecordingStatus, sendDtmfTones, mute and unmute (the bot itself)
// and changeScreenSharingRole. Each answers 200 with the operation (202
// for changeScreenSharingRole, which returns nothing) and, later, notifies
// its end as Graph does.
func (s *Sim) postOperation(id, action string, body []byte) (int, any, error) {
	kind := mediaOperations[action]
	var b mediaBody
	if err := decodeBody(body, &b); err != nil {
		return 0, nil, err
	}
	if kind == "updateRecordingStatus" && !containsFold([]string{"recording", "notRecording", "failed"}, b.Status) {
		return 0, nil, badRequest("status '%s' is not recording, notRecording or failed.", b.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return 0, nil, err
	}
	if c.info.State != stateEstablished && c.info.State != stateHold {
		return 0, nil, wrongState(c.info.State, action, stateEstablished, stateHold)
	}
	op := s.newOperation(c, kind, b.ClientContext)
	switch kind {
	case "changeScreenSharingRole":
		return http.StatusAccepted, nil, nil
	case "subscribeToTone":
		c.tones = true
		op.Status = "completed"
	case "muteParticipant", "unmuteParticipant":
		c.botMuted = kind == "muteParticipant"
		op.Status = "completed"
		if c.info.Spec.Group {
			s.emit(c, s.rosterEnvelope(c))
		}
	case "cancelMediaProcessing":
		for _, pending := range c.ops {
			pending.Status, pending.CompletionReason = "failed", "operationCanceled"
			pending.ResultInfo = s.encodeResult(c, resultOperationCancelled)
			s.finishOperationLocked(c, pending)
		}
		op.Status = "completed"
		op.ResultInfo = s.encodeResult(c, resultOperationDone)
		s.laterLocked(c, func(c *call) { s.finishOperationLocked(c, op) })
	case "updateRecordingStatus":
		c.botRecording = b.Status
		op.ResultInfo = s.encodeResult(c, resultOperationDone)
		s.laterLocked(c, func(c *call) {
			op.Status = "completed"
			s.finishOperationLocked(c, op)
			if c.info.Spec.Group {
				s.emit(c, s.rosterEnvelope(c))
			}
		})
	default: // playPrompt, record, sendDtmfTones
		c.ops[op.ID] = op
		s.laterLocked(c, func(c *call) {
			if _, pending := c.ops[op.ID]; !pending {
				return // cancelled meanwhile
			}
			op.Status = "completed"
			switch kind {
			case "record":
				op.ResultInfo = s.encodeResult(c, resultRecordMaxLength)
				op.RecordingLocation = s.publicURL + "/recordings/" + op.ID
			case "playPrompt":
				op.ResultInfo = s.encodeResult(c, resultOperationDone)
				op.CompletionReason = "completedSuccessfully"
			default:
				op.CompletionReason = "completedSuccessfully"
			}
			s.finishOperationLocked(c, op)
		})
	}
	s.log.Info("operation", "call", id, "kind", kind, "id", op.ID)
	return http.StatusOK, s.located(c, op), nil
}

// invite is POST …/participants/invite on a group call: 200 with the
// inviteParticipantsOperation, then the roster with the invited people and
// the operation's end.
func (s *Sim) invite(id string, body []byte) (int, any, error) {
	var b mediaBody
	if err := decodeBody(body, &b); err != nil {
		return 0, nil, err
	}
	if len(b.Participants) == 0 {
		return 0, nil, badRequest("participants is required: invite needs at least one participant.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var people []Party
	for i, p := range b.Participants {
		party, ok := partyOf(p.Identity)
		if !ok {
			return 0, nil, badRequest("participants[%d] has no user, phone or application identity with an id.", i)
		}
		if party.DisplayName == "" {
			if u, ok := s.directoryLookupLocked(party.ID); ok {
				party.DisplayName = u.DisplayName
			}
		}
		people = append(people, party)
	}
	c, err := s.lookupLocked(id)
	if err != nil {
		return 0, nil, err
	}
	if c.info.State != stateEstablished && c.info.State != stateHold {
		return 0, nil, wrongState(c.info.State, "invite", stateEstablished, stateHold)
	}
	if !c.info.Spec.Group {
		return 0, nil, badRequest("Invite participants is only supported for group calls.")
	}
	op := s.newOperation(c, "inviteParticipants", b.ClientContext)
	op.Participants = b.Participants
	s.laterLocked(c, func(c *call) {
		for _, p := range people {
			c.roster = append(c.roster, c.newMember(p))
		}
		s.syncRosterLocked(c)
		op.Status = "completed"
		s.finishOperationLocked(c, op)
		s.emit(c, s.rosterEnvelope(c))
	})
	return http.StatusOK, s.located(c, op), nil
}

// PressTone makes the other side of an established call press a DTMF key
// (0–9, *, #, A–D): Graph notifies it as toneInfo on the call.
func (s *Sim) PressTone(ctx context.Context, id, key string) error {
	return wait(ctx, "tone", id)(s.pressTone(id, key))
}

func (s *Sim) pressToneLocked(c *call, tone string) <-chan struct{} {
	c.toneSeq++
	c.info.Tones = append(c.info.Tones, tone)
	w := wireCall{ODataType: odataCall, ODataID: callPath(c.info.ID), State: c.info.State,
		ToneInfo: &wireTone{ODataType: "#microsoft.graph.toneInfo", SequenceID: c.toneSeq, Tone: tone}}
	return s.emit(c, newEnvelope("updated", c.info.ID, "", w))
}

// toneOf is Graph's name of a DTMF key.
func toneOf(key string) (string, bool) {
	switch k := strings.ToLower(key); {
	case len(k) == 1 && k[0] >= '0' && k[0] <= '9':
		return "tone" + k, true
	case k == "*":
		return "toneStar", true
	case k == "#":
		return "tonePound", true
	case len(k) == 1 && k[0] >= 'a' && k[0] <= 'd':
		return k, true
	}
	return "", false
}
