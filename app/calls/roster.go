package calls

import (
	"slices"
	"strings"
)

// MaxRoster bounds the participants a Call keeps; Participants still
// counts them all. Teams meetings can hold a thousand people, and every
// console receives every call.
const MaxRoster = 250

// Participant is one member of a call's roster as Graph's participants
// notifications give it.
type Participant struct {
	// ID is Graph's participant id.
	ID string `json:"id,omitempty"`
	// Party is who the participant is.
	Party Party `json:"party"`
	// Role is the meeting role Graph gave (attendee, presenter, organizer…).
	Role string `json:"role,omitempty"`
	// Muted reports the participant muted (by themselves or by the server).
	Muted bool `json:"muted,omitempty"`
	// InLobby reports the participant waiting in the meeting's lobby.
	InLobby bool `json:"inLobby,omitempty"`
	// Media lists the participant's media streams.
	Media []Media `json:"media,omitempty"`
	// Recording is the participant's recording status (recording,
	// notRecording, failed…), when Graph gave one.
	Recording string `json:"recording,omitempty"`
	// Removed is why Graph removed the participant, for removals notified
	// as deltas; a removed participant leaves the roster.
	Removed string `json:"removed,omitempty"`
}

// Key identifies a participant across roster notifications: its id, or
// its identity when Graph gave no id (invite examples send "id": null).
func (p Participant) Key() string {
	if p.ID != "" {
		return "id:" + strings.ToLower(p.ID)
	}
	return "who:" + p.Party.Kind + ":" + strings.ToLower(p.Party.ID)
}

// Label names the participant for people.
func (p Participant) Label() string {
	if l := p.Party.Label(); l != "" {
		return l
	}
	if p.ID != "" {
		return "participant " + p.ID
	}
	return "a participant"
}

// Media is one media stream of a participant.
type Media struct {
	// Type is audio, video, videoBasedScreenSharing or data.
	Type string `json:"type"`
	// Direction is inactive, sendOnly, receiveOnly or sendReceive.
	Direction string `json:"direction,omitempty"`
	// ServerMuted reports the stream muted by the server.
	ServerMuted bool `json:"serverMuted,omitempty"`
}

// MediaState is the call's media state (callMediaState): "active" or
// "inactive" per modality, empty when not told.
type MediaState struct {
	Audio string `json:"audio,omitempty"`
	Video string `json:"video,omitempty"`
}

// Tone is a DTMF tone Graph notified (toneInfo).
type Tone struct {
	// Tone is Graph's value: tone0…tone9, toneStar, tonePound, a…d, flash.
	Tone string `json:"tone"`
	// Sequence is Graph's sequenceId, which orders the tones of a call.
	Sequence int `json:"sequence,omitempty"`
}

// Key is the tone as a person presses it: "1", "*", "#", "A", "flash".
func (t Tone) Key() string {
	switch s := strings.ToLower(t.Tone); {
	case strings.HasPrefix(s, "tone") && len(s) == 5 && s[4] >= '0' && s[4] <= '9':
		return s[4:]
	case s == "tonestar":
		return "*"
	case s == "tonepound":
		return "#"
	case len(s) == 1:
		return strings.ToUpper(s)
	default:
		return t.Tone
	}
}

// Operation is the outcome of an operation the bot started on a call
// (commsOperation and its kinds: record, play prompt, invite, mute,
// subscribe to tone, update recording status…), as Graph notified it.
type Operation struct {
	// ID is Graph's operation id.
	ID string `json:"id,omitempty"`
	// Kind is the operation's kind from its @odata.type, without the
	// namespace and the "Operation" suffix: "record", "playPrompt",
	// "inviteParticipants", "comms" for a plain commsOperation.
	Kind string `json:"kind,omitempty"`
	// Status is notStarted, running, completed or failed.
	Status string `json:"status,omitempty"`
	// Result is the operation's resultInfo.
	Result *Result `json:"result,omitempty"`
	// CompletionReason is Graph's completionReason, when given.
	CompletionReason string `json:"completionReason,omitempty"`
	// Participants are the people an invite operation invited.
	Participants []Party `json:"participants,omitempty"`
	// Deleted reports Graph's "deleted" notification of the operation: it
	// is over. An operation's end never ends the call.
	Deleted bool `json:"deleted,omitempty"`
}

// Failed reports whether the operation failed.
func (o Operation) Failed() bool {
	return strings.EqualFold(o.Status, "failed") || (o.Result != nil && o.Result.Code >= 400)
}

// The ways a participants Change updates the roster.
const (
	// RosterFull replaces the roster: Graph's participants notifications
	// list everyone in the call.
	RosterFull = "full"
	// RosterUpsert adds or updates the listed participants (a notification
	// about one participant, or Graph's delta roster); those with Removed
	// set leave.
	RosterUpsert = "upsert"
	// RosterRemove removes the listed participants (a deleted notification).
	RosterRemove = "remove"
)

// applyRoster updates c's roster with ch, keeping order: members stay
// where they were, newcomers are appended.
func applyRoster(c Call, ch *Change) Call {
	switch ch.RosterMode {
	case RosterFull:
		c.Participants = max(ch.Participants, len(ch.Roster))
		c.Roster = capRoster(mergeOrder(c.Roster, ch.Roster))
	case RosterUpsert, RosterRemove:
		list := slices.Clone(c.Roster)
		for _, p := range ch.Roster {
			i := slices.IndexFunc(list, func(q Participant) bool { return q.Key() == p.Key() })
			switch {
			case ch.RosterMode == RosterRemove || p.Removed != "":
				if i >= 0 {
					list = slices.Delete(list, i, i+1)
				}
			case i >= 0:
				list[i] = mergeParticipant(list[i], p)
			default:
				list = append(list, p)
			}
		}
		c.Participants = max(len(list), c.Participants+len(list)-len(c.Roster))
		c.Roster = capRoster(list)
	default:
		if ch.Participants >= 0 {
			c.Participants = ch.Participants
		}
	}
	return c
}

// mergeOrder returns next, ordered as prev where both hold a participant,
// newcomers after, each newcomer filled in from prev if Graph left
// identity fields out.
func mergeOrder(prev, next []Participant) []Participant {
	byKey := make(map[string]Participant, len(next))
	for _, p := range next {
		byKey[p.Key()] = p
	}
	out := make([]Participant, 0, len(next))
	seen := make(map[string]bool, len(next))
	for _, p := range prev {
		if q, ok := byKey[p.Key()]; ok && !seen[p.Key()] {
			out = append(out, mergeParticipant(p, q))
			seen[p.Key()] = true
		}
	}
	for _, p := range next {
		if !seen[p.Key()] {
			out = append(out, p)
			seen[p.Key()] = true
		}
	}
	return out
}

// mergeParticipant updates old with new, keeping identity fields new
// leaves out.
func mergeParticipant(old, new Participant) Participant {
	if new.Party == (Party{}) {
		new.Party = old.Party
	} else if new.Party.DisplayName == "" {
		new.Party.DisplayName = old.Party.DisplayName
	}
	if new.Role == "" {
		new.Role = old.Role
	}
	if new.ID == "" {
		new.ID = old.ID
	}
	return new
}

func capRoster(list []Participant) []Participant {
	if len(list) > MaxRoster {
		list = list[:MaxRoster]
	}
	if len(list) == 0 {
		return nil
	}
	return list
}

// Participant returns the roster member with id.
func (c Call) Participant(id string) (Participant, bool) {
	i := slices.IndexFunc(c.Roster, func(p Participant) bool { return p.ID != "" && strings.EqualFold(p.ID, id) })
	if i < 0 {
		return Participant{}, false
	}
	return c.Roster[i], true
}

// IsBot reports whether p is the bot itself (its participant id is the
// call's myParticipantId).
func (c Call) IsBot(p Participant) bool {
	return c.MyParticipantID != "" && strings.EqualFold(p.ID, c.MyParticipantID)
}

// RosterChange is how one roster differs from the next: who joined, who
// left, and who changed in ways a supervisor cares about.
type RosterChange struct {
	Joined, Left []Participant
	// Muted and Unmuted, Lobby (entered) and Admitted (left the lobby),
	// StartedRecording and StoppedRecording list the participants whose
	// state changed.
	Muted, Unmuted, Lobby, Admitted, StartedRecording, StoppedRecording []Participant
}

// Empty reports whether nothing changed.
func (d RosterChange) Empty() bool {
	return len(d.Joined)+len(d.Left)+len(d.Muted)+len(d.Unmuted)+len(d.Lobby)+len(d.Admitted)+
		len(d.StartedRecording)+len(d.StoppedRecording) == 0
}

// DiffRoster tells how the roster went from before to after.
func DiffRoster(before, after []Participant) RosterChange {
	var d RosterChange
	old := make(map[string]Participant, len(before))
	for _, p := range before {
		old[p.Key()] = p
	}
	now := make(map[string]bool, len(after))
	for _, p := range after {
		now[p.Key()] = true
		o, was := old[p.Key()]
		switch {
		case !was && p.InLobby:
			d.Lobby = append(d.Lobby, p)
			continue
		case !was:
			d.Joined = append(d.Joined, p)
			continue
		}
		switch {
		case p.Muted && !o.Muted:
			d.Muted = append(d.Muted, p)
		case !p.Muted && o.Muted:
			d.Unmuted = append(d.Unmuted, p)
		}
		switch {
		case p.InLobby && !o.InLobby:
			d.Lobby = append(d.Lobby, p)
		case !p.InLobby && o.InLobby:
			d.Admitted = append(d.Admitted, p)
		}
		switch rec, was := strings.EqualFold(p.Recording, "recording"), strings.EqualFold(o.Recording, "recording"); {
		case rec && !was:
			d.StartedRecording = append(d.StartedRecording, p)
		case !rec && was:
			d.StoppedRecording = append(d.StoppedRecording, p)
		}
	}
	for _, p := range before {
		if !now[p.Key()] {
			d.Left = append(d.Left, p)
		}
	}
	return d
}
