// Package archive keeps every ended call for as long as the event log
// keeps its events, findable by its identifiers. The live view forgets an
// ended call after an hour (consoles show recent ones only), but the
// recording platform's DeleteCall must find any call whose events are still
// stored: by its id, its chain id, the bot's participant id, the meeting's
// join id, or a party's number or user id.
//
// The archive is a key-value bucket: one key per call with its last state,
// and one key per identifier listing the calls that carry it, so a lookup
// is a few reads by key, never a scan and never a consumer. The replica
// that saves the live view (the writer) archives calls as they end;
// deleting a conversation removes it and its identifiers.
//
// Beside the bucket, a stream indexes ended calls by time (see Scan): call
// history reads only the part of it a query's time range covers.
package archive

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
)

// Bucket is the archive's key-value bucket.
const Bucket = "SWITCHBOARD_ARCHIVE"

// Kind is an identifier a call can be found by.
type Kind string

// The identifiers of a call (see the README's DeleteCall mapping).
const (
	// ByChain is Graph's callChainId.
	ByChain Kind = "chain"
	// ByParticipant is the bot's own participant id (myParticipantId).
	ByParticipant Kind = "participant"
	// ByMeeting is the meeting's join id.
	ByMeeting Kind = "meeting"
	// ByParty is a phone number or user id of the caller or a callee.
	ByParty Kind = "party"
)

// maxPerIdentifier bounds the calls one identifier lists: a busy number's
// newest calls are the ones kept.
const maxPerIdentifier = 200

// Options tune the archive. Zero values take the defaults.
type Options struct {
	// Replicas is the bucket's replication factor.
	Replicas int
	// MaxAge is how long a call stays archived: the event log's retention
	// (default 7 days).
	MaxAge time.Duration
	// MaxBytes bounds the bucket, and the time index (default 1 GiB
	// each); the oldest entries go first.
	MaxBytes int64
	// Slack widens the part of the time index a history query reads
	// (default 15 minutes): a call is indexed when it is archived, within
	// a second of its end, but a writer taking over after an outage
	// archives what ended meanwhile, and clocks disagree. A call archived
	// later than this after its end is found by queries whose range
	// reaches the time it was archived.
	Slack time.Duration
}

func (o Options) withDefaults() Options {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.Slack <= 0 {
		o.Slack = 15 * time.Minute
	}
	return o
}

// Archive is the bucket of ended calls and their time index.
type Archive struct {
	kv       jetstream.KeyValue
	js       jetstream.JetStream
	timeline jetstream.Stream
	slack    time.Duration
}

// Open creates or updates the bucket and binds to it.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Archive, error) {
	opts = opts.withDefaults()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Switchboard: ended calls, by id and by identifier, while their events are kept",
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		History:     1,
		TTL:         opts.MaxAge,
		MaxBytes:    opts.MaxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("archive: bucket %s: %w", Bucket, err)
	}
	timeline, err := openTimeline(ctx, js, opts)
	if err != nil {
		return nil, err
	}
	return &Archive{kv: kv, js: js, timeline: timeline, slack: opts.Slack}, nil
}

func callKey(id string) string { return "call." + base64.RawURLEncoding.EncodeToString([]byte(id)) }

// indexKey names an identifier's list; values are hashed (keys cannot hold
// every character, and the archive need not spell numbers out).
func indexKey(kind Kind, value string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(value))))
	return "idx." + string(kind) + "." + hex.EncodeToString(sum[:16])
}

// identifiers lists the index keys of c.
func identifiers(c calls.Call) []string {
	var keys []string
	add := func(kind Kind, v string) {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(keys, indexKey(kind, v)) {
			keys = append(keys, indexKey(kind, v))
		}
	}
	add(ByChain, c.ChainID)
	add(ByParticipant, c.MyParticipantID)
	add(ByMeeting, c.MeetingID)
	for _, p := range c.Parties() {
		add(ByParty, p.Phone)
		add(ByParty, p.ID)
	}
	return keys
}

// Put archives c (ended) under its id and each of its identifiers, and
// indexes it by time. Archiving again replaces the call; it is listed once
// per identifier. A call marked for deletion is kept out of the time
// index: history never shows it, even in the moment before it is erased.
func (a *Archive) Put(ctx context.Context, c calls.Call) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("archive: encode call %s: %w", c.ID, err)
	}
	if _, err := a.kv.Put(ctx, callKey(c.ID), data); err != nil {
		return fmt.Errorf("archive: put call %s: %w", c.ID, err)
	}
	for _, key := range identifiers(c) {
		if err := a.update(ctx, key, func(ids []string) []string {
			if slices.Contains(ids, c.ID) {
				return ids
			}
			ids = append(ids, c.ID)
			return ids[max(0, len(ids)-maxPerIdentifier):]
		}); err != nil {
			return err
		}
	}
	if c.MarkedForDeletion {
		return a.unindex(ctx, c.ID)
	}
	return a.index(ctx, historyquery.RowFor(c))
}

// update changes an identifier's list with compare-and-set, so replicas
// archiving at once (a lease handover) lose nothing.
func (a *Archive) update(ctx context.Context, key string, change func([]string) []string) error {
	for attempt := 0; attempt < 8; attempt++ {
		var ids []string
		var rev uint64
		entry, err := a.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("archive: read %s: %w", key, err)
		default:
			rev = entry.Revision()
			if err := json.Unmarshal(entry.Value(), &ids); err != nil {
				ids = nil // a damaged list is rebuilt
			}
		}
		next := change(slices.Clone(ids))
		if rev != 0 && slices.Equal(next, ids) {
			return nil
		}
		if err := a.write(ctx, key, next, rev); err == nil {
			return nil
		} else if !conflict(err) {
			return err
		}
	}
	return fmt.Errorf("archive: %s kept changing under the write", key)
}

func (a *Archive) write(ctx context.Context, key string, ids []string, rev uint64) error {
	var err error
	switch {
	case len(ids) == 0 && rev != 0:
		err = a.kv.Delete(ctx, key, jetstream.LastRevision(rev))
	case len(ids) == 0:
		return nil
	case rev != 0:
		data, _ := json.Marshal(ids)
		_, err = a.kv.Update(ctx, key, data, rev)
	default:
		data, _ := json.Marshal(ids)
		_, err = a.kv.Create(ctx, key, data)
	}
	if err != nil && !conflict(err) {
		return fmt.Errorf("archive: write %s: %w", key, err)
	}
	return err
}

func conflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// Get returns an archived call.
func (a *Archive) Get(ctx context.Context, id string) (calls.Call, bool, error) {
	entry, err := a.kv.Get(ctx, callKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return calls.Call{}, false, nil
	}
	if err != nil {
		return calls.Call{}, false, fmt.Errorf("archive: read call %s: %w", id, err)
	}
	var c calls.Call
	if err := json.Unmarshal(entry.Value(), &c); err != nil {
		return calls.Call{}, false, fmt.Errorf("archive: decode call %s: %w", id, err)
	}
	return c, true, nil
}

// Find returns the archived calls carrying value as identifier kind.
func (a *Archive) Find(ctx context.Context, kind Kind, value string) ([]calls.Call, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	entry, err := a.kv.Get(ctx, indexKey(kind, value))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive: find by %s: %w", kind, err)
	}
	var ids []string
	if err := json.Unmarshal(entry.Value(), &ids); err != nil {
		return nil, nil
	}
	var out []calls.Call
	for _, id := range ids {
		c, ok, err := a.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// Delete removes a call, its identifiers and its time index entry from
// the archive. Deleting a call not archived is not an error.
func (a *Archive) Delete(ctx context.Context, id string) error {
	if err := a.unindex(ctx, id); err != nil {
		return err
	}
	c, ok, err := a.Get(ctx, id)
	if err != nil || !ok {
		return err
	}
	for _, key := range identifiers(c) {
		if err := a.update(ctx, key, func(ids []string) []string {
			return slices.DeleteFunc(ids, func(x string) bool { return x == id })
		}); err != nil {
			return err
		}
	}
	if err := a.kv.Purge(ctx, callKey(id)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("archive: delete call %s: %w", id, err)
	}
	return nil
}
