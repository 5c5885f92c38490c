// Package liveview folds the event log into the live view every replica
// serves: the calls not yet ended and the recently ended ones.
//
// Each replica follows the whole log in order and applies the pure reducer
// of package calls, so all replicas hold the same view at the same sequence.
// One replica at a time (the holder of the log's writer lease) saves the
// view in the log's state bucket, a few times a second, so a restart loads
// it and replays only the events that came after. Every change is handed to
// the feed hub in sequence order.
//
// A view never gives up: loading retries until NATS answers, following
// recovers from lost consumers and outages by itself, and a save that fails
// is tried again with the next one. Only the end of its context ends Run.
package liveview

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/eventlog"
	"switchboard/backend/metrics"
)

// Publisher receives the changes each applied event produced.
type Publisher interface {
	// Reset says the view was loaded at base: changes after it follow.
	Reset(base uint64)
	// Publish hands over the changes of the event at seq, in order.
	Publish(seq uint64, msgs []feedwire.Message)
	// CaughtUp says the view holds everything the log held when it
	// started: from now on it may be served.
	CaughtUp()
}

// Archiver keeps ended calls beyond the view's history (package archive).
type Archiver interface {
	Put(ctx context.Context, c calls.Call) error
	Delete(ctx context.Context, callID string) error
}

// Options tune the view. Zero values take the defaults.
type Options struct {
	// Archive, if set, receives every call that ended (and loses every
	// call erased), from the replica that saves the view.
	Archive Archiver
	// History is how long ended calls stay in the view (default 1 hour).
	History time.Duration
	// MaxEnded caps the ended calls kept (default 5,000), newest kept.
	MaxEnded int
	// Owner names this replica in the writer lease (default a random name).
	Owner string
	// SaveEvery is how often the writer saves what changed (default 250ms).
	SaveEvery time.Duration
	// OnCallStarted, if set, is called (on its own goroutine) for every call
	// the view sees for the first time after it caught up with the log.
	OnCallStarted func(ctx context.Context, c calls.Call)
	// OnMarkedEnded, if set, is called (on its own goroutine) when a call
	// marked for deletion ends, to erase it.
	OnMarkedEnded func(ctx context.Context, callID string)
	Now           func() time.Time
	Metrics       *metrics.Metrics
	Logger        *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.History <= 0 {
		o.History = time.Hour
	}
	if o.MaxEnded <= 0 {
		o.MaxEnded = 5000
	}
	if o.Owner == "" {
		o.Owner = rand.Text()
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = 250 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// View is one replica's live view.
type View struct {
	log   *eventlog.Log
	state *eventlog.State
	lease *eventlog.WriterLease
	pub   Publisher
	opts  Options

	mu    sync.RWMutex
	calls map[string]calls.Call
	live  int // calls not ended
	// alerts counts the alerts the calls hold, kept as calls change so
	// that /metrics reads it without walking the view.
	alerts int
	seq    uint64
	// version counts the view's changes (events applied, calls pruned);
	// snap caches the sorted list of one version.
	version uint64
	snap    struct {
		version uint64
		list    []calls.Call
	}
	// shape counts the changes that move calls in a snapshot's order: a
	// call added or removed, a call ending, a start or end time changing.
	// Most events (a call put on hold and back) leave it as it is.
	shape uint64
	// snapMu serialises encoded snapshots and guards order and shared:
	// the snapshot order of the calls as of one shape (see snapshot.go),
	// and the last snapshot, which consoles asking at its version share
	// (the kept JSON points into it, so holding it costs nothing more).
	snapMu sync.Mutex
	order  struct {
		shape uint64
		ids   []string
	}
	shared sharedSnapshot
	// encMu guards enc, each call's JSON as of one of its sequences: kept
	// fresh as events change calls, so that a snapshot joins what is
	// already encoded; a call that leaves the view leaves it. Under both
	// locks, v.mu comes first.
	encMu sync.Mutex
	enc   map[string]encodedCall
	// masked is the last snapshot for viewers' consoles (masked.go).
	masked maskedCache
	caught bool // replayed everything that was in the log at start
	ready  chan struct{}
	kick   chan struct{} // caught up: seek the writer lease now

	// Owned by Run's goroutine: what the writer has yet to save. dirty
	// holds, by call, the sequence of the first change not saved yet; the
	// checkpoint stays below the oldest. gone holds the calls to remove
	// from the saved state, with when they may be (see forgetAt).
	dirty    map[string]uint64
	gone     map[string]uint64
	toArch   map[string]calls.Call // ended calls to archive
	unarch   map[string]uint64     // erased calls to remove from the archive, with the erasure's sequence
	lastSave time.Time
	savedSeq uint64 // the checkpoint this replica last saved
	// saving says a save is being written (persist.go); saved brings its
	// outcome back, and saveAgain asks for a forced save after it.
	saving    bool
	saveAgain bool
	saved     chan saveResult
}

// New returns a view of log that publishes to pub.
func New(log *eventlog.Log, pub Publisher, opts Options) *View {
	opts = opts.withDefaults()
	return &View{log: log, state: log.State(), lease: log.WriterLease(opts.Owner), pub: pub, opts: opts,
		calls: make(map[string]calls.Call), ready: make(chan struct{}), kick: make(chan struct{}, 1), enc: make(map[string]encodedCall),
		dirty: make(map[string]uint64), gone: make(map[string]uint64),
		toArch: make(map[string]calls.Call), unarch: make(map[string]uint64), saved: make(chan saveResult, 1)}
}

// Ready is closed once the view has caught up with the log as it was at start.
func (v *View) Ready() <-chan struct{} { return v.ready }

// Writer reports whether this replica is the one saving the view.
func (v *View) Writer() bool { return v.lease.Held() }

// Run loads the saved state, then follows the log until ctx ends. It
// returns only then: every failure on the way is retried.
func (v *View) Run(ctx context.Context) error {
	loaded, applied, target, err := v.load(ctx)
	if err != nil {
		return nil // ctx ended
	}
	base := applied
	for _, c := range loaded {
		base = max(base, c.Seq)
	}
	v.mu.Lock()
	v.calls, v.seq = loaded, applied
	v.version++
	v.shape++
	v.encMu.Lock()
	clear(v.enc)
	v.encMu.Unlock()
	v.live, v.alerts = count(loaded)
	v.mu.Unlock()
	v.opts.Metrics.Live(v.live)
	v.pub.Reset(base)
	v.opts.Logger.Info("live view loaded", "calls", len(loaded), "checkpoint", applied, "log", target)
	if applied >= target {
		v.markCaughtUp()
	}
	idle := make(chan struct{}, 1)
	records := v.log.Follow(ctx, applied+1, eventlog.FollowOptions{
		Trouble: v.trouble,
		Idle: func() {
			select {
			case idle <- struct{}{}:
			default:
			}
		},
	})
	v.loop(ctx, records, idle, target)
	v.release()
	return nil
}

// load reads the saved state and the log's last sequence, retrying with
// backoff until both answer or ctx ends.
func (v *View) load(ctx context.Context) (map[string]calls.Call, uint64, uint64, error) {
	wait := 250 * time.Millisecond
	for {
		loaded, applied, err := v.state.Load(ctx)
		var target uint64
		if err == nil {
			target, err = v.log.LastSeq(ctx)
		}
		if err == nil {
			return loaded, applied, target, nil
		}
		v.opts.Logger.Warn("live view: waiting for the saved state and the event log", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, 0, 0, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// count counts the calls of m not ended, and the alerts they all hold.
func count(m map[string]calls.Call) (live, alerts int) {
	for _, c := range m {
		if !c.Ended() {
			live++
		}
		alerts += len(c.Alerts)
	}
	return live, alerts
}

// trouble hears the follower's recoveries.
func (v *View) trouble(err error) {
	if err == nil {
		v.opts.Logger.Info("live view: following the event log again")
		return
	}
	v.opts.Metrics.FollowError()
	v.opts.Logger.Warn("live view: lost the event log; following it again", "err", err)
}

func (v *View) markCaughtUp() {
	v.mu.Lock()
	first := !v.caught
	if first {
		v.caught = true
		close(v.ready)
	}
	v.mu.Unlock()
	if first {
		v.pub.CaughtUp()
		v.kick <- struct{}{}
	}
}

func (v *View) loop(ctx context.Context, records <-chan eventlog.Record, idle <-chan struct{}, target uint64) {
	// Ended calls leave the view within a minute of their time, or sooner
	// for a short history.
	prune := time.NewTicker(min(time.Minute, max(v.opts.History/2, 50*time.Millisecond)))
	defer prune.Stop()
	save := time.NewTicker(v.opts.SaveEvery)
	defer save.Stop()
	// The lease is renewed (or sought) three times in its life.
	leaseTick := time.NewTicker(v.lease.TTL() / 3)
	defer leaseTick.Stop()
	for {
		v.seekLease(ctx)
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			v.prune()
		case <-leaseTick.C:
			v.renewLease(ctx)
		case <-v.kick:
			v.renewLease(ctx)
		case <-save.C:
			v.save(ctx, false)
		case res := <-v.saved:
			v.finishSave(ctx, res)
			if v.saveAgain {
				v.saveAgain = false
				v.save(ctx, true)
			}
		case <-idle:
			v.markCaughtUp()
		case rec, ok := <-records:
			if !ok {
				return // ctx ended
			}
			batch := drain(rec, records, 512)
			v.applyBatch(ctx, batch)
			last := batch[len(batch)-1]
			if last.Seq >= target || last.Pending == 0 {
				v.markCaughtUp()
				v.seekLease(ctx)
			}
			v.save(ctx, false)
		}
	}
}

// seekLease seeks the writer lease when the view just caught up. It comes
// before anything else the loop does: a replica that caught up must hold
// the lease before it saves, or it forgets what it would have saved
// (archived calls included) as a replica that is not the writer does.
func (v *View) seekLease(ctx context.Context) {
	select {
	case <-v.kick:
		v.renewLease(ctx)
	default:
	}
}

// drain collects first and whatever else is already waiting, up to n.
func drain(first eventlog.Record, ch <-chan eventlog.Record, n int) []eventlog.Record {
	batch := []eventlog.Record{first}
	for len(batch) < n {
		select {
		case rec, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, rec)
		default:
			return batch
		}
	}
	return batch
}

// applyBatch folds the records in and publishes each change.
func (v *View) applyBatch(ctx context.Context, batch []eventlog.Record) {
	for _, rec := range batch {
		msgs := v.apply(ctx, rec)
		v.encode(msgs) // the feed sends the JSON the view keeps
		v.pub.Publish(rec.Seq, msgs)
	}
	v.mu.RLock()
	live := v.live
	v.mu.RUnlock()
	v.opts.Metrics.Live(live)
}

// apply folds one record and returns the feed messages it produced.
func (v *View) apply(ctx context.Context, rec eventlog.Record) []feedwire.Message {
	ev := rec.Event
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq = rec.Seq
	v.version++
	if ev.Kind == calls.KindErased {
		delete(v.dirty, ev.CallID)
		delete(v.toArch, ev.CallID)
		v.gone[ev.CallID] = forgetNow // the log holds nothing of it to replay
		v.unarch[ev.CallID] = rec.Seq
		if before, ok := v.calls[ev.CallID]; ok {
			v.removeLocked(before)
		}
		// Told even when the view no longer shows the call: the feed scrubs
		// what it kept of it, and a console that still shows it drops it.
		return []feedwire.Message{{Type: feedwire.TypeRemoved, Seq: rec.Seq, CallID: ev.CallID}}
	}
	before, existed := v.calls[ev.CallID]
	after, ok := calls.Apply(before, rec.Seq, ev)
	if !ok {
		return nil
	}
	v.calls[after.ID] = after
	v.alerts += len(after.Alerts) - len(before.Alerts) // before is zero when new
	if !existed || movesInOrder(before, after) {
		v.shape++
	}
	if !after.Ended() && (!existed || before.Ended()) {
		v.live++
	} else if after.Ended() && existed && !before.Ended() {
		v.live--
	}
	if _, ok := v.dirty[after.ID]; !ok {
		v.dirty[after.ID] = rec.Seq
	}
	delete(v.gone, after.ID)
	if after.Ended() {
		v.toArch[after.ID] = after
		delete(v.unarch, after.ID)
	}
	v.hooks(ctx, before, existed, after)
	c := after
	return []feedwire.Message{{Type: feedwire.TypeCall, Seq: rec.Seq, Call: &c}}
}

// removeLocked drops c from the view; v.mu is held.
func (v *View) removeLocked(c calls.Call) {
	delete(v.calls, c.ID)
	v.shape++
	v.encMu.Lock()
	delete(v.enc, c.ID)
	v.encMu.Unlock()
	v.alerts -= len(c.Alerts)
	if !c.Ended() {
		v.live--
	}
}

// hooks runs the callbacks a change calls for; v.mu is held.
func (v *View) hooks(ctx context.Context, before calls.Call, existed bool, after calls.Call) {
	if !existed && v.caught && v.opts.OnCallStarted != nil {
		go v.opts.OnCallStarted(ctx, after)
	}
	if after.MarkedForDeletion && after.Ended() && !(before.MarkedForDeletion && before.Ended()) && v.opts.OnMarkedEnded != nil {
		go v.opts.OnMarkedEnded(ctx, after.ID)
	}
}
