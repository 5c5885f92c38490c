package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream assets.
const (
	// StreamName is the audit trail's stream.
	StreamName = "SWITCHBOARD_AUDIT"
	// Subject is where entries are published.
	Subject = "switchboard.audit"
)

// Options tune the Log. Zero values take the defaults.
type Options struct {
	// Replicas is the JetStream replication factor: 1 embedded, 3 on a cluster.
	Replicas int
	// MaxAge is how long entries are kept (default 90 days).
	MaxAge time.Duration
	// MaxBytes bounds the trail on disk (default 512 MiB); the oldest
	// entries go first.
	MaxBytes int64
}

func (o Options) withDefaults() Options {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 90 * 24 * time.Hour
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 512 << 20
	}
	return o
}

// Log is the audit trail on a JetStream stream. Every replica opens the same
// stream, so an entry recorded on one is listed by all. A Log is safe for
// concurrent use.
type Log struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	now    func() time.Time
}

var _ Recorder = (*Log)(nil)

// Open creates or updates the audit stream and binds to it.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Switchboard: who logged in, acted on or deleted which call, and how it went",
		Subjects:    []string{Subject},
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		MaxAge:      opts.MaxAge,
		MaxBytes:    opts.MaxBytes,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return nil, fmt.Errorf("audit: stream %s: %w", StreamName, err)
	}
	return &Log{js: js, stream: stream, now: time.Now}, nil
}

// Record appends e to the trail and returns once the stream has stored it.
// A zero At is set to the current time. Actor, Action and Outcome are
// required: an entry that does not say who did what and how it went is
// refused.
func (l *Log) Record(ctx context.Context, e Entry) error {
	if err := e.validate(); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = l.now()
	}
	e.At = e.At.UTC()
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: encode %s entry: %w", e.Action, err)
	}
	if _, err := l.js.Publish(ctx, Subject, body); err != nil {
		return fmt.Errorf("audit: record %s by %s: %w", e.Action, e.Actor, err)
	}
	return nil
}

func (e Entry) validate() error {
	var missing []string
	if strings.TrimSpace(e.Actor) == "" {
		missing = append(missing, "actor")
	}
	if strings.TrimSpace(e.Action) == "" {
		missing = append(missing, "action")
	}
	if strings.TrimSpace(e.Outcome) == "" {
		missing = append(missing, "outcome")
	}
	if len(missing) > 0 {
		return fmt.Errorf("audit: entry without %s", strings.Join(missing, ", "))
	}
	return nil
}

// Limits of a Query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Query selects entries of the trail. Zero fields do not filter.
type Query struct {
	// Limit is the most entries returned (default DefaultLimit, at most
	// MaxLimit).
	Limit int
	// Since keeps entries at or after this time.
	Since time.Time
	// Actor keeps entries by this actor (exact match).
	Actor string
	// Target keeps entries about this target, usually a call id (exact match).
	Target string
}

func (q Query) matches(e Entry) bool {
	return (q.Actor == "" || e.Actor == q.Actor) && (q.Target == "" || e.Target == q.Target)
}

// ErrBadQuery is returned for a query List cannot answer.
var ErrBadQuery = errors.New("audit: bad query")

func (q Query) normalized() (Query, error) {
	switch {
	case q.Limit < 0:
		return q, fmt.Errorf("%w: limit %d is negative", ErrBadQuery, q.Limit)
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit > MaxLimit:
		return q, fmt.Errorf("%w: limit %d is above %d", ErrBadQuery, q.Limit, MaxLimit)
	}
	return q, nil
}

// List returns the entries matching q, newest first.
//
// The stream is read backwards in windows of sequences, each window
// forwards, so the newest entries cost the least and a query stops as soon
// as it has Limit entries or reaches entries older than Since.
func (l *Log) List(ctx context.Context, q Query) ([]Entry, error) {
	q, err := q.normalized()
	if err != nil {
		return nil, err
	}
	info, err := l.stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: stream info: %w", err)
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	out := []Entry{}
	if info.State.Msgs == 0 {
		return out, nil
	}
	window := uint64(max(4*q.Limit, 256))
	for hi := last; hi >= first && hi > 0; {
		lo := first
		if hi-first+1 > window {
			lo = hi - window + 1
		}
		batch, err := l.readRange(ctx, lo, hi)
		if err != nil {
			return nil, err
		}
		var done bool
		out, done = collectNewestFirst(out, batch, q)
		if done || lo == first {
			break
		}
		hi = lo - 1
	}
	return out, nil
}

// collectNewestFirst appends to out the entries of batch (oldest first) that
// match q, newest first, and says whether the query is complete.
func collectNewestFirst(out, batch []Entry, q Query) ([]Entry, bool) {
	for i := len(batch) - 1; i >= 0; i-- {
		e := batch[i]
		if !q.Since.IsZero() && e.At.Before(q.Since) {
			return out, true
		}
		if !q.matches(e) {
			continue
		}
		out = append(out, e)
		if len(out) == q.Limit {
			return out, true
		}
	}
	return out, false
}

// readRange reads the entries with sequences lo..hi, oldest first.
// Sequences removed by the age limit are skipped.
func (l *Log) readRange(ctx context.Context, lo, hi uint64) ([]Entry, error) {
	cons, err := l.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{Subject},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    lo,
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read from %d: %w", lo, err)
	}
	var out []Entry
	for {
		batch, err := cons.FetchNoWait(int(hi - lo + 1))
		if err != nil {
			return nil, fmt.Errorf("audit: read from %d: %w", lo, err)
		}
		n, reached, err := appendBatch(&out, batch, hi)
		if err != nil {
			return nil, err
		}
		if reached || n == 0 {
			return out, nil
		}
	}
}

// appendBatch decodes the messages of batch up to sequence hi into out. It
// returns how many messages the batch held and whether hi was reached.
func appendBatch(out *[]Entry, batch jetstream.MessageBatch, hi uint64) (int, bool, error) {
	n, reached := 0, false
	for msg := range batch.Messages() {
		n++
		meta, err := msg.Metadata()
		if err != nil {
			return n, reached, fmt.Errorf("audit: message metadata: %w", err)
		}
		if meta.Sequence.Stream > hi {
			reached = true
			continue
		}
		var e Entry
		if err := json.Unmarshal(msg.Data(), &e); err != nil {
			return n, reached, fmt.Errorf("audit: decode entry %d: %w", meta.Sequence.Stream, err)
		}
		*out = append(*out, e)
		if meta.Sequence.Stream == hi {
			reached = true
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return n, reached, fmt.Errorf("audit: read batch: %w", err)
	}
	return n, reached, nil
}
