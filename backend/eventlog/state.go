package eventlog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
)

const (
	callKeyPrefix = "call."
	checkpointKey = "meta.applied"
)

// ErrContended says a saved key kept changing under a write: another
// replica is writing the state too (a lease handover in progress). Nothing
// is lost; the write is tried again at the next save.
var ErrContended = errors.New("eventlog: another replica keeps writing this key")

// State is the saved live view in the bucket: one key per call and a
// checkpoint, the sequence every saved call reflects. One replica at a time
// writes it (see WriterLease); each write is still conditional on the
// revision the writer last saw, and a call is only ever replaced by a later
// version of itself (a higher Seq), so a writer that lost its lease without
// knowing never rolls the state back.
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

// Change is a call for Save to write. JSON, when set, is the call as
// encoding/json encodes it, which the caller has already (the live view
// keeps every call's): Save writes it as it is instead of encoding the
// call again.
type Change struct {
	Call calls.Call
	JSON []byte
}

// Save writes the calls that changed, removes the ones gone (pruned from
// the view), and then moves the checkpoint to applied. When a write fails
// the checkpoint stays where it was and the error says which write: the
// caller keeps what it could not save and tries again later.
//
// The calls are written saveParallel at a time: each write waits for its
// acknowledgement, which on a replicated bucket takes a round of the
// cluster, so one at a time would bound a save to a few hundred calls a
// second. The checkpoint is written last, once every call is.
func (s *State) Save(ctx context.Context, changed []Change, gone []string, applied uint64) error {
	err := parallel(ctx, len(changed), func(ctx context.Context, i int) error {
		c, data := changed[i].Call, changed[i].JSON
		if data == nil {
			var err error
			if data, err = json.Marshal(c); err != nil {
				return fmt.Errorf("eventlog: encode call %s: %w", c.ID, err)
			}
		}
		return s.put(ctx, callKeyPrefix+token(c.ID), data, c.Seq, seqOfCall)
	})
	if err != nil {
		return err
	}
	err = parallel(ctx, len(gone), func(ctx context.Context, i int) error { return s.Forget(ctx, gone[i]) })
	if err != nil {
		return err
	}
	return s.put(ctx, checkpointKey, []byte(strconv.FormatUint(applied, 10)), applied, seqOfCheckpoint)
}

// saveParallel is how many writes of one save are in flight at once.
const saveParallel = 32

// parallel runs do for 0…n-1, saveParallel at a time, and returns the
// first error; after one, the writes not started yet are not started.
func parallel(ctx context.Context, n int, do func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(n, saveParallel) {
		wg.Go(func() {
			for i := range next {
				if err := do(ctx, i); err != nil {
					select {
					case errs <- err:
					default:
					}
					cancel()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// Checkpoint reads the saved checkpoint: every saved call reflects the log
// up to it. A replica taking over the writing saves every call that changed
// after it.
func (s *State) Checkpoint(ctx context.Context) (uint64, error) {
	entry, err := s.kv.Get(ctx, checkpointKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("eventlog: read checkpoint: %w", err)
	}
	s.remember(checkpointKey, entry.Revision())
	return seqOfCheckpoint(entry.Value()), nil
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

// putAttempts bounds the conditional writes of one key in one save: more
// conflicts than this mean another writer is busy with the key, and the
// next save tries again.
const putAttempts = 5

// put writes value under key unless the bucket already holds a version at
// seq or later.
func (s *State) put(ctx context.Context, key string, value []byte, seq uint64, seqOf func([]byte) uint64) error {
	for attempt := 0; attempt < putAttempts; attempt++ {
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
	return fmt.Errorf("eventlog: save %s: %w", key, ErrContended)
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

// SavedCalls lists the ids of every call the bucket holds.
func (s *State) SavedCalls(ctx context.Context) ([]string, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, callKeyPrefix+">")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("eventlog: list saved calls: %w", err)
	}
	defer lister.Stop()
	var ids []string
	for key := range lister.Keys() {
		id, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, callKeyPrefix))
		if err == nil {
			ids = append(ids, string(id))
		}
	}
	return ids, nil
}
