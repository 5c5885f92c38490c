package verba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"
)

// LockoutBucket is the NATS KV bucket of the API keys locked out after
// repeated failed authentications, by the SHA-256 of the key's name, so
// that a lockout holds on every replica.
const LockoutBucket = "verba_lockouts"

// Lockout defaults (Config.LockoutAfter, LockoutWindow, LockoutFor).
const (
	DefaultLockoutAfter  = 10
	DefaultLockoutWindow = 10 * time.Minute
	DefaultLockoutFor    = 15 * time.Minute
)

// lockRecord is what LockoutBucket holds about a locked key.
type lockRecord struct {
	Key    string    `json:"key"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"` // the failure that locked it
}

// lockouts counts failed authentications per API key and locks a key out
// once they come faster than after per window. The counting is per
// replica; the lock is shared.
type lockouts struct {
	kv      jetstream.KeyValue // nil: lockout is off
	after   int
	window  time.Duration
	lockFor time.Duration
	now     func() time.Time

	mu    sync.Mutex
	fails map[string]*rate.Limiter // by key name: as many as keys are configured
}

func openLockouts(ctx context.Context, cfg Config) (*lockouts, error) {
	l := &lockouts{after: cfg.LockoutAfter, window: cfg.LockoutWindow, lockFor: cfg.LockoutFor, now: cfg.Now,
		fails: map[string]*rate.Limiter{}}
	if l.after < 0 {
		return l, nil
	}
	kv, err := openBucket(ctx, cfg, LockoutBucket, "Switchboard: DeleteCall API keys locked out after failed authentications", l.lockFor)
	if err != nil {
		return nil, err
	}
	l.kv = kv
	return l, nil
}

func lockKey(k Key) string { return sha256Hex(k.Name) }

// until returns when k's lockout ends, or the zero time if it is not
// locked out.
func (l *lockouts) until(ctx context.Context, k Key) (time.Time, error) {
	if l.kv == nil {
		return time.Time{}, nil
	}
	rec, _, err := l.get(ctx, k)
	if err != nil || !l.now().Before(rec.Until) {
		return time.Time{}, err
	}
	return rec.Until, nil
}

func (l *lockouts) get(ctx context.Context, k Key) (lockRecord, uint64, error) {
	e, err := l.kv.Get(ctx, lockKey(k))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return lockRecord{}, 0, nil
	}
	if err != nil {
		return lockRecord{}, 0, fmt.Errorf("verba: read lockout: %w", err)
	}
	var rec lockRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return lockRecord{}, 0, fmt.Errorf("verba: lockout record: %w", err)
	}
	return rec, e.Revision(), nil
}

// failed counts a failed authentication with k. When it is one too many, k
// is locked out until the returned time and locked is true; a key another
// request or replica locked meanwhile is not locked again.
func (l *lockouts) failed(ctx context.Context, k Key, reason string) (until time.Time, locked bool, err error) {
	if l.kv == nil {
		return time.Time{}, false, nil
	}
	now := l.now()
	l.mu.Lock()
	lim := l.fails[k.Name]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(float64(l.after)/l.window.Seconds()), l.after)
		l.fails[k.Name] = lim
	}
	allowed := lim.AllowN(now, 1)
	if !allowed {
		delete(l.fails, k.Name) // counting starts afresh after the lockout
	}
	l.mu.Unlock()
	if allowed {
		return time.Time{}, false, nil
	}
	return l.lock(ctx, k, now, reason)
}

func (l *lockouts) lock(ctx context.Context, k Key, now time.Time, reason string) (time.Time, bool, error) {
	rec := lockRecord{Key: k.Name, Until: now.Add(l.lockFor), Reason: reason}
	data, err := json.Marshal(rec)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("verba: lockout record: %w", err)
	}
	_, err = l.kv.Create(ctx, lockKey(k), data)
	if !errors.Is(err, jetstream.ErrKeyExists) {
		if err != nil {
			return time.Time{}, false, fmt.Errorf("verba: lock out key: %w", err)
		}
		return rec.Until, true, nil
	}
	old, rev, err := l.get(ctx, k)
	if err != nil {
		return time.Time{}, false, err
	}
	if now.Before(old.Until) {
		return old.Until, false, nil // locked meanwhile
	}
	if _, err := l.kv.Update(ctx, lockKey(k), data, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return rec.Until, false, nil // another replica locked it first
		}
		return time.Time{}, false, fmt.Errorf("verba: lock out key: %w", err)
	}
	return rec.Until, true, nil
}

// lockedOut is the answer to a request with a locked-out key.
func lockedOut(until, now time.Time) *apiError {
	wait := until.Sub(now)
	e := errorf(http.StatusTooManyRequests,
		"this API key is locked out until %s after repeated failed authentications; retry after %d s",
		until.UTC().Format(time.RFC3339), retrySeconds(wait))
	e.retryAfter = wait
	return e
}
