// Package eventlog is Switchboard's durable memory, on NATS JetStream.
//
// Every event about a call (a Graph notification, an action, a
// reconciliation, a deletion) is appended to one stream. The stream's
// sequence numbers order all events, are the same on every replica, and are
// the sequences the live feed hands to consoles. Each call's events have a
// subject of their own, so deleting a conversation purges exactly its events.
// An event identical to the latest one of its call (a notification Graph
// delivered twice) is dropped: Graph gives notifications no id, and a
// content window would also drop a legitimate repeat (hold, resume, hold).
//
// Beside the stream, a key-value bucket holds the current state of every
// call the console still shows and a checkpoint (the last sequence folded
// into that state), so a restarting replica loads the state and replays only
// what came after.
package eventlog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
)

// Names of the JetStream assets.
const (
	StreamName    = "SWITCHBOARD_CALLS"
	StateBucket   = "SWITCHBOARD_STATE"
	WriterBucket  = "SWITCHBOARD_WRITER"
	callSubjects  = "switchboard.call.*"
	eraseSubjects = "switchboard.erased.*"
)

// Options tune the log. Zero values take the defaults.
type Options struct {
	// Replicas is the JetStream replication factor: 1 embedded, 3 on a cluster.
	Replicas int
	// MaxAge is how long events are kept (default 7 days). A call's event
	// history in the console reaches back this far.
	MaxAge time.Duration
	// MaxBytes bounds the stream on disk (default 4 GiB): when it is full
	// the oldest events go first, as when they age out.
	MaxBytes int64
	// StateMaxBytes bounds the saved live view (default 512 MiB).
	StateMaxBytes int64
	// WriterLeaseTTL is how long the state writer's lease lasts without a
	// renewal (default 10s): how soon a replica takes over from a writer
	// that died.
	WriterLeaseTTL time.Duration
}

func (o Options) withDefaults() Options {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 4 << 30
	}
	if o.StateMaxBytes <= 0 {
		o.StateMaxBytes = 512 << 20
	}
	if o.WriterLeaseTTL <= 0 {
		o.WriterLeaseTTL = 10 * time.Second
	}
	return o
}

// Entry is an event to append, with optional ids of its content and of the
// delivery that brought it.
type Entry struct {
	// ID identifies the event's content: an entry whose ID is that of its
	// call's latest event is a repeat and is dropped. Empty means never a
	// repeat.
	ID string
	// Delivery identifies the request body the entry came in (a hash of
	// it), and Index its place among that body's entries for the same call
	// (0, 1, …). A body delivered again is recognised by its call's latest
	// event: it carries the same Delivery and an Index at or past this
	// one's, so every entry of the body already stored is dropped, however
	// many the body holds. Empty Delivery: no such check.
	Delivery string
	Index    int
	Event    calls.Event
}

// Headers carrying an event's Entry.ID and Entry.Delivery/Index in the
// stream.
const (
	contentHeader  = "Switchboard-Content"
	deliveryHeader = "Switchboard-Delivery"
)

// Record is an event read back from the log.
type Record struct {
	Seq   uint64
	Event calls.Event
	// Pending is how many records the stream held after this one when it
	// was delivered (Follow only): zero means the follower is caught up.
	Pending uint64
}

// Log is the event stream and the state bucket.
type Log struct {
	js      jetstream.JetStream
	stream  jetstream.Stream
	state   jetstream.KeyValue
	writer  jetstream.KeyValue
	created time.Time
	ttl     time.Duration // of the writer lease
	lasts   lastEvents
}

// Epoch names this incarnation of the stream: the time it was created. A
// stream deleted and created again starts its sequences over, and the
// epoch tells a console holding a higher sequence that the lower one it is
// offered is not older news.
func (l *Log) Epoch() string { return l.created.UTC().Format(time.RFC3339Nano) }

// Open creates or updates the stream and the bucket and binds to them.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Switchboard: every event about every call",
		Subjects:    []string{callSubjects, eraseSubjects},
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		MaxAge:      opts.MaxAge,
		MaxBytes:    opts.MaxBytes,
		Discard:     jetstream.DiscardOld,
		// Reads (a call's latest event before an append, a call's history)
		// go to the stream's leader, never to a replica that may lag
		// behind it: a history must never miss an event already stored.
		AllowDirect: false,
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: stream %s: %w", StreamName, err)
	}
	state, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      StateBucket,
		Description: "Switchboard: current state of each call shown, and the checkpoint",
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		History:     1,
		// A call not saved again for as long as the log keeps events is
		// long over; the writer removes calls as they leave the view.
		TTL:      opts.MaxAge,
		MaxBytes: opts.StateMaxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: bucket %s: %w", StateBucket, err)
	}
	writer, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      WriterBucket,
		Description: "Switchboard: which replica writes the saved state (a lease)",
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		History:     1,
		TTL:         opts.WriterLeaseTTL,
		MaxBytes:    1 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: bucket %s: %w", WriterBucket, err)
	}
	info := stream.CachedInfo()
	return &Log{js: js, stream: stream, state: state, writer: writer, created: info.Created, ttl: opts.WriterLeaseTTL,
		lasts: newLastEvents()}, nil
}

// token turns a call id into a subject token and key part: call ids are
// opaque strings that may hold dots or spaces, which subjects cannot.
func token(callID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(callID))
}

func callSubject(callID string) string { return "switchboard.call." + token(callID) }

// Append writes entries to the stream, in order, and returns once every
// one is stored or dropped as a repeat of its call's latest event. It
// returns how many were dropped.
func (l *Log) Append(ctx context.Context, entries []Entry) (duplicates int, err error) {
	for _, e := range entries {
		stored, err := l.append(ctx, e)
		if err != nil {
			return duplicates, err
		}
		if !stored {
			duplicates++
		}
	}
	return duplicates, nil
}

// append stores e unless its call's latest event has the same content id.
// The write is conditional on that latest event still being the latest, so
// two replicas receiving the same redelivery at once store it once.
//
// The latest event is the one this log last stored or read on the call's
// subject (see lastEvents), read from the stream only when none is known,
// when the known one says e is a repeat (a repeat is dropped only on the
// stream's word), or when the write finds the subject moved on.
func (l *Log) append(ctx context.Context, e Entry) (bool, error) {
	msg, err := message(e)
	if err != nil {
		return false, err
	}
	if e.ID == "" {
		var ack *jetstream.PubAck
		err := l.retry(ctx, func() (err error) { ack, err = l.js.PublishMsg(ctx, msg); return err }, false)
		if err != nil {
			l.lasts.forget(msg.Subject)
			return false, fmt.Errorf("eventlog: append %s event for call %s: %w", e.Event.Kind, e.Event.CallID, err)
		}
		l.lasts.remember(msg.Subject, lastEvent{seq: ack.Sequence})
		return true, nil
	}
	for attempt := range appendAttempts {
		hint, known := l.lasts.get(msg.Subject)
		last := lastEvent{seq: hint.seq}
		if !known || l.lasts.mayRepeat(hint, e) {
			err := l.retry(ctx, func() (err error) { last, err = l.latest(ctx, msg.Subject); return err }, true)
			if err != nil {
				return false, err
			}
			l.lasts.remember(msg.Subject, last)
		}
		if last.repeats(e) {
			return false, nil
		}
		// A write whose answer was lost may have been stored: it is tried
		// again only through this loop, whose check above finds it.
		var ack *jetstream.PubAck
		err = l.retry(ctx, func() (err error) {
			ack, err = l.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(last.seq))
			return err
		}, false)
		if err == nil {
			l.lasts.remember(msg.Subject, lastEvent{seq: ack.Sequence, content: e.ID, delivery: e.Delivery, index: e.Index})
			return true, nil
		}
		l.lasts.forget(msg.Subject) // moved on, or unknown after a lost answer
		if !isConflict(err) && !(unanswered(err) && ctx.Err() == nil) {
			return false, fmt.Errorf("eventlog: append %s event for call %s: %w", e.Event.Kind, e.Event.CallID, err)
		}
		if attempt == 0 && isConflict(err) && known {
			continue // only what this log knew was old: read the latest at once
		}
		// Another replica's write to the call is on its way (a replicated
		// stream refuses ours until it is stored): give it a moment.
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("eventlog: append %s event for call %s: %w", e.Event.Kind, e.Event.CallID, err)
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return false, fmt.Errorf("eventlog: append to call %s: still racing other writers after %d attempts", e.Event.CallID, appendAttempts)
}

// appendAttempts bounds the conditional writes of one event: each lost race
// means another replica stored an event of the same call meanwhile.
const appendAttempts = 20

// retryWait is the pause between two tries of a request nobody received.
const retryWait = 150 * time.Millisecond

// retry runs op until it succeeds, fails for good, or ctx ends. A request
// no server received (no stream leader to take it, an election under way,
// the connection being re-established) is tried again: within the time
// the caller allows (the webhook's few seconds), a leader elected meanwhile
// takes it and the notification is stored instead of refused. With
// readsToo, a read that went unanswered is tried again as well (a read
// changes nothing).
func (l *Log) retry(ctx context.Context, op func() error, readsToo bool) error {
	for {
		err := op()
		if err == nil || !(notReceived(err) || (readsToo && unanswered(err))) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryWait):
		}
	}
}

// notReceived reports whether err says no server took the request: it
// cannot have been stored.
func notReceived(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Code == 503 // JetStream answered: no leader to take it
	}
	return false
}

// unanswered reports whether err says the request went out but no answer
// came in time: it may or may not have been carried out.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

// lastEvent is what append needs of a call's latest event.
type lastEvent struct {
	seq      uint64 // 0 when the call has none
	content  string
	delivery string
	index    int
}

// repeats reports whether e was already stored: it has the latest event's
// content, or it comes in a body the latest event came in, no later in it.
func (last lastEvent) repeats(e Entry) bool {
	if last.seq == 0 {
		return false
	}
	if e.Delivery != "" && e.Delivery == last.delivery && e.Index <= last.index {
		return true
	}
	return e.ID == last.content
}

// latest reads the last event on subject.
func (l *Log) latest(ctx context.Context, subject string) (lastEvent, error) {
	last, err := l.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return lastEvent{}, nil
	}
	if err != nil {
		return lastEvent{}, fmt.Errorf("eventlog: latest event of %s: %w", subject, err)
	}
	out := lastEvent{seq: last.Sequence, content: last.Header.Get(contentHeader)}
	if d, i, ok := strings.Cut(last.Header.Get(deliveryHeader), "/"); ok {
		if n, err := strconv.Atoi(i); err == nil {
			out.delivery, out.index = d, n
		}
	}
	return out, nil
}

func message(e Entry) (*nats.Msg, error) {
	data, err := json.Marshal(e.Event)
	if err != nil {
		return nil, fmt.Errorf("eventlog: encode event: %w", err)
	}
	subject := callSubject(e.Event.CallID)
	if e.Event.Kind == calls.KindErased {
		subject = "switchboard.erased." + token(e.Event.CallID)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	if e.ID != "" {
		msg.Header.Set(contentHeader, e.ID)
	}
	if e.Delivery != "" {
		msg.Header.Set(deliveryHeader, e.Delivery+"/"+strconv.Itoa(e.Index))
	}
	return msg, nil
}

// LastSeq is the sequence of the newest event in the stream. The stream's
// leader answers, so an answer also says the log can store events now: it
// is the replica's readiness probe.
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("eventlog: stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// Erase deletes a conversation from the log: it appends a tombstone (which
// tells every replica to drop the call, and carries nothing but the id),
// purges the call's events and removes its saved state. Erasing an unknown
// or already erased call is not an error.
func (l *Log) Erase(ctx context.Context, callID string) error {
	// The tombstone's id makes erasing twice in a row (or by two replicas at
	// once) one event.
	tomb := Entry{ID: "erase", Event: calls.Event{Kind: calls.KindErased, CallID: callID, At: time.Now().UTC()}}
	if _, err := l.append(ctx, tomb); err != nil {
		return fmt.Errorf("eventlog: erase %s: tombstone: %w", callID, err)
	}
	l.lasts.forget(callSubject(callID))
	if err := l.stream.Purge(ctx, jetstream.WithPurgeSubject(callSubject(callID))); err != nil {
		return fmt.Errorf("eventlog: erase %s: purge: %w", callID, err)
	}
	return l.DeleteState(ctx, callID)
}

// isConflict reports whether err says a subject or key moved on since the
// sequence or revision a write was conditional on. JetStream answers 10071
// on a single-node stream and 10164 on a replicated one; the key-value layer
// turns both into ErrKeyExists (create) or ErrKeyRevisionMismatch (update).
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
			return true
		}
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
