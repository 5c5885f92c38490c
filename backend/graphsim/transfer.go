package graphsim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// transferBody is the body of transfer, as the reference shows it. Example
// 5 of the v1.0 page nests transferee inside transferTarget; it is read
// from both places.
type transferBody struct {
	TransferTarget *transferTarget      `json:"transferTarget"`
	Transferee     *wireParticipantInfo `json:"transferee"`
	ClientContext  string               `json:"clientContext"`
}

type transferTarget struct {
	wireParticipantInfo
	EndpointType   string               `json:"endpointType"`
	ReplacesCallID string               `json:"replacesCallId"`
	Transferee     *wireParticipantInfo `json:"transferee"`
}

func (s *Sim) postTransfer(id string, body []byte) error {
	var b transferBody
	if err := decodeBody(body, &b); err != nil {
		return err
	}
	if b.TransferTarget == nil {
		return badRequest("transferTarget is required.")
	}
	target, ok := partyOf(b.TransferTarget.Identity)
	if !ok {
		return badRequest("transferTarget has no user, phone or application identity with an id.")
	}
	if target.Kind == PartyPhone && !isE164(target.ID) {
		return badRequest("transferTarget phone id '%s' is not a phone number in E.164 format.", target.ID)
	}
	transferee := b.Transferee
	if transferee == nil {
		transferee = b.TransferTarget.Transferee
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return err
	}
	if c.info.State != stateEstablished {
		return wrongState(c.info.State, "transfer", stateEstablished)
	}
	if c.info.Spec.Group && transferee == nil {
		return badRequest("transferee is required to transfer from a group call.")
	}
	consultative := b.TransferTarget.ReplacesCallID != ""
	c.info.TransferTargets = append(c.info.TransferTargets, target)
	s.log.Info("call transfer requested", "call", id, "target", target.ID, "consultative", consultative)
	s.setStateLocked(c, stateTransferring, nil)
	if !s.reachableLocked(target) {
		failure := resultTransferFailed
		if consultative {
			failure = resultConsultativeTransferFailed
		}
		s.laterLocked(c, func(c *call) { s.failTransferLocked(c, failure) })
		return nil
	}
	s.laterLocked(c, func(c *call) {
		s.setStateLocked(c, stateTransferAccepted, nil)
		s.laterLocked(c, func(c *call) { s.completeTransferLocked(c) })
	})
	return nil
}

// failTransferLocked returns a transferring call to established with why
// the transfer failed, as Graph does.
func (s *Sim) failTransferLocked(c *call, failure Result) <-chan struct{} {
	s.log.Info("call transfer failed", "call", c.info.ID, "code", failure.Code, "subcode", failure.Subcode)
	c.info.Result = &failure
	return s.setStateLocked(c, stateEstablished, &failure)
}

// completeTransferLocked ends a transferred call: deleted, terminated, with
// resultInfo 0/7015 and terminationReason AppTransferred.
func (s *Sim) completeTransferLocked(c *call) <-chan struct{} {
	s.log.Info("call transferred", "call", c.info.ID)
	r := resultTransferred
	s.finishLocked(c, &r)
	w := s.stateResource(c, &r)
	w.TerminationReason = terminationTransferred
	return s.emit(c, newEnvelope("deleted", c.info.ID, "", w))
}

// terminationTransferred is the terminationReason of a completed transfer.
const terminationTransferred = "AppTransferred"

// reachableLocked reports whether a transfer to p can complete: a phone
// number, an application, or a user of the directory, unless a test made
// it unreachable with SetUnreachable.
func (s *Sim) reachableLocked(p Party) bool {
	if s.unreachable[strings.ToLower(p.ID)] {
		return false
	}
	switch p.kind() {
	case PartyUser:
		_, ok := s.directory[strings.ToLower(p.ID)]
		return ok
	default:
		return true
	}
}

// SetUnreachable makes transfers to ids fail (with 500/7000, or 500/7700
// for a consultative transfer), or, with reachable, succeed again.
func (s *Sim) SetUnreachable(reachable bool, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if reachable {
			delete(s.unreachable, strings.ToLower(id))
		} else {
			s.unreachable[strings.ToLower(id)] = true
		}
	}
}

// laterLocked runs f on c after Config.StepDelay, unless the call ended or
// the simulator closed meanwhile. It is how the API's actions unfold over
// time as Graph's do.
func (s *Sim) laterLocked(c *call, f func(c *call)) {
	id := c.info.ID
	time.AfterFunc(s.cfg.StepDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		c, ok := s.calls[id]
		if s.closed || !ok || !c.live() {
			return
		}
		f(c)
	})
}

// isE164 reports whether s is "+" followed by 1 to 15 digits.
func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) == 0 || len(digits) > 15 {
		return false
	}
	return !strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
}

// muteParticipant is POST …/participants/{participantId}/mute: the
// participant is muted at once (200 with a completed
// muteParticipantOperation), and every party gets a roster update.
func (s *Sim) muteParticipant(id, participantID string, body []byte) (int, any, error) {
	var b struct {
		ClientContext string `json:"clientContext"`
	}
	if err := decodeBody(body, &b); err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return 0, nil, err
	}
	if c.info.State != stateEstablished && c.info.State != stateHold {
		return 0, nil, wrongState(c.info.State, "mute participant", stateEstablished, stateHold)
	}
	if !c.info.Spec.Group {
		return 0, nil, badRequest("Mute participant is only supported for group calls.")
	}
	i := slices.IndexFunc(c.roster, func(m member) bool { return strings.EqualFold(m.participantID, participantID) })
	bot := strings.EqualFold(participantID, c.info.MyParticipantID)
	if i < 0 && !bot {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "ParticipantNotFound", Message: "Participant " + participantID + " was not found in the call."}
	}
	if bot {
		c.botMuted = true
	} else {
		c.roster[i].muted = true
	}
	s.syncRosterLocked(c)
	s.log.Info("participant muted", "call", id, "participant", participantID)
	s.emit(c, s.rosterEnvelope(c))
	op := s.newOperation(c, "muteParticipant", b.ClientContext)
	op.Status = "completed"
	return http.StatusOK, s.located(c, op), nil
}

// syncRosterLocked copies the roster into the call's info.
func (s *Sim) syncRosterLocked(c *call) {
	c.info.Participants = c.info.Participants[:0]
	c.info.Muted = c.info.Muted[:0]
	for _, m := range c.roster {
		c.info.Participants = append(c.info.Participants, m.party)
		if m.muted {
			c.info.Muted = append(c.info.Muted, m.party)
		}
	}
}
