package verba

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"

	"switchboard/app/calls"
	"switchboard/backend/audit"
	"switchboard/backend/ratelimit"
)

// Store is what DeleteCall needs from the call store. The server's event
// store implements it; this package never touches the event log itself.
type Store interface {
	// Calls returns every call the server holds: live ones and the recently
	// ended ones still in history.
	Calls(ctx context.Context) ([]calls.Call, error)
	// Erase deletes an ended conversation everywhere (live view, history,
	// event log) and tells consoles. Erasing an unknown or already erased id
	// is not an error.
	Erase(ctx context.Context, callID string) error
	// MarkForDeletion marks an ongoing call; the store erases it the moment
	// it ends.
	MarkForDeletion(ctx context.Context, callID string) error
}

// PastCalls is implemented by a Store that also keeps ended calls beyond
// the live history (Switchboard's archive), so that DeleteCall finds any
// call whose events are still stored, not only the recent ones.
type PastCalls interface {
	// PastCalls returns the ended calls whose identifier param (the
	// DeleteCall parameter name: callID, platformCallID, nativeID,
	// meetingID or extension) is value.
	PastCalls(ctx context.Context, param, value string) ([]calls.Call, error)
}

// Config configures a Service. Keys, Store, Audit and JS are required.
type Config struct {
	// Keys are the API keys an admin configured (see LoadConfigFile).
	Keys []Key
	// Users are the API users allowed to request tokens.
	Users []User
	// Store is the call store DeleteCall acts on.
	Store Store
	// Audit records every deletion, marking, arming, token and failed
	// authentication. Entries never hold a conversation's content.
	Audit audit.Recorder
	// JS holds the shared state: tokens, armed "next" deletions and the
	// memory of deleted calls live in NATS KV buckets, so every replica sees
	// the same.
	JS jetstream.JetStream
	// Replicas is the replica count of those buckets (1 if zero; 3 on a
	// clustered NATS).
	Replicas int
	// RememberDeleted is how long a deleted call's identifiers are
	// remembered, so that deleting it again succeeds instead of reporting
	// "no match". Default 30 days.
	RememberDeleted time.Duration
	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
	// ClientAddr says which address a request comes from, for the keys'
	// network lists and the per-address limits. The default is the
	// connection's remote address; a server behind a trusted reverse proxy
	// supplies its own (clientaddr.Resolver).
	ClientAddr func(r *http.Request) netip.Addr
	// Limits bound the failed requests each client address may make; an
	// address over its limit is refused unchecked with 429 and Retry-After.
	// Now defaults to Config.Now.
	Limits ratelimit.Config
	// Floods records failed and refused requests in the audit trail, a
	// flood as one entry per address and window. Nil records each failed
	// authentication on its own through Audit, and refusals not at all.
	Floods *audit.Floods
	// LockoutAfter failed authentications with one API key within
	// LockoutWindow lock the key out for LockoutFor: every request with it
	// is refused (429) until then, on every replica. Defaults
	// DefaultLockoutAfter, DefaultLockoutWindow and DefaultLockoutFor; a
	// negative LockoutAfter turns lockout off.
	LockoutAfter  int
	LockoutWindow time.Duration
	LockoutFor    time.Duration
	// BodyTimeout bounds the time a POST body may take to arrive (default
	// DefaultBodyTimeout); a slower one is cut with 408.
	BodyTimeout time.Duration
	// Logger receives operational messages; default slog.Default().
	Logger *slog.Logger
}

// Key is an API key as an admin configures it. The key itself (a GUID the
// integration sends as apiKey) is never stored, only its hash.
type Key struct {
	// Name says whose key it is; audit entries name the key by it.
	Name string `json:"name"`
	// Hash is "sha256:" followed by the hex SHA-256 of the key in lower
	// case, as HashKey computes it.
	Hash string `json:"hash"`
	// RequireToken makes DeleteCall demand a token from RequestToken.
	RequireToken bool `json:"requireToken,omitempty"`
	// Networks, when not empty, are the only client networks the key is
	// accepted from.
	Networks []netip.Prefix `json:"networks,omitempty"`
}

// User is an API user: the login and password an integration sends with
// HTTP Basic authentication to RequestToken.
type User struct {
	Login string `json:"login"`
	// PasswordHash is a bcrypt hash, as HashPassword computes it.
	PasswordHash string `json:"passwordHash"`
}

// configFile is the JSON shape of the file LoadConfigFile reads.
type configFile struct {
	Keys  []Key  `json:"keys"`
	Users []User `json:"users"`
}

// LoadConfigFile reads the API keys and users from a JSON file (the format
// is in the package documentation) and checks them.
func LoadConfigFile(path string) (keys []Key, users []User, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("verba: config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f configFile
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("verba: config %s: %w", path, err)
	}
	if keys, _, err = indexKeys(f.Keys); err != nil {
		return nil, nil, fmt.Errorf("verba: config %s: %w", path, err)
	}
	if _, err := indexUsers(f.Users); err != nil {
		return nil, nil, fmt.Errorf("verba: config %s: %w", path, err)
	}
	return keys, f.Users, nil
}

// NewKey generates a new API key: a random GUID to hand to the integration,
// and the Key to put in the configuration file.
func NewKey(name string, requireToken bool) (plain string, k Key, err error) {
	if strings.TrimSpace(name) == "" {
		return "", Key{}, errors.New("verba: a key needs a name")
	}
	plain, err = newGUID()
	if err != nil {
		return "", Key{}, err
	}
	return plain, Key{Name: name, Hash: HashKey(plain), RequireToken: requireToken}, nil
}

// HashKey returns the Hash of a Key for the plain key. Keys are compared
// case-insensitively, as GUIDs are, so an existing integration's key can be
// configured by hashing it.
func HashKey(plain string) string {
	return "sha256:" + sha256Hex(strings.ToLower(strings.TrimSpace(plain)))
}

// HashPassword returns the bcrypt hash of an API user's password, for the
// configuration file.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("verba: empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("verba: hash password: %w", err)
	}
	return string(h), nil
}

// newGUID returns a random (version 4) GUID in lower case, the shape of the
// recording platform's keys and tokens.
func newGUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("verba: random: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// indexKeys checks the keys and maps them by hash. It returns them too,
// with their networks masked (10.1.2.3/8 is 10.0.0.0/8).
func indexKeys(keys []Key) ([]Key, map[string]Key, error) {
	byHash := make(map[string]Key, len(keys))
	out := make([]Key, 0, len(keys))
	names := make(map[string]bool, len(keys))
	for i, k := range keys {
		if strings.TrimSpace(k.Name) == "" {
			return nil, nil, fmt.Errorf("key %d has no name", i+1)
		}
		if names[k.Name] {
			return nil, nil, fmt.Errorf("key name %q is used twice", k.Name)
		}
		names[k.Name] = true
		if err := checkHash(k.Hash); err != nil {
			return nil, nil, fmt.Errorf("key %q: %w", k.Name, err)
		}
		if _, dup := byHash[k.Hash]; dup {
			return nil, nil, fmt.Errorf("key %q: the same key is configured twice", k.Name)
		}
		nets := make([]netip.Prefix, len(k.Networks))
		for j, p := range k.Networks {
			if !p.IsValid() {
				return nil, nil, fmt.Errorf("key %q: network %d is not a valid CIDR prefix", k.Name, j+1)
			}
			nets[j] = p.Masked()
		}
		k.Networks = nets
		byHash[k.Hash] = k
		out = append(out, k)
	}
	return out, byHash, nil
}

func checkHash(h string) error {
	hexPart, ok := strings.CutPrefix(h, "sha256:")
	if !ok {
		return errors.New(`hash must start with "sha256:"`)
	}
	if len(hexPart) != 64 || strings.ToLower(hexPart) != hexPart {
		return errors.New(`hash must be "sha256:" and 64 lower-case hex digits`)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	return nil
}

// indexUsers checks the users and maps them by login.
func indexUsers(users []User) (map[string]User, error) {
	byLogin := make(map[string]User, len(users))
	for i, u := range users {
		if u.Login == "" || strings.Contains(u.Login, ":") {
			return nil, fmt.Errorf("user %d: a login must be non-empty and hold no colon", i+1)
		}
		if _, dup := byLogin[u.Login]; dup {
			return nil, fmt.Errorf("user %q is configured twice", u.Login)
		}
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return nil, fmt.Errorf("user %q: passwordHash is not a bcrypt hash: %w", u.Login, err)
		}
		byLogin[u.Login] = u
	}
	return byLogin, nil
}
