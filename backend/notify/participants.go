package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"switchboard/app/calls"
)

// participant is Graph's participant resource, as roster notifications
// carry it.
type participant struct {
	ID           *string          `json:"id"`
	ODataID      string           `json:"@odata.id"`
	Info         *participantInfo `json:"info"`
	IsMuted      bool             `json:"isMuted"`
	IsInLobby    bool             `json:"isInLobby"`
	MediaStreams []mediaStream    `json:"mediaStreams"`
	MeetingRole  string           `json:"meetingRole"`
	Recording    *recordingInfo   `json:"recordingInfo"`
	RemovedState *removedState    `json:"removedState"`
}

type mediaStream struct {
	MediaType   string `json:"mediaType"`
	Direction   string `json:"direction"`
	ServerMuted bool   `json:"serverMuted"`
}

// recordingInfo is spelled "recordingStatus" today and "status" in earlier
// beta pages (recordingCapable, notRecording…).
type recordingInfo struct {
	RecordingStatus string `json:"recordingStatus"`
	Status          string `json:"status"`
}

type removedState struct {
	Reason string `json:"reason"`
}

// deltaParticipants is Graph's delta roster: only what changed since the
// notification with the previous sequence number.
type deltaParticipants struct {
	ODataType    string            `json:"@odata.type"`
	Participants []json.RawMessage `json:"participants"`
}

// decodeRoster reads a participants notification: an array of
// participants (the whole roster; for a deleted notification, who left), a
// single participant (…/participants/{id}), or a deltaParticipants object.
func decodeRoster(data json.RawMessage, changeType, participantID string, ch *calls.Change) error {
	ch.Participants = -1
	switch {
	case isNull(data):
		if changeType == "deleted" && participantID != "" {
			ch.RosterMode = calls.RosterRemove
			ch.Roster = []calls.Participant{{ID: participantID}}
		}
		return nil
	case isArray(data):
		var list []json.RawMessage
		if err := json.Unmarshal(data, &list); err != nil {
			return fmt.Errorf("participants resourceData: %v", err)
		}
		roster, err := decodeParticipants(list)
		if err != nil {
			return err
		}
		ch.Roster = roster
		if changeType == "deleted" {
			ch.RosterMode = calls.RosterRemove
		} else {
			ch.RosterMode = calls.RosterFull
			ch.Participants = len(roster)
		}
		return nil
	}
	var probe deltaParticipants
	if err := strictObject(data, &probe); err != nil {
		return fmt.Errorf("participants resourceData is not a participant: %v", err)
	}
	if probe.Participants != nil || strings.HasSuffix(strings.ToLower(probe.ODataType), "deltaparticipants") {
		roster, err := decodeParticipants(probe.Participants)
		if err != nil {
			return err
		}
		ch.Roster, ch.RosterMode = roster, calls.RosterUpsert
		return nil
	}
	one, err := decodeParticipants([]json.RawMessage{data})
	if err != nil {
		return err
	}
	if one[0].ID == "" {
		one[0].ID = participantID
	}
	ch.Roster, ch.RosterMode = one, calls.RosterUpsert
	if changeType == "deleted" {
		ch.RosterMode = calls.RosterRemove
	}
	return nil
}

func decodeParticipants(list []json.RawMessage) ([]calls.Participant, error) {
	out := make([]calls.Participant, 0, len(list))
	for i, raw := range list {
		var p participant
		if err := strictObject(raw, &p); err != nil {
			return nil, fmt.Errorf("participant %d: %v", i, err)
		}
		out = append(out, p.normalise())
	}
	return out, nil
}

// normalise turns a participant into the model's, finding its id where
// Graph put it: id, info.participantId, or the end of @odata.id.
func (p participant) normalise() calls.Participant {
	out := calls.Participant{Muted: p.IsMuted, InLobby: p.IsInLobby, Role: p.MeetingRole}
	if p.ID != nil {
		out.ID = *p.ID
	}
	if p.Info != nil {
		out.Party = p.Info.party()
		if out.ID == "" {
			out.ID = p.Info.ParticipantID
		}
	}
	if out.ID == "" && p.ODataID != "" {
		out.ID = p.ODataID[strings.LastIndex(p.ODataID, "/")+1:]
	}
	for _, m := range p.MediaStreams {
		if m.MediaType == "" {
			continue
		}
		out.Media = append(out.Media, calls.Media{Type: m.MediaType, Direction: m.Direction, ServerMuted: m.ServerMuted})
		if strings.EqualFold(m.MediaType, "audio") && m.ServerMuted {
			out.Muted = true
		}
	}
	if r := p.Recording; r != nil {
		out.Recording = r.RecordingStatus
		if out.Recording == "" {
			out.Recording = r.Status
		}
	}
	if r := p.RemovedState; r != nil {
		out.Removed = r.Reason
		if out.Removed == "" {
			out.Removed = "removed"
		}
	}
	return out
}
