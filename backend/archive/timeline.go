package archive

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/historyquery"
)

// TimelineStream is the archive's time index: one message per ended
// call (its history row), in the order calls were archived, which is the
// order they ended in, give or take the writer's save interval. A call
// archived again replaces its message (one per subject); a deleted call's
// is purged.
const TimelineStream = "SWITCHBOARD_ENDED"

const timelineSubjects = "switchboard.ended.*"

func timelineSubject(id string) string {
	return "switchboard.ended." + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// scanChunk is how many sequences one read of the time index covers: a
// query reads it backwards from its newest end, chunk by chunk, each
// chunk one ordered read of consecutive sequences.
const scanChunk = 256

func openTimeline(ctx context.Context, js jetstream.JetStream, opts Options) (jetstream.Stream, error) {
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              TimelineStream,
		Description:       "Switchboard: ended calls in the order they ended, for history queries",
		Subjects:          []string{timelineSubjects},
		Storage:           jetstream.FileStorage,
		Replicas:          opts.Replicas,
		MaxAge:            opts.MaxAge,
		MaxBytes:          opts.MaxBytes,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
	})
	if err != nil {
		return nil, fmt.Errorf("archive: stream %s: %w", TimelineStream, err)
	}
	return stream, nil
}

func (a *Archive) index(ctx context.Context, row historyquery.Row) error {
	data, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("archive: encode row %s: %w", row.ID, err)
	}
	if _, err := a.js.Publish(ctx, timelineSubject(row.ID), data); err != nil {
		return fmt.Errorf("archive: index call %s: %w", row.ID, err)
	}
	return nil
}

func (a *Archive) unindex(ctx context.Context, id string) error {
	err := a.timeline.Purge(ctx, jetstream.WithPurgeSubject(timelineSubject(id)))
	if err != nil {
		return fmt.Errorf("archive: remove call %s from the time index: %w", id, err)
	}
	return nil
}

// ScanOptions bound a scan.
type ScanOptions struct {
	// MaxScan bounds the index entries one scan reads (0: the whole time
	// range asked for). A scan that stops there returns where to go on.
	MaxScan int
}

// Scan reads the rows of ended calls that match q (its cursor included),
// newest archived first, and hands each to emit until emit returns false
// or the time range is read. A row emit refuses is not taken. Scan returns
// the cursor position of what is left to read (the refused row, or where
// MaxScan stopped), or 0 when nothing is.
//
// Only the part of the index in q's time range is read: it starts at the
// first call archived after To, and stops at the first archived before
// From, both widened by Options.Slack.
func (a *Archive) Scan(ctx context.Context, q historyquery.Query, opts ScanOptions, emit func(historyquery.Row) bool) (uint64, error) {
	info, err := a.timeline.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("archive: time index: %w", err)
	}
	first, hi := info.State.FirstSeq, info.State.LastSeq
	if q.Cursor != "" {
		pos, err := historyquery.DecodeCursor(q.Cursor)
		if err != nil {
			return 0, err
		}
		hi = min(hi, pos-1)
	}
	if !q.To.IsZero() {
		after, ok, err := a.firstArchivedAfter(ctx, q.To.Add(a.slack))
		if err != nil {
			return 0, err
		}
		if ok {
			hi = min(hi, after-1)
		}
	}
	var stopBefore time.Time
	if !q.From.IsZero() {
		stopBefore = q.From.Add(-a.slack)
	}
	scanned := 0
	for hi >= first && hi > 0 {
		lo := max(first, hi-min(hi, scanChunk)+1)
		entries, err := a.readRange(ctx, lo, hi)
		if err != nil {
			return 0, err
		}
		for i := len(entries) - 1; i >= 0; i-- {
			e := entries[i]
			if !stopBefore.IsZero() && e.stored.Before(stopBefore) {
				return 0, nil
			}
			if q.Match(e.row) && !emit(e.row) {
				return e.seq + 1, nil
			}
		}
		scanned += int(hi - lo + 1)
		hi = lo - 1
		if opts.MaxScan > 0 && scanned >= opts.MaxScan && hi >= first && hi > 0 {
			return hi + 1, nil
		}
	}
	return 0, nil
}

type indexEntry struct {
	seq    uint64
	stored time.Time
	row    historyquery.Row
}

// readRange reads the index entries from lo to hi, oldest first, in one
// ordered read (no durable consumer is left behind).
func (a *Archive) readRange(ctx context.Context, lo, hi uint64) ([]indexEntry, error) {
	cons, err := a.js.OrderedConsumer(ctx, TimelineStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: lo, InactiveThreshold: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("archive: read the time index from %d: %w", lo, err)
	}
	batch, err := cons.FetchNoWait(int(hi - lo + 1))
	if err != nil {
		return nil, fmt.Errorf("archive: read the time index from %d: %w", lo, err)
	}
	var out []indexEntry
	for msg := range batch.Messages() {
		md, err := msg.Metadata()
		if err != nil || md.Sequence.Stream > hi {
			continue // the rest of the batch is drained, not kept
		}
		e := indexEntry{seq: md.Sequence.Stream, stored: md.Timestamp}
		if json.Unmarshal(msg.Data(), &e.row) == nil {
			out = append(out, e)
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return nil, fmt.Errorf("archive: read the time index from %d: %w", lo, err)
	}
	return out, nil
}

// firstArchivedAfter finds the sequence of the first entry stored at or
// after t.
func (a *Archive) firstArchivedAfter(ctx context.Context, t time.Time) (uint64, bool, error) {
	cons, err := a.js.OrderedConsumer(ctx, TimelineStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t, InactiveThreshold: 10 * time.Second})
	if err != nil {
		return 0, false, fmt.Errorf("archive: seek the time index at %s: %w", t, err)
	}
	batch, err := cons.FetchNoWait(1)
	if err != nil {
		return 0, false, fmt.Errorf("archive: seek the time index at %s: %w", t, err)
	}
	var seq uint64
	for msg := range batch.Messages() {
		if md, err := msg.Metadata(); err == nil && seq == 0 {
			seq = md.Sequence.Stream
		}
	}
	return seq, seq != 0, nil
}
