// Package logread reads Switchboard's event log (the JetStream stream)
// from outside, the way an auditor would: every stored event with its
// sequence, so a fault-injection run can check that each accepted
// notification was stored exactly once.
package logread

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
)

// Entry is one stored event.
type Entry struct {
	Seq     uint64
	Subject string
	Event   calls.Event
}

// Read returns the events of stream after sequence after, up to the
// stream's last sequence when Read starts, and that sequence. Events
// deleted from the stream (erased conversations) are skipped.
func Read(ctx context.Context, js jetstream.JetStream, stream string, after uint64) ([]Entry, uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, 0, fmt.Errorf("logread: stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("logread: stream %s: %w", stream, err)
	}
	last := info.State.LastSeq
	if last <= after {
		return nil, last, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1})
	if err != nil {
		return nil, 0, fmt.Errorf("logread: consumer on %s: %w", stream, err)
	}
	var out []Entry
	prev := after
	for {
		// Ask for exactly what is left (at most 500): the batch ends as soon
		// as it arrives, and waits only when events were deleted.
		batch, err := cons.Fetch(int(min(500, last-prev)), jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return out, last, fmt.Errorf("logread: fetch from %s: %w", stream, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return out, last, fmt.Errorf("logread: message metadata: %w", err)
			}
			e := Entry{Seq: meta.Sequence.Stream, Subject: msg.Subject()}
			if err := json.Unmarshal(msg.Data(), &e.Event); err != nil {
				return out, last, fmt.Errorf("logread: event at %d: %w", e.Seq, err)
			}
			if e.Seq > last {
				return out, last, nil
			}
			out = append(out, e)
			prev = e.Seq
			if e.Seq == last {
				return out, last, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return out, last, fmt.Errorf("logread: fetch from %s: %w", stream, err)
		}
		if got == 0 {
			return out, last, nil // the rest was deleted
		}
		if ctx.Err() != nil {
			return out, last, ctx.Err()
		}
	}
}
