// Package presence tells every console who else is looking and who is
// acting on which call, across replicas.
//
// Presence: each replica keeps a seat in a NATS key-value bucket for every
// session with a feed open on it (one key per session and replica, so a
// session with feeds on two replicas stays present while either is open),
// refreshes it while the feed is open and deletes it when the last one
// closes. A seat also carries the time it expires: a replica that dies
// without saying goodbye leaves seats that every other replica stops
// counting once they expire, and the bucket's age limit removes them.
//
// Claims: opening an action on a call takes a short claim on it, created
// only if nobody holds one (compare-and-set), so two supervisors cannot
// both hold a call; actions by another session are refused while it holds
// (see Holder) unless they say they act anyway. A claim expires by itself
// (its holder's dialog was left open, its browser went away) and is
// released when the dialog closes or the action has been sent.
//
// Every replica watches both buckets and hands its consoles the whole list
// of people and of claims whenever either changes (feedwire.TypePresence,
// feedwire.TypeClaims).
package presence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

// The buckets.
const (
	SeatsBucket  = "SWITCHBOARD_PRESENCE"
	ClaimsBucket = "SWITCHBOARD_CLAIMS"
)

// Options tune a Board. Zero values take the defaults.
type Options struct {
	// Replicas is the buckets' replication factor (default 1).
	Replicas int
	// Replica names this replica: its seats are its own keys.
	Replica string
	// SeatTTL is how long a seat counts after its replica last refreshed
	// it (default 30s); replicas refresh their seats every third of it.
	SeatTTL time.Duration
	// ClaimTTL is how long a claim lasts (default 30s).
	ClaimTTL time.Duration
	// Publish receives the people and the claims, as feed messages,
	// whenever either changes.
	Publish func(feedwire.Message)
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.SeatTTL <= 0 {
		o.SeatTTL = 30 * time.Second
	}
	if o.ClaimTTL <= 0 {
		o.ClaimTTL = 30 * time.Second
	}
	if o.Publish == nil {
		o.Publish = func(feedwire.Message) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ErrClaimed is the error of a claim someone else holds.
var ErrClaimed = errors.New("presence: the call is claimed")

// opTimeout bounds one bucket operation made for a console.
const opTimeout = 5 * time.Second

// Board keeps this replica's seats and claims in the buckets and follows
// everyone's. It is safe for concurrent use.
type Board struct {
	opts    Options
	seatsKV jetstream.KeyValue
	claimKV jetstream.KeyValue
	prefix  string // this replica's seat keys start with it

	mu     sync.Mutex
	local  map[string]*seat     // this replica's seats, by key
	seats  map[string]seatValue // everyone's, as watched, by key
	claims map[string]claimValue
	// sent are the last lists published, encoded, so only changes go out.
	sentPeople, sentClaims string
}

// seatValue is a seat as the bucket holds it.
type seatValue struct {
	Name  string    `json:"name"`
	Role  string    `json:"role,omitempty"`
	Until time.Time `json:"until"`
}

// seat is one of this replica's sessions with feeds open.
type seat struct {
	person feedwire.Person
	feeds  int
}

// claimValue is a claim as the bucket holds it: the claim, and the session
// that holds it (which alone may release it).
type claimValue struct {
	feedwire.Claim
	Session string `json:"session"`
}

// openBucket creates or updates one of the board's buckets: in memory
// (what it holds matters only while replicas run), one value per key, each
// gone after ttl unless written again.
func openBucket(ctx context.Context, js jetstream.JetStream, name, description string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: description, Storage: jetstream.MemoryStorage,
		Replicas: replicas, History: 1, TTL: ttl, MaxBytes: 16 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("presence: bucket %s: %w", name, err)
	}
	return kv, nil
}

// Open creates or updates the buckets and returns a board for this replica.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Board, error) {
	opts = opts.withDefaults()
	seats, err := openBucket(ctx, js, SeatsBucket, "Switchboard: who has a console open, per session and replica", opts.SeatTTL, opts.Replicas)
	if err != nil {
		return nil, err
	}
	claims, err := openBucket(ctx, js, ClaimsBucket, "Switchboard: who is acting on which call, for a short while", opts.ClaimTTL, opts.Replicas)
	if err != nil {
		return nil, err
	}
	return &Board{opts: opts, seatsKV: seats, claimKV: claims, prefix: hashKey(opts.Replica, 12) + ".",
		local: make(map[string]*seat), seats: make(map[string]seatValue), claims: make(map[string]claimValue)}, nil
}

// hashKey turns any string into n hex digits a bucket key may hold.
func hashKey(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// Arrive seats person for session, the moment one of its feeds opens on
// this replica, and returns what to call when that feed closes: the seat
// goes when the session's last feed here does.
func (b *Board) Arrive(person feedwire.Person, session string) (leave func()) {
	key := b.prefix + hashKey(session, 24)
	b.mu.Lock()
	s := b.local[key]
	first := s == nil
	if first {
		s = &seat{person: person}
		b.local[key] = s
	}
	s.feeds++
	b.mu.Unlock()
	if first {
		b.putSeat(key, person)
	}
	var once sync.Once
	return func() { once.Do(func() { b.leave(key) }) }
}

func (b *Board) leave(key string) {
	b.mu.Lock()
	s := b.local[key]
	if s == nil {
		b.mu.Unlock()
		return
	}
	s.feeds--
	gone := s.feeds <= 0
	if gone {
		delete(b.local, key)
	}
	b.mu.Unlock()
	if !gone {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := b.seatsKV.Delete(ctx, key); err != nil {
		b.opts.Logger.Warn("presence: remove a seat; it expires by itself", "err", err)
	}
}

// putSeat writes (or refreshes) one of this replica's seats.
func (b *Board) putSeat(key string, p feedwire.Person) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	v := seatValue{Name: p.Name, Role: p.Role, Until: b.opts.Now().Add(b.opts.SeatTTL).UTC()}
	data, _ := json.Marshal(v)
	if _, err := b.seatsKV.Put(ctx, key, data); err != nil {
		b.opts.Logger.Warn("presence: write a seat; retried at the next refresh", "err", err)
	}
}

// Run refreshes this replica's seats, follows both buckets and publishes
// what changes, until ctx ends. Watches that stop are made again.
func (b *Board) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { b.follow(ctx, b.seatsKV, b.noteSeat) })
	wg.Go(func() { b.follow(ctx, b.claimKV, b.noteClaim) })
	refresh := time.NewTicker(b.opts.SeatTTL / 3)
	defer refresh.Stop()
	// Seats and claims expire without a word from the bucket: the lists
	// are looked at again every second.
	expire := time.NewTicker(time.Second)
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-refresh.C:
			b.refresh()
		case <-expire.C:
			b.publish()
		}
	}
}

// refresh writes every seat of this replica again.
func (b *Board) refresh() {
	b.mu.Lock()
	seats := make(map[string]feedwire.Person, len(b.local))
	for k, s := range b.local {
		seats[k] = s.person
	}
	b.mu.Unlock()
	for k, p := range seats {
		b.putSeat(k, p)
	}
}

// follow watches kv, handing each change to note, until ctx ends; a watch
// that stops (NATS away too long) is made again with backoff.
func (b *Board) follow(ctx context.Context, kv jetstream.KeyValue, note func(jetstream.KeyValueEntry)) {
	wait := 250 * time.Millisecond
	for ctx.Err() == nil {
		w, err := kv.WatchAll(ctx)
		if err == nil {
			wait = 250 * time.Millisecond
			b.read(ctx, w, note)
			w.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		b.opts.Logger.Warn("presence: watching again", "bucket", kv.Bucket(), "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (b *Board) read(ctx context.Context, w jetstream.KeyWatcher, note func(jetstream.KeyValueEntry)) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				note(e)
			}
			b.publish()
		}
	}
}

// noteSeat applies one change of the seats bucket.
func (b *Board) noteSeat(e jetstream.KeyValueEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var v seatValue
	if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &v) != nil {
		delete(b.seats, e.Key())
		return
	}
	b.seats[e.Key()] = v
}

// noteClaim applies one change of the claims bucket.
func (b *Board) noteClaim(e jetstream.KeyValueEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var v claimValue
	if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &v) != nil {
		delete(b.claims, e.Key())
		return
	}
	b.claims[e.Key()] = v
}

// People is everyone with a console open now, on any replica, once each,
// by name.
func (b *Board) People() []feedwire.Person {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peopleLocked()
}

func (b *Board) peopleLocked() []feedwire.Person {
	now := b.opts.Now()
	byName := make(map[string]feedwire.Person)
	for _, s := range b.seats {
		if s.Until.After(now) && s.Name != "" {
			byName[s.Name] = feedwire.Person{Name: s.Name, Role: s.Role}
		}
	}
	out := make([]feedwire.Person, 0, len(byName))
	for _, p := range byName {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b feedwire.Person) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Claims is every claim held now, by call id.
func (b *Board) Claims() []feedwire.Claim {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.claimsLocked()
}

func (b *Board) claimsLocked() []feedwire.Claim {
	now := b.opts.Now()
	out := make([]feedwire.Claim, 0, len(b.claims))
	for _, c := range b.claims {
		if c.Until.After(now) {
			out = append(out, c.Claim)
		}
	}
	slices.SortFunc(out, func(a, b feedwire.Claim) int { return strings.Compare(a.CallID, b.CallID) })
	return out
}

// publish hands the consoles the people and the claims, each only when it
// changed since it was last handed.
func (b *Board) publish() {
	b.mu.Lock()
	people, claims := b.peopleLocked(), b.claimsLocked()
	pj, _ := json.Marshal(people)
	cj, _ := json.Marshal(claims)
	newPeople, newClaims := string(pj) != b.sentPeople, string(cj) != b.sentClaims
	b.sentPeople, b.sentClaims = string(pj), string(cj)
	b.mu.Unlock()
	if newPeople {
		b.opts.Publish(feedwire.Message{Type: feedwire.TypePresence, People: people, Now: b.opts.Now().UTC()})
	}
	if newClaims {
		b.opts.Publish(feedwire.Message{Type: feedwire.TypeClaims, Claims: claims, Now: b.opts.Now().UTC()})
	}
}

// claimKey is the bucket key of a call's claim.
func claimKey(callID string) string { return "call." + hashKey(callID, 32) }

// Claim takes the claim on callID for verb, held by holder's session,
// unless someone else holds one: the claim is created only if the call has
// none (or only an expired one, or one of the same session, which it
// replaces). It returns the claim held afterwards: the new one, or, with
// an error wrapping ErrClaimed, the other holder's.
func (b *Board) Claim(ctx context.Context, callID string, verb verbs.Verb, holder, session string) (feedwire.Claim, error) {
	key := claimKey(callID)
	now := b.opts.Now().UTC()
	v := claimValue{Claim: feedwire.Claim{CallID: callID, Verb: verb, Holder: holder, Since: now, Until: now.Add(b.opts.ClaimTTL)},
		Session: session}
	data, _ := json.Marshal(v)
	for range 3 { // the holder may release or replace it while we look
		_, err := b.claimKV.Create(ctx, key, data)
		if err == nil {
			b.remember(key, v)
			return v.Claim, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return feedwire.Claim{}, fmt.Errorf("presence: claim call %s: %w", callID, err)
		}
		e, err := b.claimKV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return feedwire.Claim{}, fmt.Errorf("presence: read the claim on call %s: %w", callID, err)
		}
		var cur claimValue
		if json.Unmarshal(e.Value(), &cur) == nil && cur.Session != session && cur.Until.After(now) {
			return cur.Claim, fmt.Errorf("%w: %s", ErrClaimed, cur.Doing())
		}
		// Expired but not removed yet, or this session's own: replaced,
		// only if nobody changed it meanwhile.
		if _, err := b.claimKV.Update(ctx, key, data, e.Revision()); err == nil {
			b.remember(key, v)
			return v.Claim, nil
		} else if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return feedwire.Claim{}, fmt.Errorf("presence: claim call %s: %w", callID, err)
		}
	}
	return feedwire.Claim{}, fmt.Errorf("presence: claim call %s: it kept changing; try again", callID)
}

// remember notes a claim this replica just took, before its watch tells,
// so a console asking right after sees it.
func (b *Board) remember(key string, v claimValue) {
	b.mu.Lock()
	b.claims[key] = v
	b.mu.Unlock()
	b.publish()
}

// Holder returns the claim held on callID now and the session holding
// it, as this replica last heard from the bucket (no round trip: actions
// check it on every request).
func (b *Board) Holder(callID string) (feedwire.Claim, string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.claims[claimKey(callID)]
	if !ok || !c.Until.After(b.opts.Now()) {
		return feedwire.Claim{}, "", false
	}
	return c.Claim, c.Session, true
}

// Release gives up session's claim on callID. A claim someone else holds
// is left alone (and reported with ErrClaimed); no claim is no error.
func (b *Board) Release(ctx context.Context, callID, session string) error {
	key := claimKey(callID)
	e, err := b.claimKV.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("presence: read the claim on call %s: %w", callID, err)
	}
	var cur claimValue
	if json.Unmarshal(e.Value(), &cur) == nil && cur.Session != session && cur.Until.After(b.opts.Now()) {
		return fmt.Errorf("%w: %s", ErrClaimed, cur.Doing())
	}
	err = b.claimKV.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("presence: release the claim on call %s: %w", callID, err)
	}
	b.mu.Lock()
	if c, ok := b.claims[key]; ok && c.Session == session {
		delete(b.claims, key)
	}
	b.mu.Unlock()
	b.publish()
	return nil
}
