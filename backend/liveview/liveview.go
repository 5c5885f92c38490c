// Package liveview folds the event log into the live view every replica
// serves: the calls not yet ended and the recently ended ones.
//
// Each replica follows the whole log in order and applies the pure reducer
// of package calls, so all replicas hold the same view at the same sequence.
// The view is saved in the log's state bucket after every batch, so a
// restart loads it and replays only the events that came after. Every change
// is handed to the feed hub in sequence order.
package liveview

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/eventlog"
	"switchboard/backend/metrics"
)

// Publisher receives the changes each applied event produced.
type Publisher interface {
	Reset(base uint64)
	Publish(seq uint64, msgs []feedwire.Message)
}

// Options tune the view. Zero values take the defaults.
type Options struct {
	// History is how long ended calls stay in the view (default 1 hour).
	History time.Duration
	// MaxEnded caps the ended calls kept (default 5,000), newest kept.
	MaxEnded int
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
	pub   Publisher
	opts  Options

	mu     sync.RWMutex
	calls  map[string]calls.Call
	seq    uint64
	caught bool // replayed everything that was in the log at start
	ready  chan struct{}
}

// New returns a view of log that publishes to pub.
func New(log *eventlog.Log, pub Publisher, opts Options) *View {
	return &View{log: log, state: log.State(), pub: pub, opts: opts.withDefaults(),
		calls: make(map[string]calls.Call), ready: make(chan struct{})}
}

// Ready is closed once the view has caught up with the log as it was at start.
func (v *View) Ready() <-chan struct{} { return v.ready }

// Run loads the saved state, then follows the log until ctx ends.
func (v *View) Run(ctx context.Context) error {
	loaded, applied, err := v.state.Load(ctx)
	if err != nil {
		return err
	}
	base := applied
	for _, c := range loaded {
		base = max(base, c.Seq)
	}
	target, err := v.log.LastSeq(ctx)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.calls, v.seq = loaded, applied
	v.mu.Unlock()
	v.pub.Reset(base)
	v.opts.Logger.Info("live view loaded", "calls", len(loaded), "checkpoint", applied, "log", target)
	if applied >= target {
		v.markCaughtUp()
	}
	records, err := v.log.Follow(ctx, applied+1)
	if err != nil {
		return err
	}
	return v.loop(ctx, records, target)
}

func (v *View) markCaughtUp() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.caught {
		v.caught = true
		close(v.ready)
	}
}

func (v *View) loop(ctx context.Context, records <-chan eventlog.Record, target uint64) error {
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-prune.C:
			v.prune(ctx)
		case rec, ok := <-records:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("liveview: the event log stopped delivering")
			}
			batch := drain(rec, records, 512)
			if err := v.applyBatch(ctx, batch); err != nil {
				return err
			}
			if batch[len(batch)-1].Seq >= target {
				v.markCaughtUp()
			}
		}
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

// applyBatch folds the records in, publishes each change, and saves the
// changed calls and the checkpoint.
func (v *View) applyBatch(ctx context.Context, batch []eventlog.Record) error {
	changed := make(map[string]calls.Call)
	var erased []string
	for _, rec := range batch {
		msgs := v.apply(ctx, rec, changed, &erased)
		v.pub.Publish(rec.Seq, msgs)
	}
	v.opts.Metrics.Live(v.liveCount())
	for _, id := range erased {
		if err := v.state.Forget(ctx, id); err != nil {
			return err
		}
	}
	return v.state.Save(ctx, slices.Collect(maps.Values(changed)), batch[len(batch)-1].Seq)
}

// apply folds one record and returns the feed messages it produced.
func (v *View) apply(ctx context.Context, rec eventlog.Record, changed map[string]calls.Call, erased *[]string) []feedwire.Message {
	ev := rec.Event
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq = rec.Seq
	if ev.Kind == calls.KindErased {
		delete(changed, ev.CallID)
		*erased = append(*erased, ev.CallID)
		if _, ok := v.calls[ev.CallID]; !ok {
			return nil
		}
		delete(v.calls, ev.CallID)
		return []feedwire.Message{{Type: feedwire.TypeRemoved, Seq: rec.Seq, CallID: ev.CallID}}
	}
	before, existed := v.calls[ev.CallID]
	after, ok := calls.Apply(before, rec.Seq, ev)
	if !ok {
		return nil
	}
	v.calls[after.ID] = after
	changed[after.ID] = after
	v.hooks(ctx, before, existed, after)
	c := after
	return []feedwire.Message{{Type: feedwire.TypeCall, Seq: rec.Seq, Call: &c}}
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

func (v *View) liveCount() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n := 0
	for _, c := range v.calls {
		if !c.Ended() {
			n++
		}
	}
	return n
}
