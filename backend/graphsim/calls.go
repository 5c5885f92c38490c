package graphsim

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Graph's call states, as the simulator moves calls through them.
const (
	stateIncoming         = "incoming"
	stateEstablishing     = "establishing"
	stateEstablished      = "established"
	stateHold             = "hold"
	stateTransferring     = "transferring"
	stateTransferAccepted = "transferAccepted"
	stateRedirecting      = "redirecting"
	stateTerminating      = "terminating"
	stateTerminated       = "terminated"
)

// Call directions.
const (
	directionIncoming = "incoming"
	directionOutgoing = "outgoing"
)

// Probabilities of the wire quirks (see the package documentation).
const (
	quirkDuplicate = 0.05 // a notification is delivered twice
	quirkReorder   = 0.20 // established is delivered before establishing
	quirkStrings   = 0.50 // resultInfo code/subcode are JSON strings
	quirkSubCode   = 0.20 // resultInfo spells subCode
	quirkDiag      = 0.25 // resultInfo message ends with a DiagCode
)

// endedRetention is how long an ended call stays visible to Call.
const endedRetention = 10 * time.Minute

// member is one participant of a group call's roster, besides the bot.
type member struct {
	party         Party
	participantID string
	sourceID      string
	muted         bool
	recording     string // recordingInfo's recordingStatus; "" for none
}

// call is one simulated call. Every field is guarded by Sim.mu.
type call struct {
	info     CallInfo
	callback string      // where its notifications go
	rng      *mrand.Rand // its wire quirks and participant ids
	out      *outbox
	roster   []member
	sources  int // media source ids handed out

	botMuted     bool                      // the bot muted itself
	botRecording string                    // the bot's recording status (updateRecordingStatus)
	tones        bool                      // the bot subscribed to tones
	toneSeq      int                       // tones notified
	ops          map[string]*wireOperation // operations running, by id

	establishedOnce bool
	established     chan struct{} // closed when the call first becomes established
	ended           chan struct{} // closed when the call ends

	timer    *time.Timer // the incoming or keep-alive deadline
	timerGen int         // bumped whenever timer changes, so a stale firing is ignored
}

func (c *call) live() bool { return c.info.State != stateTerminated }

func (c *call) stopTimer() {
	c.timerGen++
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

func (c *call) newMember(p Party) member {
	c.sources++
	return member{party: p, participantID: drawUUID(c.rng), sourceID: strconv.Itoa(c.sources)}
}

// armTimer (re)starts the call's deadline: after d, the call ends with r
// unless the timer was stopped or re-armed meanwhile.
func (s *Sim) armTimer(c *call, d time.Duration, r Result) {
	c.stopTimer()
	gen, id := c.timerGen, c.info.ID
	c.timer = time.AfterFunc(d, func() { s.expire(id, gen, r) })
}

func (s *Sim) expire(id string, gen int, r Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[id]
	if s.closed || !ok || !c.live() || c.timerGen != gen {
		return
	}
	s.log.Info("call timed out", "call", id, "state", c.info.State, "code", r.Code, "subcode", r.Subcode)
	s.endLocked(c, r)
}

// lookupLocked returns the live call id. Unknown and ended calls are
// ErrCallNotFound, as in Graph.
func (s *Sim) lookupLocked(id string) (*call, error) {
	if s.closed {
		return nil, errClosed
	}
	c, ok := s.calls[id]
	if !ok || !c.live() {
		return nil, ErrCallNotFound
	}
	return c, nil
}

// newCallLocked registers a call for spec, whose defaults are filled in.
func (s *Sim) newCallLocked(spec CallSpec, direction string) (*call, error) {
	if s.closed {
		return nil, errClosed
	}
	if old, ok := s.calls[spec.ID]; ok && old.live() {
		return nil, fmt.Errorf("graphsim: call %s already exists", spec.ID)
	}
	now := time.Now()
	s.pruneLocked(now)
	c := &call{
		info: CallInfo{
			ID: spec.ID, Direction: direction, Spec: spec, CreatedAt: now,
		},
		callback:    s.cfg.CallbackURL,
		rng:         mrand.New(mrand.NewPCG(uint64(s.cfg.Seed), callStream(spec.ID))),
		out:         &outbox{},
		ops:         make(map[string]*wireOperation),
		established: make(chan struct{}),
		ended:       make(chan struct{}),
	}
	c.info.MyParticipantID = drawUUID(c.rng)
	if spec.isGroup() {
		for _, p := range spec.Participants {
			c.roster = append(c.roster, c.newMember(p))
		}
		c.info.Participants = slices.Clone(spec.Participants)
	}
	s.calls[spec.ID] = c
	return c, nil
}

// pruneLocked forgets calls that ended long ago, at most once a minute.
func (s *Sim) pruneLocked(now time.Time) {
	if now.Sub(s.lastPrune) < time.Minute {
		return
	}
	s.lastPrune = now
	for id, c := range s.calls {
		if !c.live() && now.Sub(c.info.EndedAt) > endedRetention {
			delete(s.calls, id)
		}
	}
}

// fillSpecLocked validates spec and fills in its defaults for a call of direction.
func (s *Sim) fillSpecLocked(spec CallSpec, direction string) (CallSpec, error) {
	if err := spec.validate(); err != nil {
		return spec, err
	}
	spec = spec.clone()
	if spec.ID == "" {
		spec.ID = drawSaltedUUID(s.ids, s.cfg.IDSalt)
	}
	if spec.ChainID == "" {
		spec.ChainID = drawSaltedUUID(s.ids, s.cfg.IDSalt)
	}
	if direction == directionOutgoing {
		spec.Source = s.bot
		if len(spec.Targets) == 0 {
			spec.Targets = []Party{{Kind: PartyUser, ID: drawUUID(s.ids), DisplayName: "Test Callee"}}
		}
	} else {
		if spec.Source == (Party{}) {
			spec.Source = Party{Kind: PartyUser, ID: drawUUID(s.ids), DisplayName: "Test Caller"}
		}
		if len(spec.Targets) == 0 {
			spec.Targets = []Party{s.bot}
		}
	}
	spec.Source.Kind = spec.Source.kind()
	if len(spec.Modalities) == 0 {
		spec.Modalities = []string{"audio"}
	}
	spec.Group = spec.isGroup()
	if spec.Group && len(spec.Participants) == 0 {
		spec.Participants = []Party{spec.Source}
	}
	return spec, nil
}

// startIncoming creates an incoming call and notifies it as created.
func (s *Sim) startIncoming(spec CallSpec) (string, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	spec, err := s.fillSpecLocked(spec, directionIncoming)
	if err != nil {
		return "", nil, err
	}
	c, err := s.newCallLocked(spec, directionIncoming)
	if err != nil {
		return "", nil, err
	}
	c.info.State = stateIncoming
	s.armTimer(c, s.cfg.IncomingTimeout, resultIncomingTimeout)
	s.log.Info("incoming call", "call", spec.ID, "source", spec.Source.ID, "group", spec.Group)
	return spec.ID, s.emit(c, newEnvelope("created", spec.ID, "", s.fullResource(c))), nil
}

// startOutgoing creates an outgoing call in state establishing and, if
// establish is set, establishes it at once.
func (s *Sim) startOutgoing(spec CallSpec, establish bool) (string, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	spec, err := s.fillSpecLocked(spec, directionOutgoing)
	if err != nil {
		return "", nil, err
	}
	c, err := s.newCallLocked(spec, directionOutgoing)
	if err != nil {
		return "", nil, err
	}
	s.log.Info("outgoing call", "call", spec.ID, "target", spec.Targets[0].ID)
	if establish {
		return spec.ID, s.establishLocked(c), nil
	}
	c.info.State = stateEstablishing
	return spec.ID, s.emit(c, newEnvelope("updated", spec.ID, "", s.setupResource(c))), nil
}

// setupResource is the call resource of the establishing and established
// notifications. Graph tells an outgoing call's parties to the bot that
// placed it in its answer to the request, not in these notifications:
// real ones carry the state and the chain id, and "direction" once
// established. With PlainWire the whole resource is sent.
func (s *Sim) setupResource(c *call) wireCall {
	if s.cfg.PlainWire || c.info.Direction != directionOutgoing {
		return s.fullResource(c)
	}
	w := wireCall{ODataType: odataCall, ODataID: callPath(c.info.ID), State: c.info.State, CallChainID: c.info.Spec.ChainID}
	if c.info.State == stateEstablished {
		w.Direction = directionOutgoing
	}
	return w
}

// establishLocked moves an incoming call, a new outgoing call or an
// outgoing call in establishing to established, and notifies the steps it
// has not notified yet (establishing, established), now and then in the
// wrong order as Graph does. Group calls then get their roster.
func (s *Sim) establishLocked(c *call) <-chan struct{} {
	var notes []envelope
	if c.info.State != stateEstablishing {
		c.info.State = stateEstablishing
		notes = append(notes, newEnvelope("updated", c.info.ID, "", s.setupResource(c)))
	}
	c.info.State = stateEstablished
	notes = append(notes, newEnvelope("updated", c.info.ID, "", s.setupResource(c)))
	if len(notes) == 2 && s.chance(c, quirkReorder) {
		notes[0], notes[1] = notes[1], notes[0]
	}
	if c.info.Spec.Group {
		notes = append(notes, s.rosterEnvelope(c))
	}
	if !s.cfg.PlainWire {
		// Real traffic follows established with the media state.
		notes = append(notes, newEnvelope("updated", c.info.ID, "", wireCall{ODataType: odataCall, ODataID: callPath(c.info.ID),
			State: stateEstablished, MediaState: &wireMediaState{ODataType: odataMediaState, Audio: "active"}}))
	}
	if !c.establishedOnce {
		c.establishedOnce = true
		close(c.established)
	}
	s.armTimer(c, s.cfg.KeepAliveTimeout, resultKeepAlive)
	var done <-chan struct{}
	for _, n := range notes {
		done = s.emit(c, n)
	}
	return done
}

// establish is what answer does, for an incoming call, or the callee
// picking up, for an outgoing call in establishing.
func (s *Sim) establish(id string) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	if c.info.State != stateIncoming && c.info.State != stateEstablishing {
		return nil, wrongState(c.info.State, "establish", stateIncoming, stateEstablishing)
	}
	return s.establishLocked(c), nil
}

// incomingLocked finds the incoming call id that op (answer, reject,
// redirect) acts on, and points its later notifications at callbackURI when
// one is given. s.mu is held.
func (s *Sim) incomingLocked(id, op, callbackURI string) (*call, error) {
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	if c.info.State != stateIncoming {
		return nil, wrongState(c.info.State, op, stateIncoming)
	}
	if callbackURI != "" {
		c.callback = callbackURI
	}
	return c, nil
}

// answer is Graph's answer action: only incoming calls can be answered.
func (s *Sim) answer(id, callbackURI string) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.incomingLocked(id, "answer", callbackURI)
	if err != nil {
		return nil, err
	}
	s.log.Info("call answered", "call", id)
	return s.establishLocked(c), nil
}

// reject is Graph's reject action: the call ends with a bare deleted
// notification, like the documentation's example.
func (s *Sim) reject(id, reason, callbackURI string) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.incomingLocked(id, "reject", callbackURI)
	if err != nil {
		return nil, err
	}
	c.info.RejectReason = reason
	s.finishLocked(c, nil)
	s.log.Info("call rejected", "call", id, "reason", reason)
	return s.emit(c, newEnvelope("deleted", id, "", wireCall{ODataType: odataCall, ODataID: callPath(id)})), nil
}

// redirect is Graph's redirect action: redirecting, then the call leaves
// the bot (deleted, terminated).
func (s *Sim) redirect(id string, targets []Party, callbackURI string) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.incomingLocked(id, "redirect", callbackURI)
	if err != nil {
		return nil, err
	}
	c.info.RedirectTargets = slices.Clone(targets)
	c.stopTimer() // redirecting: the incoming deadline no longer applies
	done := make(chan struct{})
	s.setStateLocked(c, stateRedirecting, nil)
	s.log.Info("call redirected", "call", id, "targets", len(targets))
	s.laterLocked(c, func(c *call) {
		s.finishLocked(c, nil)
		end := s.emit(c, newEnvelope("deleted", c.info.ID, "", s.fullResource(c)))
		go func() { <-end; close(done) }()
	})
	return done, nil
}

// hangUp is Graph's DELETE: terminating, then deleted with 200/5001.
func (s *Sim) hangUp(id string) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	s.setStateLocked(c, stateTerminating, nil)
	s.log.Info("call hung up by the bot", "call", id)
	return s.endLocked(c, resultHungUpByBot), nil
}

// keepAlive is Graph's keepAlive action: it restarts an established call's
// keep-alive deadline.
func (s *Sim) keepAlive(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return err
	}
	c.info.KeepAlives++
	if c.establishedOnce {
		s.armTimer(c, s.cfg.KeepAliveTimeout, resultKeepAlive)
	}
	return nil
}

// hold puts an established call on hold (on) or takes it back (off).
func (s *Sim) hold(id string, on bool) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	from, to := stateEstablished, stateHold
	if !on {
		from, to = stateHold, stateEstablished
	}
	if c.info.State != from {
		return nil, wrongState(c.info.State, "hold", from)
	}
	return s.setStateLocked(c, to, nil), nil
}

// transfer plays a transfer of an established call: transferring, then
// transferAccepted and deleted with 0/7015, or, if it fails, back to
// established with failure as resultInfo.
func (s *Sim) transfer(id string, succeed bool, failure Result) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	if c.info.State != stateEstablished {
		return nil, wrongState(c.info.State, "transfer", stateEstablished)
	}
	s.setStateLocked(c, stateTransferring, nil)
	if !succeed {
		return s.failTransferLocked(c, failure), nil
	}
	s.setStateLocked(c, stateTransferAccepted, nil)
	return s.completeTransferLocked(c), nil
}

// remoteHangUp ends a live call in any state with r, as when the other side
// leaves or the platform fails.
func (s *Sim) remoteHangUp(id string, r Result) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	s.log.Info("call ended remotely", "call", id, "code", r.Code, "subcode", r.Subcode)
	return s.endLocked(c, r), nil
}

// changeRoster makes leave members of an established group call leave and
// join join it, and notifies the new roster.
func (s *Sim) changeRoster(id string, join []Party, leave int) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	if !c.info.Spec.Group || !c.establishedOnce {
		return nil, wrongState(c.info.State, "a roster change", "an established group call")
	}
	c.roster = c.roster[:len(c.roster)-min(leave, len(c.roster))]
	for _, p := range join {
		c.roster = append(c.roster, c.newMember(p))
	}
	s.syncRosterLocked(c)
	return s.emit(c, s.rosterEnvelope(c)), nil
}

// setStateLocked moves c to state and notifies it, with r as resultInfo if set.
func (s *Sim) setStateLocked(c *call, state string, r *Result) <-chan struct{} {
	c.info.State = state
	return s.emit(c, newEnvelope("updated", c.info.ID, "", s.stateResource(c, r)))
}

// endLocked ends c with r and notifies deleted(terminated, r).
func (s *Sim) endLocked(c *call, r Result) <-chan struct{} {
	s.finishLocked(c, &r)
	return s.emit(c, newEnvelope("deleted", c.info.ID, "", s.stateResource(c, &r)))
}

// finishLocked marks c terminated, with r as its result (nil for none).
func (s *Sim) finishLocked(c *call, r *Result) {
	c.stopTimer()
	c.info.State = stateTerminated
	c.info.Result = r
	c.info.EndedAt = time.Now()
	close(c.ended)
}

// fullResource is the whole call resource, as created notifications, the
// establishing/established updates and GET carry it. It leaves resultInfo
// out: its encoding depends on who reads it.
func (s *Sim) fullResource(c *call) wireCall {
	spec := c.info.Spec
	src := participantInfo(odataParticipantInfo, spec.Source)
	w := wireCall{
		ODataType:           odataCall,
		ODataID:             callPath(c.info.ID),
		ID:                  c.info.ID,
		State:               c.info.State,
		Direction:           c.info.Direction,
		CallbackURI:         c.callback,
		Source:              &src,
		RequestedModalities: spec.Modalities,
		Subject:             spec.Subject,
		CallChainID:         spec.ChainID,
		MyParticipantID:     c.info.MyParticipantID,
		TenantID:            s.cfg.TenantID,
	}
	for _, t := range spec.Targets {
		w.Targets = append(w.Targets, participantInfo(odataInvitationInfo, t))
	}
	if spec.Group {
		w.ChatInfo = &wireChatInfo{ODataType: odataChatInfo, ThreadID: "19:meeting_" + spec.ChainID + "@thread.v2", MessageID: "0"}
	}
	if spec.MeetingID != "" {
		w.MeetingInfo = &wireMeetingInfo{ODataType: odataJoinMeetingIDMtg, JoinMeetingID: spec.MeetingID}
	}
	return w
}

// stateResource is the short call resource of state changes: its state,
// and resultInfo r if set.
func (s *Sim) stateResource(c *call, r *Result) wireCall {
	w := wireCall{ODataType: odataCall, ODataID: callPath(c.info.ID), State: c.info.State}
	if r != nil {
		w.ResultInfo = s.encodeResult(c, *r)
	}
	return w
}

// rosterEnvelope is the participants notification of c: the bot, then its roster.
func (s *Sim) rosterEnvelope(c *call) envelope {
	bot := member{party: s.bot, participantID: c.info.MyParticipantID, sourceID: "0", muted: c.botMuted, recording: c.botRecording}
	roster := []wireParticipant{wireParticipantOf(bot)}
	for _, m := range c.roster {
		roster = append(roster, wireParticipantOf(m))
	}
	return newEnvelope("updated", c.info.ID, "/participants", roster)
}

// encodeResult chooses how a notification of c writes r.
func (s *Sim) encodeResult(c *call, r Result) *wireResult {
	if s.cfg.PlainWire {
		return &wireResult{Result: r, asStrings: true}
	}
	return &wireResult{
		Result:       r,
		asStrings:    s.chance(c, quirkStrings),
		camelSubCode: s.chance(c, quirkSubCode),
		diag:         s.chance(c, quirkDiag),
	}
}

// chance draws a quirk of probability p from c's stream; never with PlainWire.
func (s *Sim) chance(c *call, p float64) bool {
	return !s.cfg.PlainWire && c.rng.Float64() < p
}

// muteMember makes one unmuted member of an established group call mute
// themselves, and notifies the roster.
func (s *Sim) muteMember(id string) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	if !c.info.Spec.Group || !c.establishedOnce {
		return nil, wrongState(c.info.State, "a mute", "an established group call")
	}
	for i := range c.roster {
		if !c.roster[i].muted {
			c.roster[i].muted = true
			s.syncRosterLocked(c)
			return s.emit(c, s.rosterEnvelope(c)), nil
		}
	}
	return nil, wrongState(c.info.State, "a mute", "a group call with someone unmuted")
}

// pressTone makes the other side of an established call press key.
func (s *Sim) pressTone(id, key string) (<-chan struct{}, error) {
	tone, ok := toneOf(key)
	if !ok {
		return nil, badRequest("'%s' is not a DTMF key", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	if c.info.State != stateEstablished && c.info.State != stateHold {
		return nil, wrongState(c.info.State, "a tone", stateEstablished, stateHold)
	}
	return s.pressToneLocked(c, tone), nil
}
