// Package alerting runs Switchboard's threshold alerts on the server: the
// rule set in a NATS key-value bucket shared by every replica, the admins'
// REST endpoints that read and change it, the watcher that evaluates the
// rules (package alerts) against the live view and writes "alert raised"
// and "alert cleared" events into each call's event log, and the
// supervisors' acknowledgement.
//
// Alerts are events of the call's log, so they reach every console through
// the feed like any other change of the call, and stay in its history. One
// replica writes them: the holder of the view's writer lease (package
// liveview). Its writes carry a content id, so a replica that writes a
// raise or a clear another replica has just written (the lease moving from
// one to the other) is dropped by the log as a repeat.
package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/alerts"
	"switchboard/app/reasons"
)

// Bucket is the key-value bucket of the rule set; rulesKey its one key.
const (
	Bucket   = "SWITCHBOARD_ALERT_RULES"
	rulesKey = "rules"
)

// ErrConflict says the rules changed since the revision a save expected.
var ErrConflict = errors.New("alerting: the alert rules changed meanwhile")

// Rules is the stored rule set.
type Rules struct {
	kv jetstream.KeyValue
}

// Options tune the rule store. Zero values take the defaults.
type Options struct {
	// Replicas is the JetStream replication factor: 1 embedded, 3 on a cluster.
	Replicas int
}

// OpenRules creates or binds the rules bucket. It is small and bounded:
// one key, a few revisions of at most 64 KiB.
func OpenRules(ctx context.Context, js jetstream.JetStream, opts Options) (*Rules, error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:       Bucket,
		Description:  "Switchboard: the alert rules admins set",
		Storage:      jetstream.FileStorage,
		Replicas:     opts.Replicas,
		History:      5,
		MaxValueSize: 64 << 10,
		MaxBytes:     1 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("alerting: bucket %s: %w", Bucket, err)
	}
	return &Rules{kv: kv}, nil
}

// Load reads the rule set; none stored yet is an empty set at revision 0.
func (s *Rules) Load(ctx context.Context) (alerts.Document, error) {
	entry, err := s.kv.Get(ctx, rulesKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return alerts.Document{Rules: []alerts.Rule{}}, nil
	}
	if err != nil {
		return alerts.Document{}, fmt.Errorf("alerting: read the rules: %w", err)
	}
	var doc alerts.Document
	if err := json.Unmarshal(entry.Value(), &doc); err != nil {
		return alerts.Document{}, fmt.Errorf("alerting: decode the stored rules: %w", err)
	}
	if doc.Rules == nil {
		doc.Rules = []alerts.Rule{}
	}
	doc.Revision = entry.Revision()
	return doc, nil
}

// Save stores rules (which the caller normalized and validated) as set by
// who at at. With expect non-zero, the save succeeds only if the stored
// revision is still expect (ErrConflict otherwise). It returns the stored
// document with its new revision.
func (s *Rules) Save(ctx context.Context, rules []alerts.Rule, who string, at time.Time, expect uint64) (alerts.Document, error) {
	if rules == nil {
		rules = []alerts.Rule{}
	}
	doc := alerts.Document{Rules: rules, UpdatedBy: who, UpdatedAt: at.UTC()}
	data, err := json.Marshal(doc)
	if err != nil {
		return alerts.Document{}, fmt.Errorf("alerting: encode the rules: %w", err)
	}
	var rev uint64
	if expect != 0 {
		rev, err = s.kv.Update(ctx, rulesKey, data, expect)
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLast(err) {
			return alerts.Document{}, ErrConflict
		}
	} else {
		rev, err = s.kv.Put(ctx, rulesKey, data)
	}
	if err != nil {
		return alerts.Document{}, fmt.Errorf("alerting: store the rules: %w", err)
	}
	doc.Revision = rev
	return doc, nil
}

// Seed stores rules as set by who at at if no rule set was ever stored
// (the demo's starting rules), and reports whether it did. Replicas
// seeding at once store one set.
func (s *Rules) Seed(ctx context.Context, rules []alerts.Rule, who string, at time.Time) (bool, error) {
	data, err := json.Marshal(alerts.Document{Rules: rules, UpdatedBy: who, UpdatedAt: at.UTC()})
	if err != nil {
		return false, fmt.Errorf("alerting: encode the rules: %w", err)
	}
	_, err = s.kv.Create(ctx, rulesKey, data)
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("alerting: seed the rules: %w", err)
	}
	return true, nil
}

// DemoRules are the demo's starting rules: something to see fire on the
// simulator's traffic, and to edit.
func DemoRules() []alerts.Rule {
	return alerts.Normalize([]alerts.Rule{
		{ID: "ringing", Kind: alerts.Ringing, Seconds: 10, Words: "Caller waiting over 10 s"},
		{ID: "hold", Kind: alerts.Hold, Seconds: 45},
		{ID: "long", Kind: alerts.Duration, Seconds: 600},
		{ID: "timeouts", Kind: alerts.Failures, Count: 3, Category: reasons.Timeout, Minutes: 5},
	})
}

// isWrongLast reports JetStream's "wrong last sequence" answer, which an
// update of a key at another revision gets.
func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}
