package notifyauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Key set refresh limits.
const (
	// minRefresh is the least time between two fetches of the key set: a
	// token naming a key not in the set fetches it again, at most this often.
	minRefresh = time.Minute
	// maxKeyAge is how long a fetched key set is trusted before it is
	// fetched again, so a key withdrawn by Microsoft stops verifying.
	maxKeyAge = 24 * time.Hour
)

// keySet is the JSON Web Key Set that signs notification tokens, fetched
// when first needed, when older than maxKeyAge, and when a token names an
// unknown key, but never more often than minRefresh. It implements go-oidc's
// KeySet. go-oidc's RemoteKeySet is not used because it fetches the remote
// set again for every token whose signature fails, which a public webhook
// cannot afford.
type keySet struct {
	client     *http.Client
	configURL  string // the OpenID configuration naming the key set
	url        string // the key set; empty until the configuration is read
	log        *slog.Logger
	minRefresh time.Duration
	maxAge     time.Duration
	now        func() time.Time

	mu      sync.Mutex // held while fetching: verifications wait for new keys
	keys    []jose.JSONWebKey
	fetched time.Time // last fetch attempt
	loaded  time.Time // last successful fetch
}

// newKeySet returns the key set at url, or, when url is empty, the one the
// OpenID configuration at configURL names.
func newKeySet(client *http.Client, configURL, url string, log *slog.Logger) *keySet {
	return &keySet{client: client, configURL: configURL, url: url, log: log, minRefresh: minRefresh, maxAge: maxKeyAge, now: time.Now}
}

// VerifySignature checks raw's RS256 signature with the key its header
// names and returns the payload.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures, want 1", ErrMalformed, len(jws.Signatures))
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, err := k.keysFor(ctx, kid)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("%w: no key of the set verifies the token (kid %q)", ErrBadSignature, kid)
}

// keysFor returns the keys that may have signed a token naming kid: the key
// with that id, or every key when the token names none.
func (k *keySet) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.loaded.IsZero() || now.Sub(k.loaded) > k.maxAge {
		k.refresh(ctx, now)
	}
	if keys := k.find(kid); len(keys) > 0 {
		return keys, nil
	}
	if kid != "" && k.refresh(ctx, now) {
		if keys := k.find(kid); len(keys) > 0 {
			return keys, nil
		}
	}
	if k.loaded.IsZero() {
		where := k.url
		if where == "" {
			where = "named by " + k.configURL
		}
		return nil, fmt.Errorf("%w: the key set %s could not be fetched", ErrBadSignature, where)
	}
	return nil, fmt.Errorf("%w: unknown key id %q", ErrBadSignature, kid)
}

func (k *keySet) find(kid string) []jose.JSONWebKey {
	if kid == "" {
		return k.keys
	}
	for _, key := range k.keys {
		if key.KeyID == kid {
			return []jose.JSONWebKey{key}
		}
	}
	return nil
}

// refresh fetches the key set unless the last attempt was less than
// minRefresh ago. It reports whether it fetched new keys. A failed fetch
// keeps the keys already known.
func (k *keySet) refresh(ctx context.Context, now time.Time) bool {
	if !k.fetched.IsZero() && now.Sub(k.fetched) < k.minRefresh {
		return false
	}
	k.fetched = now
	if k.url == "" {
		url, err := discoverKeys(ctx, k.client, k.configURL)
		if err != nil {
			k.log.Warn("notification signing keys not found", "err", err, "retry_after", k.minRefresh)
			return false
		}
		k.url = url
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, k.client, k.url, &set); err != nil {
		k.log.Warn("notification signing keys not fetched", "err", err, "retry_after", k.minRefresh)
		return false
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.Use == "enc" || !key.Valid() || !key.IsPublic() {
			continue
		}
		keys = append(keys, key)
	}
	k.keys, k.loaded = keys, now
	return true
}
