package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the key-value buckets.
const (
	// SessionsBucket holds the sessions, keyed by session id.
	SessionsBucket = "SWITCHBOARD_SESSIONS"
	// LoginsBucket holds sign-ins in progress (state, nonce, PKCE verifier)
	// for the few minutes between /auth/login and /auth/callback, so the
	// callback may land on any replica.
	LoginsBucket = "SWITCHBOARD_LOGINS"
	// loginLife is how long a sign-in may take.
	loginLife = 10 * time.Minute
)

// SessionOptions tune Sessions. Zero values take the defaults.
type SessionOptions struct {
	// IdleTimeout ends a session unused for this long (default 30 minutes).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login, used or not
	// (default 12 hours).
	AbsoluteTimeout time.Duration
	// SweepEvery is how often WatchEnded's sweeper looks for expired
	// sessions (default 30 s, and at most a quarter of IdleTimeout).
	SweepEvery time.Duration
	// Replicas is the buckets' replication factor: 1 embedded, 3 on a
	// cluster.
	Replicas int
	// Logger receives sweeper and watch trouble (default slog.Default()).
	Logger *slog.Logger
}

func (o SessionOptions) withDefaults() (SessionOptions, error) {
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.AbsoluteTimeout == 0 {
		o.AbsoluteTimeout = 12 * time.Hour
	}
	if o.IdleTimeout < 0 || o.AbsoluteTimeout < 0 || o.SweepEvery < 0 {
		return o, errors.New("auth: session timeouts must be positive")
	}
	if o.IdleTimeout > o.AbsoluteTimeout {
		return o, fmt.Errorf("auth: idle timeout %v is longer than the absolute timeout %v", o.IdleTimeout, o.AbsoluteTimeout)
	}
	if o.SweepEvery == 0 {
		o.SweepEvery = min(30*time.Second, o.IdleTimeout/4)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Session is a logged-in browser, kept server-side. The browser holds only
// a random token in a cookie; the session's ID is the token's SHA-256, so
// neither the bucket nor the logs hold a usable credential.
type Session struct {
	// ID identifies the session in the bucket, in User.SessionID and in
	// WatchEnded.
	ID      string `json:"id"`
	Subject string `json:"sub"`
	Name    string `json:"name"`
	Email   string `json:"email,omitempty"`
	Role    Role   `json:"role"`
	// IDToken is kept as the id_token_hint of the provider's end-session
	// endpoint, when the provider has one.
	IDToken  string    `json:"idToken,omitempty"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"lastSeen"`

	revision uint64
}

// User is the user of the session.
func (s Session) User() User {
	return User{Subject: s.Subject, Name: s.Name, Email: s.Email, Role: s.Role, SessionID: s.ID}
}

// ErrNoSession is returned for a token with no live session: never issued,
// logged out, revoked or expired.
var ErrNoSession = errors.New("auth: no such session")

// Sessions keeps sessions in a NATS key-value bucket, so every replica
// sees a login, a logout or a revocation at once. It is safe for concurrent
// use.
type Sessions struct {
	kv     jetstream.KeyValue
	logins jetstream.KeyValue
	nc     *nats.Conn // reads go to the buckets' leaders (leaderGet)
	opts   SessionOptions
	now    func() time.Time
	log    *slog.Logger
}

// bucketMaxBytes bounds each of the buckets on disk: far more than the
// sessions and sign-ins in progress a replica allows ever take.
const bucketMaxBytes = 64 << 20

// OpenSessions creates or updates the buckets and binds to them.
//
// The sessions bucket's age limit is twice the absolute timeout: sessions
// end on time through Get's checks and WatchEnded's sweeper, and the age
// limit only clears what no replica was running to sweep.
func OpenSessions(ctx context.Context, js jetstream.JetStream, opts SessionOptions) (*Sessions, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SessionsBucket,
		Description: "Switchboard: logged-in browsers",
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		History:     1,
		TTL:         2 * opts.AbsoluteTimeout,
		MaxBytes:    bucketMaxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: bucket %s: %w", SessionsBucket, err)
	}
	logins, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      LoginsBucket,
		Description: "Switchboard: sign-ins in progress",
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		History:     1,
		TTL:         loginLife,
		MaxBytes:    bucketMaxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: bucket %s: %w", LoginsBucket, err)
	}
	return &Sessions{kv: kv, logins: logins, nc: js.Conn(), opts: opts, now: time.Now, log: opts.Logger}, nil
}

// Options returns the options in effect, defaults applied.
func (s *Sessions) Options() SessionOptions { return s.opts }

// newToken returns 256 random bits, base64url-encoded.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// idOf is the key of a token: its SHA-256 in hex.
func idOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Create stores a new session for the user in sess (its ID, times and
// revision are set here) and returns the token for the browser's cookie.
func (s *Sessions) Create(ctx context.Context, sess Session) (string, Session, error) {
	token := newToken()
	now := s.now().UTC()
	sess.ID, sess.Created, sess.LastSeen = idOf(token), now, now
	body, err := json.Marshal(sess)
	if err != nil {
		return "", Session{}, fmt.Errorf("auth: encode session: %w", err)
	}
	rev, err := s.kv.Create(ctx, sess.ID, body)
	if err != nil {
		return "", Session{}, fmt.Errorf("auth: store session of %s: %w", sess.Name, err)
	}
	sess.revision = rev
	return token, sess, nil
}

// Get returns the live session of token. An expired session is ended on the
// way (WatchEnded fires) and reported as ErrNoSession.
func (s *Sessions) Get(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, ErrNoSession
	}
	return s.live(ctx, idOf(token))
}

// live returns session id if it exists and has not expired; an expired
// one is ended on the way.
func (s *Sessions) live(ctx context.Context, id string) (Session, error) {
	sess, err := s.get(ctx, id)
	if err != nil {
		return Session{}, err
	}
	if why := s.expired(sess, s.now()); why != "" {
		s.endExpired(ctx, sess, why)
		return Session{}, fmt.Errorf("%w: %s", ErrNoSession, why)
	}
	return sess, nil
}

// TouchID records use of session id, as Touch does, for code that holds a
// session's id rather than its token. The feed calls it now and then for
// each open websocket, so that watching the console counts as use, and
// closes the socket when it returns ErrNoSession (ended or expired).
func (s *Sessions) TouchID(ctx context.Context, id string) error {
	sess, err := s.live(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.Touch(ctx, sess)
	return err
}

func (s *Sessions) get(ctx context.Context, id string) (Session, error) {
	e, err := leaderGet(ctx, s.nc, SessionsBucket, id)
	if errors.Is(err, errAbsent) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("auth: read session: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(e.value, &sess); err != nil {
		return Session{}, fmt.Errorf("auth: decode session %s: %w", id, err)
	}
	sess.ID, sess.revision = id, e.revision
	return sess, nil
}

// expired says why sess is over at now, or "" if it is live.
func (s *Sessions) expired(sess Session, now time.Time) string {
	switch {
	case now.Sub(sess.Created) >= s.opts.AbsoluteTimeout:
		return "absolute timeout"
	case now.Sub(sess.LastSeen) >= s.opts.IdleTimeout:
		return "idle timeout"
	}
	return ""
}

// endExpired deletes an expired session unless another replica changed it
// meanwhile.
func (s *Sessions) endExpired(ctx context.Context, sess Session, why string) {
	err := s.kv.Delete(ctx, sess.ID, jetstream.LastRevision(sess.revision))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		s.log.Warn("expired session not ended", "session", sess.ID, "user", sess.Name, "why", why, "err", err)
	}
}

// touchEvery is how stale LastSeen may get before Touch writes it: at most
// one write a minute per session, and often enough that an active session
// never reaches the idle timeout.
func (s *Sessions) touchEvery() time.Duration {
	return min(time.Minute, s.opts.IdleTimeout/4)
}

// Touch records that sess is in use, which pushes back its idle timeout. It
// writes only when LastSeen is older than a minute (or a quarter of the
// idle timeout), and never revives a session ended meanwhile.
func (s *Sessions) Touch(ctx context.Context, sess Session) (Session, error) {
	now := s.now().UTC()
	if now.Sub(sess.LastSeen) < s.touchEvery() {
		return sess, nil
	}
	next := sess
	next.LastSeen = now
	body, err := json.Marshal(next)
	if err != nil {
		return sess, fmt.Errorf("auth: encode session: %w", err)
	}
	rev, err := s.kv.Update(ctx, sess.ID, body, sess.revision)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return sess, nil // another request or replica touched or ended it first
	}
	if err != nil {
		return sess, fmt.Errorf("auth: touch session: %w", err)
	}
	next.revision = rev
	return next, nil
}

// End ends session id now, on every replica. Ending a session that is not
// there is not an error.
func (s *Sessions) End(ctx context.Context, id string) error {
	if _, err := s.get(ctx, id); errors.Is(err, ErrNoSession) {
		return nil
	}
	if err := s.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}

// Sweep ends every expired session and returns how many it ended. Replicas
// may sweep at once: a session is deleted only at the revision found
// expired, so a session touched meanwhile survives and each end happens
// once.
func (s *Sessions) Sweep(ctx context.Context) (int, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("auth: list sessions: %w", err)
	}
	defer lister.Stop()
	var ids []string
	for id := range lister.Keys() {
		ids = append(ids, id)
	}
	now, ended := s.now(), 0
	for _, id := range ids {
		sess, err := s.get(ctx, id)
		if err != nil {
			continue // ended meanwhile, or unreadable: Get refuses it anyway
		}
		why := s.expired(sess, now)
		if why == "" {
			continue
		}
		if err := s.kv.Delete(ctx, id, jetstream.LastRevision(sess.revision)); err == nil {
			ended++
			s.log.Info("session expired", "session", id, "user", sess.Name, "why", why)
		}
	}
	return ended, nil
}

// WatchEnded calls fn with the id of every session that ends on any
// replica from now on: logout, revocation or expiry. It returns once the
// watch is in place; the watch and a sweeper that ends expired sessions run
// until ctx is done. fn runs on one goroutine, in order, and should return
// quickly (close the session's websockets, no more).
//
// Expiry is noticed by the sweeper every SweepEvery: as long as one replica
// watches, an expired session ends within that time everywhere (Get refuses
// it at once regardless).
func (s *Sessions) WatchEnded(ctx context.Context, fn func(sessionID string)) error {
	w, err := s.kv.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		return fmt.Errorf("auth: watch sessions: %w", err)
	}
	go s.watchEnded(ctx, w, fn)
	go s.sweep(ctx)
	return nil
}

// watchEnded reads w until ctx ends. A watch that stops (NATS went away
// for too long) is made again, with backoff: logouts on other replicas
// must keep closing this replica's feeds.
func (s *Sessions) watchEnded(ctx context.Context, w jetstream.KeyWatcher, fn func(sessionID string)) {
	wait := 250 * time.Millisecond
	for {
		s.readEnded(ctx, w, fn)
		w.Stop()
		for {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("auth: the watch of ended sessions stopped; watching again", "in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
			var err error
			if w, err = s.kv.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.MetaOnly()); err == nil {
				wait = 250 * time.Millisecond
				break
			}
		}
	}
}

func (s *Sessions) readEnded(ctx context.Context, w jetstream.KeyWatcher, fn func(sessionID string)) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil && (e.Operation() == jetstream.KeyValueDelete || e.Operation() == jetstream.KeyValuePurge) {
				fn(e.Key())
			}
		}
	}
}

func (s *Sessions) sweep(ctx context.Context) {
	t := time.NewTicker(s.opts.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("session sweep failed", "err", err)
			}
		}
	}
}

// loginAttempt is a sign-in between /auth/login and /auth/callback.
type loginAttempt struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Next     string    `json:"next"`
	Created  time.Time `json:"created"`
}

// errNoLogin is returned for a sign-in that is unknown, expired or used.
var errNoLogin = errors.New("no sign-in in progress")

// saveLogin stores a and returns the token for the browser's login cookie.
func (s *Sessions) saveLogin(ctx context.Context, a loginAttempt) (string, error) {
	token := newToken()
	a.Created = s.now().UTC()
	body, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("auth: encode sign-in: %w", err)
	}
	if _, err := s.logins.Create(ctx, idOf(token), body); err != nil {
		return "", fmt.Errorf("auth: store sign-in: %w", err)
	}
	return token, nil
}

// takeLogin returns the sign-in of token and deletes it: a sign-in
// completes once.
func (s *Sessions) takeLogin(ctx context.Context, token string) (loginAttempt, error) {
	if token == "" {
		return loginAttempt{}, errNoLogin
	}
	id := idOf(token)
	e, err := leaderGet(ctx, s.nc, LoginsBucket, id)
	if errors.Is(err, errAbsent) {
		return loginAttempt{}, errNoLogin
	}
	if err != nil {
		return loginAttempt{}, fmt.Errorf("auth: read sign-in: %w", err)
	}
	if err := s.logins.Delete(ctx, id, jetstream.LastRevision(e.revision)); err != nil {
		return loginAttempt{}, fmt.Errorf("%w: it was completed meanwhile (%v)", errNoLogin, err)
	}
	var a loginAttempt
	if err := json.Unmarshal(e.value, &a); err != nil {
		return loginAttempt{}, fmt.Errorf("auth: decode sign-in: %w", err)
	}
	if s.now().Sub(a.Created) > loginLife {
		return loginAttempt{}, fmt.Errorf("%w: it expired", errNoLogin)
	}
	return a, nil
}
