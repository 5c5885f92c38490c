package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
)

const (
	callKeyPrefix = "call."
	checkpointKey = "meta.applied"
)

// State is the saved live view in the bucket. Several replicas write it;
// each write is conditional on the revision the writer last saw, and a call
// is only ever replaced by a later version of itself (a higher Seq), so a
// lagging replica never rolls the state back.
type State struct {
	kv jetstream.KeyValue

	mu   sync.Mutex
	revs map[string]uint64 // key -> revision this replica last saw
}

// State returns the saved-state handle of the log.
func (l *Log) State() *State {
	return &State{kv: l.state, revs: make(map[string]uint64)}
}

// DeleteState removes a call's saved state.
func (l *Log) DeleteState(ctx context.Context, callID string) error {
	return deleteCall(ctx, l.state, callID)
}

func deleteCall(ctx context.Context, kv jetstream.KeyValue, callID string) error {
	if err := kv.Delete(ctx, callKeyPrefix+token(callID)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("eventlog: delete state of %s: %w", callID, err)
	}
	return nil
}

// Load reads every saved call and the checkpoint.
func (s *State) Load(ctx context.Context) (map[string]calls.Call, uint64, error) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("eventlog: load state: %w", err)
	}
	defer w.Stop()
	out := make(map[string]calls.Call)
	var applied uint64
	s.mu.Lock()
	defer s.mu.Unlock()
	for entry := range w.Updates() {
		if entry == nil {
			break // the initial values are done
		}
		if entry.Operation() != jetstream.KeyValuePut {
			continue
		}
		s.revs[entry.Key()] = entry.Revision()
		if entry.Key() == checkpointKey {
			applied, _ = strconv.ParseUint(string(entry.Value()), 10, 64)
			continue
		}
		var c calls.Call
		if err := json.Unmarshal(entry.Value(), &c); err != nil {
			return nil, 0, fmt.Errorf("eventlog: load state: key %s: %w", entry.Key(), err)
		}
		out[c.ID] = c
	}
	return out, applied, nil
}

// Save writes the calls that changed and then the checkpoint applied.
func (s *State) Save(ctx context.Context, changed []calls.Call, applied uint64) error {
	for _, c := range changed {
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("eventlog: encode call %s: %w", c.ID, err)
		}
		if err := s.put(ctx, callKeyPrefix+token(c.ID), data, c.Seq, seqOfCall); err != nil {
			return err
		}
	}
	return s.put(ctx, checkpointKey, []byte(strconv.FormatUint(applied, 10)), applied, seqOfCheckpoint)
}

// Forget removes a call's saved state (pruned from history or erased).
func (s *State) Forget(ctx context.Context, callID string) error {
	s.forgetRev(callKeyPrefix + token(callID))
	return deleteCall(ctx, s.kv, callID)
}

func seqOfCall(v []byte) uint64 {
	var c struct {
		Seq uint64 `json:"seq"`
	}
	_ = json.Unmarshal(v, &c)
	return c.Seq
}

func seqOfCheckpoint(v []byte) uint64 {
	n, _ := strconv.ParseUint(string(v), 10, 64)
	return n
}

// put writes value under key unless the bucket already holds a version at
// seq or later.
func (s *State) put(ctx context.Context, key string, value []byte, seq uint64, seqOf func([]byte) uint64) error {
	for attempt := 0; attempt < 3; attempt++ {
		s.mu.Lock()
		rev, known := s.revs[key]
		s.mu.Unlock()
		var err error
		if known {
			rev, err = s.kv.Update(ctx, key, value, rev)
		} else {
			rev, err = s.kv.Create(ctx, key, value)
		}
		if err == nil {
			s.remember(key, rev)
			return nil
		}
		if !isConflict(err) {
			return fmt.Errorf("eventlog: save %s: %w", key, err)
		}
		entry, gerr := s.kv.Get(ctx, key)
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
			s.forgetRev(key) // deleted meanwhile: create it again
		case gerr != nil:
			return fmt.Errorf("eventlog: save %s: %w", key, gerr)
		case seqOf(entry.Value()) >= seq:
			s.remember(key, entry.Revision())
			return nil // another replica is ahead of us
		default:
			s.remember(key, entry.Revision())
		}
	}
	return fmt.Errorf("eventlog: save %s: still conflicting after 3 attempts", key)
}

func (s *State) remember(key string, rev uint64) {
	s.mu.Lock()
	s.revs[key] = rev
	s.mu.Unlock()
}

func (s *State) forgetRev(key string) {
	s.mu.Lock()
	delete(s.revs, key)
	s.mu.Unlock()
}
