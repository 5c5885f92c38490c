package graphsim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Run generates traffic until ctx ends or the Sim is closed: new calls
// arrive at Config.Rate per minute (Poisson arrivals), and each plays a
// script drawn from Config.Seed. Incoming calls wait for the bot to answer
// them; once established a call lives from tens of seconds to a few
// minutes, may go on hold or be transferred, and ends by remote hang-up or
// failure. At 10 calls a minute the bot sees 10 to 30 live calls.
//
// Run returns nil when ctx ends, after the scripts it started have stopped
// (the calls themselves stay as they are). Only one Run may be active; a
// later Run goes on with the sequence where the previous one stopped.
func (s *Sim) Run(ctx context.Context) error {
	g, err := s.startRun()
	if err != nil {
		return err
	}
	defer s.endRun()

	var scripts sync.WaitGroup
	defer scripts.Wait() // deferred first, so it runs after cancel
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel)
	defer stop()

	if s.cfg.Rate == 0 {
		<-ctx.Done()
		return nil
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		p := g.next()
		timer.Reset(p.Gap)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		scripts.Add(1)
		go func() {
			defer scripts.Done()
			s.play(ctx, p)
		}()
	}
}

// startRun marks Run active and returns the Sim's generator.
func (s *Sim) startRun() (*generator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || s.closed {
		return nil, errors.New("graphsim: Run is already active, or the simulator is closed")
	}
	s.running = true
	if s.gen == nil {
		s.gen = newGenerator(s.cfg.Seed, s.cfg.Rate, s.bot)
		s.gen.salt = s.cfg.IDSalt
	}
	return s.gen, nil
}

func (s *Sim) endRun() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
}

// play runs one planned call until its script ends, the call ends some
// other way (the bot hung up, rejected it, or never answered), or ctx ends.
func (s *Sim) play(ctx context.Context, p plan) {
	var id string
	var err error
	switch {
	case !p.Outgoing:
		id, _, err = s.startIncoming(p.Spec)
	case p.SetupFailure != nil:
		id, _, err = s.startOutgoing(p.Spec, false)
	default:
		id, _, err = s.startOutgoing(p.Spec, true)
	}
	if err != nil {
		s.log.Warn("generated call not started", "call", p.Spec.ID, "error", err)
		return
	}
	established, ended, ok := s.watch(id)
	if !ok {
		return
	}
	if p.SetupFailure != nil {
		if sleep(ctx, ended, p.SetupTime) {
			s.remoteHangUp(id, *p.SetupFailure)
		}
		return
	}
	select {
	case <-established:
	case <-ended:
		return
	case <-ctx.Done():
		return
	}
	for _, st := range p.Steps {
		if !sleep(ctx, ended, st.After) {
			return
		}
		err := s.playStep(id, st)
		switch {
		case errors.Is(err, ErrInvalidCallState):
			// The bot changed the call meanwhile; the rest of the script,
			// its end above all, still applies.
			s.log.Debug("script step skipped", "call", id, "error", err)
		case err != nil:
			s.log.Debug("script stopped", "call", id, "error", err)
			return
		}
	}
}

// watch returns the channels of call id that close when it is first
// established and when it ends.
func (s *Sim) watch(id string) (established, ended <-chan struct{}, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[id]
	if !ok {
		return nil, nil, false
	}
	return c.established, c.ended, true
}

// sleep waits d and reports whether the script may go on: false if the call
// ended or ctx ended meanwhile.
func sleep(ctx context.Context, ended <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ended:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s *Sim) playStep(id string, st step) error {
	var err error
	switch st.Kind {
	case stepHold:
		_, err = s.hold(id, true)
	case stepResume:
		_, err = s.hold(id, false)
	case stepTransfer:
		_, err = s.transfer(id, st.Succeed, st.Result)
	case stepRoster:
		_, err = s.changeRoster(id, st.Join, st.Leave)
	case stepHangUp:
		_, err = s.remoteHangUp(id, st.Result)
	case stepTone:
		_, err = s.pressTone(id, st.Key)
	case stepMute:
		_, err = s.muteMember(id)
	default:
		err = fmt.Errorf("unknown step kind %d", st.Kind)
	}
	return err
}

// plan is one generated call: when it arrives, what it is, and its script.
type plan struct {
	// Gap is the wait since the previous call arrived.
	Gap      time.Duration
	Outgoing bool
	Spec     CallSpec
	// SetupFailure, for an outgoing call, makes it fail while establishing,
	// after SetupTime, with this result instead of being picked up.
	SetupFailure *Result
	SetupTime    time.Duration
	// Steps is the script of the call once established.
	Steps []step
}

type stepKind int

// The steps of a script.
const (
	stepHold     stepKind = iota // established -> hold
	stepResume                   // hold -> established
	stepTransfer                 // transfer, succeeding or failing
	stepRoster                   // group call roster change
	stepHangUp                   // the call ends remotely
	stepTone                     // the caller presses a key
	stepMute                     // a member of a group call mutes themselves
)

// step is one event of a script.
type step struct {
	// After is the wait since the previous step (or since establishment).
	After   time.Duration
	Kind    stepKind
	Succeed bool          // stepTransfer
	Result  Result        // stepHangUp: why it ends; stepTransfer: why it fails
	Join    []Party       // stepRoster
	Leave   int           // stepRoster
	Key     string        // stepTone
	at      time.Duration // offset since establishment, while building
}

// generator draws plans from a seeded PCG. It reads no clock, so the same
// seed gives the same plans however fast they are consumed.
type generator struct {
	rng    *mrand.Rand
	rate   float64 // calls per minute
	bot    Party
	people []Party // Teams users who call and are called
	phones []Party // PSTN callers
	salt   uint64  // mixed into call and chain ids (Config.IDSalt)
}

// Shape of generated calls.
const (
	minLife     = 20 * time.Second
	meanExtra   = 100 * time.Second // life is minLife + Exp(meanExtra)
	maxLife     = 8 * time.Minute
	poolPeople  = 40
	poolPhones  = 30
	maxRosterUp = 4
)

func newGenerator(seed int64, rate float64, bot Party) *generator {
	g := &generator{rng: mrand.New(mrand.NewPCG(uint64(seed), streamTraffic)), rate: rate, bot: bot}
	for i := range poolPeople {
		first, last := firstNames[i%len(firstNames)], lastNames[(i*7+3)%len(lastNames)]
		g.people = append(g.people, Party{Kind: PartyUser, ID: drawUUID(g.rng), DisplayName: first + " " + last})
	}
	for range poolPhones {
		// 555-01xx numbers are reserved for fiction in the North American plan.
		area := areaCodes[g.rng.IntN(len(areaCodes))]
		g.phones = append(g.phones, Party{Kind: PartyPhone, ID: fmt.Sprintf("+1%d55501%02d", area, g.rng.IntN(100))})
	}
	return g
}

var (
	firstNames = []string{"Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni",
		"Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep"}
	lastNames = []string{"Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lorenz",
		"Sherman", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta", "Kim"}
	areaCodes = []int{206, 312, 415, 425, 512, 617, 646, 720}
	subjects  = []string{"Weekly sync", "Customer escalation", "Release review", "Support huddle",
		"Quarterly planning", "Incident bridge", "Onboarding", "Sales pipeline"}
)

// next draws the next call.
func (g *generator) next() plan {
	p := plan{Gap: time.Duration(g.rng.ExpFloat64() * float64(time.Minute) / g.rate)}
	switch r := g.rng.Float64(); {
	case r < 0.35:
		p.Spec = g.spec(g.pick(g.phones), nil)
		p.Steps = g.script(endsPSTN)
	case r < 0.70:
		p.Spec = g.spec(g.pick(g.people), nil)
		if g.rng.Float64() < 0.3 {
			p.Spec.Modalities = []string{"audio", "video"}
		}
		p.Steps = g.script(endsPeer)
	case r < 0.85:
		p.Spec = g.groupSpec()
		p.Steps = g.groupScript()
	default:
		p = g.outgoing(p)
	}
	return p
}

func (g *generator) pick(pool []Party) Party { return pool[g.rng.IntN(len(pool))] }

// spec is a one-to-one call from source to targets (nil: the bot).
func (g *generator) spec(source Party, targets []Party) CallSpec {
	if targets == nil {
		targets = []Party{g.bot}
	}
	return CallSpec{
		ID: drawSaltedUUID(g.rng, g.salt), ChainID: drawSaltedUUID(g.rng, g.salt),
		Source: source, Targets: targets, Modalities: []string{"audio"},
	}
}

func (g *generator) groupSpec() CallSpec {
	s := g.spec(g.pick(g.people), nil)
	s.Group = true
	s.Modalities = []string{"audio", "video", "videoBasedScreenSharing"}
	s.Participants = []Party{s.Source}
	for range 1 + g.rng.IntN(3) {
		s.Participants = append(s.Participants, g.pick(g.people))
	}
	if g.rng.Float64() < 0.7 {
		s.MeetingID = fmt.Sprintf("%d", 100_000_000_000+g.rng.Int64N(900_000_000_000))
		s.Subject = subjects[g.rng.IntN(len(subjects))]
	}
	return s
}

// outgoing draws an outgoing call: mostly picked up, sometimes failing
// while establishing (no endpoint, unreachable, routing, bot join failure).
func (g *generator) outgoing(p plan) plan {
	p.Outgoing = true
	callee := g.pick(g.people)
	if g.rng.Float64() < 0.4 {
		callee = g.pick(g.phones)
	}
	p.Spec = g.spec(g.bot, []Party{callee})
	if g.rng.Float64() < 0.15 {
		k := weighted(g.rng, setupFailures)
		r := reasonResult(k.code, k.subcode)
		p.SetupFailure = &r
		p.SetupTime = time.Duration(2+g.rng.IntN(20)) * time.Second
		return p
	}
	ends := endsPeer
	if callee.Kind == PartyPhone {
		ends = endsPSTN
	}
	p.Steps = g.script(ends)
	return p
}

// life draws how long an established call lasts.
func (g *generator) life() time.Duration {
	d := minLife + time.Duration(g.rng.ExpFloat64()*float64(meanExtra))
	return min(d, maxLife).Round(time.Millisecond)
}

// script draws a one-to-one call's life: maybe a hold, maybe a transfer,
// then the end, unless a transfer ended it first.
func (g *generator) script(ends []weightedReason) []step {
	life := g.life()
	var steps []step
	var free time.Duration // when the call is off hold again
	if g.rng.Float64() < 0.2 {
		at := g.within(life, 0.1, 0.6)
		back := at + time.Duration(5+g.rng.IntN(26))*time.Second
		if back < life {
			steps = append(steps, step{Kind: stepHold, at: at}, step{Kind: stepResume, at: back})
			free = back
		}
	}
	if ends[0] == endsPSTN[0] && g.rng.Float64() < 0.35 {
		// A caller finding their way through the bot's menu.
		for range 1 + g.rng.IntN(3) {
			key := string("0123456789*#"[g.rng.IntN(12)])
			steps = append(steps, step{Kind: stepTone, Key: key, at: g.within(life, 0.02, 0.3)})
		}
	}
	if g.rng.Float64() < 0.08 {
		at := max(g.within(life, 0.65, 0.95), free+time.Second)
		if at >= life {
			at = (free + life) / 2
		}
		if g.rng.Float64() < 0.65 {
			steps = append(steps, step{Kind: stepTransfer, Succeed: true, at: at})
			return relative(steps)
		}
		fail := reasonResult(500, []int{7000, 7700}[g.rng.IntN(2)])
		steps = append(steps, step{Kind: stepTransfer, Result: fail, at: at})
	}
	k := weighted(g.rng, ends)
	steps = append(steps, step{Kind: stepHangUp, Result: reasonResult(k.code, k.subcode), at: life})
	return relative(steps)
}

// groupScript draws a group call's life: people join and leave, then it ends.
func (g *generator) groupScript() []step {
	life := g.life()
	var steps []step
	if g.rng.Float64() < 0.4 {
		steps = append(steps, step{Kind: stepMute, at: g.within(life, 0.1, 0.8)})
	}
	for range g.rng.IntN(maxRosterUp) {
		st := step{Kind: stepRoster, at: g.within(life, 0.05, 0.9)}
		if g.rng.Float64() < 0.6 {
			st.Join = []Party{g.pick(g.people)}
		} else {
			st.Leave = 1
		}
		steps = append(steps, st)
	}
	k := weighted(g.rng, endsGroup)
	steps = append(steps, step{Kind: stepHangUp, Result: reasonResult(k.code, k.subcode), at: life})
	return relative(steps)
}

// within draws an offset between lo and hi fractions of life.
func (g *generator) within(life time.Duration, lo, hi float64) time.Duration {
	f := lo + g.rng.Float64()*(hi-lo)
	return time.Duration(f * float64(life)).Round(time.Millisecond)
}

// relative orders steps by offset and turns offsets into waits.
func relative(steps []step) []step {
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.at, b.at) })
	var prev time.Duration
	for i := range steps {
		steps[i].After = steps[i].at - prev
		prev = steps[i].at
		steps[i].at = 0
	}
	return steps
}

// weightedReason is an end reason with its relative frequency.
type weightedReason struct {
	code, subcode int
	weight        float64
}

// failures end a few percent of established calls whatever their kind.
var failures = []weightedReason{
	{410, 301005, 0.25}, {500, 1005, 0.15}, {408, 10057, 0.15},
}

var (
	endsPSTN = append([]weightedReason{
		{200, 540000, 5}, {200, 560000, 2}, {200, 4097, 1.5}, {200, 4521, 1},
	}, failures...)
	endsPeer = append([]weightedReason{
		{200, 4521, 4}, {200, 18503, 3}, {200, 4097, 3},
	}, failures...)
	endsGroup = append([]weightedReason{
		{200, 5002, 3}, {200, 5010, 2}, {200, 4097, 2}, {200, 5007, 1}, {200, 5013, 1}, {200, 5000, 0.5},
	}, failures...)
	setupFailures = []weightedReason{
		{480, 10037, 3}, {480, 10076, 3}, {480, 10134, 1}, {480, 10199, 1}, {500, 7117, 1},
	}
)

// weighted draws one reason by weight.
func weighted(rng *mrand.Rand, rs []weightedReason) weightedReason {
	var total float64
	for _, r := range rs {
		total += r.weight
	}
	x := rng.Float64() * total
	for _, r := range rs {
		if x < r.weight {
			return r
		}
		x -= r.weight
	}
	return rs[len(rs)-1]
}
