package verba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TokenLifetime is how long a token from RequestToken is accepted.
const TokenLifetime = time.Hour

// TokenBucket is the NATS KV bucket holding the tokens, by the SHA-256 of
// the token; the token itself is never stored.
const TokenBucket = "verba_tokens"

// tokenRetention is how long the bucket keeps a token record: past its
// lifetime, so that a late client hears "expired" rather than "unknown".
const tokenRetention = TokenLifetime + 24*time.Hour

// tokenRecord is what the bucket holds about a token.
type tokenRecord struct {
	Key     string    `json:"key"`  // name of the API key that requested it
	User    string    `json:"user"` // the API user who authenticated
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	Revoked bool      `json:"revoked,omitempty"`
}

// tokenStore issues, checks and revokes tokens. Every replica shares them
// through the bucket.
type tokenStore struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

func openTokenStore(ctx context.Context, js jetstream.JetStream, replicas int, now func() time.Time) (*tokenStore, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      TokenBucket,
		Description: "Switchboard: DeleteCall API tokens, by hash",
		TTL:         tokenRetention,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
		MaxBytes:    bucketMaxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("verba: token bucket: %w", err)
	}
	return &tokenStore{kv: kv, now: now}, nil
}

func tokenKey(token string) string { return sha256Hex(strings.ToLower(token)) }

// issue makes a new token bound to the key k, for the user login.
func (ts *tokenStore) issue(ctx context.Context, k Key, login string) (token string, expires time.Time, err error) {
	token, err = newGUID()
	if err != nil {
		return "", time.Time{}, err
	}
	now := ts.now()
	rec := tokenRecord{Key: k.Name, User: login, Issued: now, Expires: now.Add(TokenLifetime)}
	data, err := json.Marshal(rec)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("verba: token record: %w", err)
	}
	if _, err := ts.kv.Create(ctx, tokenKey(token), data); err != nil {
		return "", time.Time{}, fmt.Errorf("verba: store token: %w", err)
	}
	return token, rec.Expires, nil
}

// get returns the record of a token presented with key k.
func (ts *tokenStore) get(ctx context.Context, k Key, token string) (tokenRecord, uint64, error) {
	e, err := ts.kv.Get(ctx, tokenKey(token))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return tokenRecord{}, 0, unauthorized("unknown token: request one with action=RequestToken")
	}
	if err != nil {
		return tokenRecord{}, 0, fmt.Errorf("verba: read token: %w", err)
	}
	var rec tokenRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return tokenRecord{}, 0, fmt.Errorf("verba: token record: %w", err)
	}
	if rec.Key != k.Name {
		return tokenRecord{}, 0, unauthorized("token was issued for another API key")
	}
	return rec, e.Revision(), nil
}

// check accepts a token that was issued for k, is not revoked and has not
// expired. It returns the API user the token was issued to.
func (ts *tokenStore) check(ctx context.Context, k Key, token string) (user string, err error) {
	rec, _, err := ts.get(ctx, k, token)
	switch {
	case err != nil:
		return "", err
	case rec.Revoked:
		return rec.User, unauthorized("token revoked; request a new one")
	case !ts.now().Before(rec.Expires):
		return rec.User, unauthorized("token expired; request a new one")
	}
	return rec.User, nil
}

// revoke ends a token issued for k. Revoking a revoked or expired token is
// not an error.
func (ts *tokenStore) revoke(ctx context.Context, k Key, token string) (already bool, err error) {
	rec, rev, err := ts.get(ctx, k, token)
	if err != nil || rec.Revoked {
		return rec.Revoked, err
	}
	rec.Revoked = true
	data, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("verba: token record: %w", err)
	}
	if _, err := ts.kv.Update(ctx, tokenKey(token), data, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) { // revoked meanwhile by another request
			return true, nil
		}
		return false, fmt.Errorf("verba: revoke token: %w", err)
	}
	return false, nil
}
