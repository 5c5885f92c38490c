package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
)

// FollowOptions tune Follow. Zero values take the defaults.
type FollowOptions struct {
	// Trouble, if set, hears every error the follower recovered from (a
	// consumer lost with its node, NATS unreachable), and nil once records
	// flow again, so the replica can say why its view is not moving.
	Trouble func(err error)
	// MinBackoff and MaxBackoff bound the wait before the consumer is made
	// again after a failure (defaults 250ms and 5s).
	MinBackoff, MaxBackoff time.Duration
	// StallAfter is how long the consumer may deliver nothing while the
	// stream holds records after the last one delivered before it is made
	// again (default 5s). It catches a consumer that died silently with its
	// node.
	StallAfter time.Duration
	// Idle, if set, is called when the follower has delivered nothing for
	// StallAfter because the stream holds nothing more for it (the records
	// after it were erased or aged out, so no record says "caught up").
	Idle func()
}

func (o FollowOptions) withDefaults() FollowOptions {
	if o.Trouble == nil {
		o.Trouble = func(error) {}
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(o.MinBackoff, 5*time.Second)
	}
	if o.StallAfter <= 0 {
		o.StallAfter = 5 * time.Second
	}
	if o.Idle == nil {
		o.Idle = func() {}
	}
	return o
}

// Follow delivers every record from sequence from (1 for the beginning) in
// order, on the returned channel, until ctx ends; then the channel closes.
// Records that no longer exist (aged out or erased) are skipped.
//
// Follow never gives up: when its consumer fails (its node died, NATS went
// away, the cluster restarted) it makes a new one that starts after the
// last record delivered, with backoff, and tells opts.Trouble. No record is
// delivered twice or skipped.
func (l *Log) Follow(ctx context.Context, from uint64, opts FollowOptions) <-chan Record {
	f := &follower{log: l, opts: opts.withDefaults(), out: make(chan Record, 1024)}
	f.next.Store(max(from, 1))
	go f.run(ctx)
	return f.out
}

type follower struct {
	log  *Log
	opts FollowOptions
	out  chan Record
	next atomic.Uint64 // the sequence the next record must have at least
	// lastDelivery is when the consumer last handed over a record (unix nanos).
	lastDelivery atomic.Int64
}

func (f *follower) run(ctx context.Context) {
	defer close(f.out)
	failures := 0
	for ctx.Err() == nil {
		err := f.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		failures++
		f.opts.Trouble(fmt.Errorf("eventlog: following the log from %d: %w", f.next.Load(), err))
		wait := min(f.opts.MinBackoff<<min(failures-1, 16), f.opts.MaxBackoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// errStalled says the watchdog stopped a consumer that had stopped
// delivering.
var errStalled = errors.New("the consumer stopped delivering")

// consume runs one consumer until it fails or ctx ends.
func (f *follower) consume(ctx context.Context) error {
	from := f.next.Load()
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = from
	}
	cons, err := f.log.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	go func() {
		f.watch(cctx, cons, func() { stalled.Store(true); it.Stop() })
		it.Stop()
	}()
	f.lastDelivery.Store(time.Now().UnixNano())
	first := true
	for {
		msg, err := it.Next()
		if err != nil {
			if stalled.Load() {
				return errStalled
			}
			return err
		}
		f.lastDelivery.Store(time.Now().UnixNano())
		if first {
			first = false
			f.opts.Trouble(nil)
		}
		rec, ok := decode(msg)
		if !ok || rec.Seq < f.next.Load() {
			continue
		}
		select {
		case f.out <- rec:
			f.next.Store(rec.Seq + 1)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// watch stops the consumer when it has delivered nothing for StallAfter
// although the stream holds records it has not delivered, or when the
// server no longer knows it.
func (f *follower) watch(ctx context.Context, cons jetstream.Consumer, stop func()) {
	t := time.NewTicker(max(f.opts.StallAfter/4, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, f.lastDelivery.Load())) < f.opts.StallAfter {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, f.opts.StallAfter/2)
		info, err := cons.Info(qctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil || info.NumPending > 0 {
			stop()
			return
		}
		f.opts.Idle()
		f.lastDelivery.Store(time.Now().UnixNano()) // nothing to deliver: not stalled
	}
}

func decode(msg jetstream.Msg) (Record, bool) {
	meta, err := msg.Metadata()
	if err != nil {
		return Record{}, false
	}
	var ev calls.Event
	if json.Unmarshal(msg.Data(), &ev) != nil {
		return Record{}, false
	}
	return Record{Seq: meta.Sequence.Stream, Event: ev, Pending: meta.NumPending}, true
}
