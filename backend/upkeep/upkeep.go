// Package upkeep keeps the live list honest. Graph offers no way to list a
// bot's live calls, so the list is built from notifications alone, and a lost
// notification would leave a ghost call on every console. Upkeep heals it:
//
//   - keepAlive: answered calls are kept alive every KeepAliveEvery (Graph
//     ends a call after 45 minutes without one); a 404 ends the call. Each
//     call's rounds are shifted by a phase drawn from its id, so calls
//     answered together (a morning's rush, a replica's start) are kept
//     alive spread over the period, not all in one tick; the keepAlives
//     due in a tick start spread over the tick, KeepAliveWorkers at once.
//   - reconcile: a live call with no news for QuietAfter (an incoming call
//     past Graph's 15-second deadline sooner) is checked with GET; a 404 ends
//     it with a reason saying Switchboard reconciled it.
//   - auto-answer (demo only): incoming calls nobody acted on are answered
//     after AutoAnswerAfter.
//   - enrichment: a call whose first notification left out its parties (an
//     outgoing call's first notifications carry only its state) is read
//     with GET at once, and what Graph says is recorded (Enrich).
//   - start-up check: a replica that starts asks Graph about every call it
//     holds as live, at a bounded rate, so calls that ended while no
//     replica listened end within a minute, not when they turn quiet.
//
// Every replica runs upkeep; a lease in a key-value bucket makes sure one
// replica, not all, acts on a given call in a given round.
package upkeep

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/app/verbs"
	"switchboard/backend/eventlog"
	"switchboard/backend/graph"
	"switchboard/backend/metrics"
	"switchboard/backend/notify"
)

// LeaseBucket is the key-value bucket of upkeep's leases.
const LeaseBucket = "SWITCHBOARD_LEASES"

// Actor is the name upkeep's own actions are recorded under.
const Actor = "switchboard"

// Graph is the part of the Graph client upkeep uses.
type Graph interface {
	KeepAlive(ctx context.Context, callID string) error
	Get(ctx context.Context, callID string) (json.RawMessage, error)
	Answer(ctx context.Context, callID string, modalities []string) error
}

// View lists the live calls: all at once (Live, for the start-up check),
// or a chunk at a time (EachLive, for the rounds: fn must not keep the
// chunk).
type View interface {
	Live(states ...calls.State) []calls.Call
	EachLive(fn func(chunk []calls.Call))
}

// Appender stores events.
type Appender interface {
	Append(ctx context.Context, entries []eventlog.Entry) (int, error)
}

// Options tune upkeep. Zero values take the defaults.
type Options struct {
	// Tick is how often calls are looked at (default 15s, or a fifth of
	// AutoAnswerAfter when auto-answer is on).
	Tick time.Duration
	// KeepAliveEvery is the keepAlive period (default 15 minutes).
	KeepAliveEvery time.Duration
	// QuietAfter is how long a live call may go without news before it is
	// checked with Graph (default 10 minutes).
	QuietAfter time.Duration
	// IncomingGrace is how long after Graph's 15-second deadline an incoming
	// call with no news is checked (default 15s).
	IncomingGrace time.Duration
	// AutoAnswerAfter answers incoming calls nobody acted on after this
	// long; zero (the default outside the demo) never answers.
	AutoAnswerAfter time.Duration
	// KeepAliveWorkers bounds the keepAlives in flight at once (default
	// 8). With 50,000 live calls some 55 come due each second, and Graph
	// takes its time to answer each: one at a time would fall behind.
	KeepAliveWorkers int
	// EnrichWorkers bounds the reads of new calls made at once (default 4);
	// EnrichQueue bounds the calls waiting (default 1024; more are left to
	// the quiet check); EnrichBudget bounds the time one read may take,
	// retries included (default 30s).
	EnrichWorkers int
	EnrichQueue   int
	EnrichBudget  time.Duration
	// StartupRate is how many live calls a starting replica checks with
	// Graph per second (default 25), StartupWorkers how many at once
	// (default 4). Negative StartupRate turns the start-up check off.
	StartupRate    float64
	StartupWorkers int
	Now            func() time.Time
	Metrics        *metrics.Metrics
	Logger         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Tick <= 0 {
		o.Tick = 15 * time.Second
		if o.AutoAnswerAfter > 0 {
			// Auto-answer must beat Graph's 15-second deadline.
			o.Tick = max(o.AutoAnswerAfter/5, 200*time.Millisecond)
		}
	}
	if o.KeepAliveEvery <= 0 {
		o.KeepAliveEvery = 15 * time.Minute
	}
	if o.QuietAfter <= 0 {
		o.QuietAfter = 10 * time.Minute
	}
	if o.IncomingGrace <= 0 {
		o.IncomingGrace = 15 * time.Second
	}
	if o.KeepAliveWorkers <= 0 {
		o.KeepAliveWorkers = 8
	}
	if o.EnrichWorkers <= 0 {
		o.EnrichWorkers = 4
	}
	if o.EnrichQueue <= 0 {
		o.EnrichQueue = 1024
	}
	if o.EnrichBudget <= 0 {
		o.EnrichBudget = 30 * time.Second
	}
	if o.StartupRate == 0 {
		o.StartupRate = 25
	}
	if o.StartupWorkers <= 0 {
		o.StartupWorkers = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Keeper runs upkeep.
type Keeper struct {
	graph  Graph
	view   View
	log    Appender
	leases jetstream.KeyValue
	opts   Options
	// enrich holds the ids of new calls to read, for Run's workers.
	enrich chan string
	// asked remembers, per action and call, the last round this replica
	// asked a lease for, won or lost: a call is asked about once a round,
	// not on every tick. With tens of thousands of live calls, asking
	// again each tick was that many key-value writes every few seconds,
	// refused, that delayed the notifications stored beside them.
	askedMu sync.Mutex
	asked   map[leaseName]int64
	// live is the ids of the calls the last round found live, kept from
	// one round to the next (Round runs on one goroutine at a time).
	live map[string]struct{}
}

// leaseName is what a lease is for, apart from its round.
type leaseName struct{ what, callID string }

// New binds (creating if needed) the lease bucket and returns a Keeper.
func New(ctx context.Context, js jetstream.JetStream, replicas int, g Graph, v View, log Appender, opts Options) (*Keeper, error) {
	opts = opts.withDefaults()
	ttl := 2 * max(opts.KeepAliveEvery, opts.QuietAfter, opts.AutoAnswerAfter, time.Minute)
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      LeaseBucket,
		Description: "Switchboard: which replica acts on which call in which round",
		TTL:         ttl,
		Replicas:    max(replicas, 1),
		Storage:     jetstream.FileStorage,
		MaxBytes:    64 << 20, // leases are tiny and live one round
	})
	if err != nil {
		return nil, fmt.Errorf("upkeep: lease bucket: %w", err)
	}
	return &Keeper{graph: g, view: v, log: log, leases: kv, opts: opts, enrich: make(chan string, opts.EnrichQueue),
		asked: make(map[leaseName]int64)}, nil
}

// Run checks the live calls once the view has caught up, reads new calls
// as Enrich queues them, and looks after the calls every Tick, until ctx
// ends.
func (k *Keeper) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for range k.opts.EnrichWorkers {
		wg.Go(func() { k.enrichLoop(ctx) })
	}
	wg.Go(func() { k.Startup(ctx) })
	t := time.NewTicker(k.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			k.Round(ctx)
		}
	}
}

// Round does one pass over the live calls. What is due at once (an
// auto-answer, a quiet call's check) is done as the pass meets it; the
// keepAlives due are then spread over the tick (see keepAlives), and Round
// returns when they are done.
func (k *Keeper) Round(ctx context.Context) {
	now := k.opts.Now()
	if k.live == nil {
		k.live = make(map[string]struct{})
	}
	clear(k.live)
	var due []dueKeepAlive
	k.view.EachLive(func(chunk []calls.Call) {
		for _, c := range chunk {
			k.live[c.ID] = struct{}{}
			if ctx.Err() != nil {
				continue
			}
			switch {
			case k.opts.AutoAnswerAfter > 0 && c.State == calls.Incoming && c.LastAction == nil && now.Sub(c.StartedAt) >= k.opts.AutoAnswerAfter:
				k.autoAnswer(ctx, c)
			case k.quiet(c, now):
				k.reconcile(ctx, c, now)
			case !c.AnsweredAt.IsZero() && c.State != calls.Terminating:
				if r, began := k.keepAliveRound(c.ID, now); c.AnsweredAt.Before(began) {
					due = append(due, dueKeepAlive{c, r})
				}
			}
		}
	})
	if ctx.Err() != nil {
		return
	}
	k.forgetEnded()
	k.keepAlives(ctx, due)
}

// dueKeepAlive is a call due for a keepAlive, in its keepAlive round.
type dueKeepAlive struct {
	call  calls.Call
	round int64
}

// keepAlives keeps the due calls alive, KeepAliveWorkers at once, their
// starts spread evenly over three quarters of a tick. A tick's keepAlives
// each record an action, which every console is sent: 50,000 live calls
// bring some 800 a tick, which all at once held every other change up.
// Spread, and with Graph answering in its own time, they are a steady
// trickle. A call that ended while its keepAlive waited is left alone.
func (k *Keeper) keepAlives(ctx context.Context, due []dueKeepAlive) {
	if len(due) == 0 {
		return
	}
	gap := k.opts.Tick * 3 / 4 / time.Duration(len(due))
	paced(ctx, due, gap, k.opts.KeepAliveWorkers, func(d dueKeepAlive) {
		if c, live := k.stillLive(d.call); live {
			k.keepAlive(ctx, c, d.round)
		}
	})
}

// paced calls do with each item, starting them gap apart, workers at once
// at most, until ctx ends, and returns when every one it started is done:
// how upkeep spreads what it asks of Graph (a tick's keepAlives, the
// start-up check).
func paced[T any](ctx context.Context, items []T, gap time.Duration, workers int, do func(T)) {
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	next := time.Now()
	for _, it := range items {
		if wait := time.Until(next); wait > 0 {
			t.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		next = next.Add(gap)
		select {
		case <-ctx.Done():
			return
		case sem <- struct{}{}:
		}
		wg.Go(func() {
			defer func() { <-sem }()
			do(it)
		})
	}
}

// getter is a view that can read one call as it is now.
type getter interface {
	Get(id string) (calls.Call, bool)
}

// stillLive reads c again from a view that can: a call may end in the
// moments its keepAlive waited, and Graph's 404 then must not end it twice.
func (k *Keeper) stillLive(c calls.Call) (calls.Call, bool) {
	g, ok := k.view.(getter)
	if !ok {
		return c, true
	}
	now, ok := g.Get(c.ID)
	return now, ok && !now.Ended() && now.State != calls.Terminating
}

// quiet reports whether c had no news for long enough to ask Graph.
func (k *Keeper) quiet(c calls.Call, now time.Time) bool {
	if c.State == calls.Incoming {
		return now.Sub(c.UpdatedAt) >= calls.IncomingDeadline+k.opts.IncomingGrace
	}
	return now.Sub(c.UpdatedAt) >= k.opts.QuietAfter
}

// lease reports whether this replica won the right to do what on c in
// round. A lease already asked for in this round, won or lost, is not
// asked for again; one whose asking failed (NATS away) is, next tick.
func (k *Keeper) lease(ctx context.Context, what, callID string, round int64) bool {
	name := leaseName{what, callID}
	k.askedMu.Lock()
	last, seen := k.asked[name]
	k.askedMu.Unlock()
	if seen && last == round {
		return false
	}
	key := what + "." + base64.RawURLEncoding.EncodeToString([]byte(callID)) + "." + strconv.FormatInt(round, 10)
	_, err := k.leases.Create(ctx, key, []byte("1"))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		k.opts.Logger.Warn("upkeep: lease", "key", key, "err", err)
		return false
	}
	k.askedMu.Lock()
	k.asked[name] = round
	k.askedMu.Unlock()
	return err == nil
}

// forgetEnded drops what asked remembers of calls the last round did not
// find live.
func (k *Keeper) forgetEnded() {
	k.askedMu.Lock()
	defer k.askedMu.Unlock()
	for name := range k.asked {
		if _, ok := k.live[name.callID]; !ok {
			delete(k.asked, name)
		}
	}
}

func round(now time.Time, every time.Duration) int64 { return now.UnixNano() / int64(every) }

// keepAliveRound is the keepAlive round of call id that now falls in, and
// when that round began. Rounds are KeepAliveEvery long and shifted, per
// call, by a phase in [0, KeepAliveEvery) drawn from the id: every replica
// computes the same rounds, and calls answered in the same minute come due
// at times spread over the whole period. A call is kept alive once in each
// round that began after it was answered, so the first keepAlive comes at
// most one period after the answer and the next ones a period apart, well
// inside Graph's 45 minutes.
func (k *Keeper) keepAliveRound(id string, now time.Time) (n int64, began time.Time) {
	every := int64(k.opts.KeepAliveEvery)
	h := fnv.New64a()
	h.Write([]byte(id))
	phase := int64(h.Sum64() % uint64(every))
	n = (now.UnixNano() - phase) / every
	return n, time.Unix(0, n*every+phase)
}

// keepAlive keeps c alive in its keepAlive round n, if this replica wins
// the round's lease.
func (k *Keeper) keepAlive(ctx context.Context, c calls.Call, n int64) {
	if !k.lease(ctx, "keepalive", c.ID, n) {
		return
	}
	err := k.graph.KeepAlive(ctx, c.ID)
	if graph.IsNotFound(err) {
		k.end(ctx, c, "keepAlive")
		return
	}
	k.recordAction(ctx, c.ID, calls.Action{Verb: verbs.KeepAlive, Status: 200}, err)
}

func (k *Keeper) autoAnswer(ctx context.Context, c calls.Call) {
	if !k.lease(ctx, "answer", c.ID, 0) {
		return
	}
	err := k.graph.Answer(ctx, c.ID, []string{"audio"})
	k.recordAction(ctx, c.ID, calls.Action{Verb: verbs.Answer, Status: 202}, err)
}

func (k *Keeper) reconcile(ctx context.Context, c calls.Call, now time.Time) {
	if !k.lease(ctx, "reconcile", c.ID, round(now, k.opts.QuietAfter)) {
		return
	}
	k.check(ctx, c, true)
}

// check asks Graph about c: a 404 ends it as a ghost; otherwise what Graph
// says is recorded as a reconciled event, unless always is false and it
// tells nothing the call does not show already (a start-up check of a call
// that is fine leaves no trace).
func (k *Keeper) check(ctx context.Context, c calls.Call, always bool) {
	body, err := k.graph.Get(ctx, c.ID)
	switch {
	case graph.IsNotFound(err):
		k.end(ctx, c, "GET")
	case err != nil:
		k.opts.Logger.Warn("upkeep: reconcile", "call", c.ID, "err", err)
	default:
		ch, err := notify.DecodeCall(body)
		if err != nil {
			k.opts.Logger.Warn("upkeep: reconcile: Graph's call resource", "call", c.ID, "err", err)
			return
		}
		ch.ChangeType = "updated"
		ev := calls.Event{Kind: calls.KindReconciled, CallID: c.ID, At: k.opts.Now().UTC(), Change: &ch}
		if _, changed := calls.Apply(c, c.Seq+1, ev); !changed && !always {
			return
		}
		k.append(ctx, ev)
	}
}

// ReconciledMessage is the resultInfo message of a call Switchboard ended
// because Graph answered 404 for it.
const ReconciledMessage = "Graph no longer knows this call; Switchboard ended it (reconciled)"

// end records that Graph no longer knows c.
func (k *Keeper) end(ctx context.Context, c calls.Call, via string) {
	k.opts.Metrics.Reconcile()
	k.opts.Logger.Info("upkeep: ghost call ended", "call", c.ID, "state", c.State, "via", via)
	ch := calls.Change{ChangeType: "deleted", Resource: calls.ResourceCall, State: calls.Terminated,
		Result: &calls.Result{Code: 404, Subcode: 8522, Message: ReconciledMessage}}
	k.append(ctx, calls.Event{Kind: calls.KindReconciled, CallID: c.ID, At: k.opts.Now().UTC(), Change: &ch})
}

func (k *Keeper) recordAction(ctx context.Context, callID string, act calls.Action, err error) {
	act.Actor, act.At = Actor, k.opts.Now().UTC()
	outcome := "ok"
	if err != nil {
		act.Error = err.Error()
		var ge *graph.Error
		if errors.As(err, &ge) {
			act.Status = ge.Status
		} else {
			act.Status = 0
		}
		outcome = "failed"
		k.opts.Logger.Warn("upkeep: action failed", "call", callID, "verb", act.Verb, "err", err)
	}
	k.opts.Metrics.Action(string(act.Verb), outcome)
	k.append(ctx, calls.Event{Kind: calls.KindAction, CallID: callID, At: act.At, Action: &act})
}

func (k *Keeper) append(ctx context.Context, ev calls.Event) {
	if _, err := k.log.Append(ctx, []eventlog.Entry{{Event: ev}}); err != nil {
		k.opts.Logger.Error("upkeep: record event", "call", ev.CallID, "kind", ev.Kind, "err", err)
		return
	}
	k.opts.Metrics.Event(string(ev.Kind))
}
