package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// writerKey is the one key of the writer bucket.
const writerKey = "state"

// WriterLease decides which replica writes the saved state. Every replica
// follows the whole log and could write it, but replicas writing the same
// keys at once only fight: one holds the lease and writes, the others
// follow and stay ready to take over when its lease runs out.
//
// A holder that cannot renew (NATS away, the process frozen) stops
// considering itself the writer when its lease would have run out, before
// anyone else can take it. Writes stay conditional and forward-only
// besides, so even a writer that wakes from a freeze cannot roll the state
// back.
type WriterLease struct {
	kv    jetstream.KeyValue
	owner string
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	rev   uint64    // revision of our lease entry; 0 when not held
	until time.Time // when we stop trusting the lease without a renewal
}

// WriterLease returns the lease handle of a replica named owner (unique per
// process).
func (l *Log) WriterLease(owner string) *WriterLease {
	return &WriterLease{kv: l.writer, owner: owner, ttl: l.ttl, now: time.Now}
}

// TTL is how long the lease lasts without a renewal; renew it well within.
func (w *WriterLease) TTL() time.Duration { return w.ttl }

// Held reports whether this replica holds the lease now.
func (w *WriterLease) Held() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rev != 0 && w.now().Before(w.until)
}

// Acquire takes the lease if it is free, or renews it if this replica holds
// it, and reports whether it holds it afterwards. Call it well within the
// lease's life (every few seconds); an error means NATS could not say, and
// the lease is held only until it would run out.
func (w *WriterLease) Acquire(ctx context.Context) (bool, error) {
	w.mu.Lock()
	rev := w.rev
	w.mu.Unlock()
	// The margin keeps us from writing on a lease the bucket already let go.
	margin := w.ttl / 4
	start := w.now()
	var err error
	if rev != 0 {
		rev, err = w.kv.Update(ctx, writerKey, []byte(w.owner), rev)
	} else {
		rev, err = w.kv.Create(ctx, writerKey, []byte(w.owner))
	}
	switch {
	case err == nil:
		w.mu.Lock()
		w.rev, w.until = rev, start.Add(w.ttl-margin)
		w.mu.Unlock()
		return true, nil
	case isConflict(err):
		return w.reclaim(ctx, start, margin)
	default:
		return w.Held(), fmt.Errorf("eventlog: writer lease: %w", err)
	}
}

// reclaim handles a lease someone else's write moved: it is ours only if
// the entry names us (a renewal whose answer was lost).
func (w *WriterLease) reclaim(ctx context.Context, start time.Time, margin time.Duration) (bool, error) {
	entry, err := w.kv.Get(ctx, writerKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		w.drop()
		return false, nil // expired meanwhile: try again next time
	}
	if err != nil {
		return w.Held(), fmt.Errorf("eventlog: writer lease: %w", err)
	}
	if string(entry.Value()) != w.owner {
		w.drop()
		return false, nil
	}
	w.mu.Lock()
	w.rev, w.until = entry.Revision(), start.Add(w.ttl-margin)
	w.mu.Unlock()
	return true, nil
}

func (w *WriterLease) drop() {
	w.mu.Lock()
	w.rev, w.until = 0, time.Time{}
	w.mu.Unlock()
}

// Release gives the lease up (at shutdown), so another replica takes over
// at once instead of when it runs out.
func (w *WriterLease) Release(ctx context.Context) error {
	w.mu.Lock()
	rev := w.rev
	w.rev, w.until = 0, time.Time{}
	w.mu.Unlock()
	if rev == 0 {
		return nil
	}
	err := w.kv.Delete(ctx, writerKey, jetstream.LastRevision(rev))
	if err != nil && !isConflict(err) && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("eventlog: release writer lease: %w", err)
	}
	return nil
}
