package verba

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/backend/audit"
	"switchboard/backend/clientaddr"
	"switchboard/backend/ratelimit"
	"switchboard/backend/reqbody"
)

// requestTimeout bounds the work of one request. The work is detached from
// the client's connection: a deletion that has begun is completed and
// audited even if the client goes away.
const requestTimeout = 15 * time.Second

// Service serves the recording platform's HTTP Business API: DeleteCall,
// RequestToken and RevokeToken. It is safe for concurrent use, and several
// replicas sharing one NATS share its tokens and armed deletions.
type Service struct {
	auth        *authenticator
	tokens      *tokenStore
	arms        jetstream.KeyValue
	deleted     jetstream.KeyValue
	lockouts    *lockouts
	limit       *ratelimit.Limiter
	floods      *audit.Floods
	store       Store
	audit       audit.Recorder
	now         func() time.Time
	clientAddr  func(*http.Request) netip.Addr
	bodyTimeout time.Duration
	log         *slog.Logger
}

// New checks the configuration, binds (creating if needed) the NATS KV
// buckets and returns a Service ready to be mounted at /verba/api.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Audit == nil || cfg.JS == nil {
		return nil, errors.New("verba: Config needs Store, Audit and JS")
	}
	cfg = withDefaults(cfg)
	tokens, err := openTokenStore(ctx, cfg.JS, cfg.Replicas, cfg.Now)
	if err != nil {
		return nil, err
	}
	auth, err := newAuthenticator(cfg.Keys, cfg.Users, tokens)
	if err != nil {
		return nil, fmt.Errorf("verba: %w", err)
	}
	arms, err := openBucket(ctx, cfg, ArmBucket, "Switchboard: DeleteCall next-call deletions waiting for their call", armRetention)
	if err != nil {
		return nil, err
	}
	deleted, err := openBucket(ctx, cfg, DeletedBucket, "Switchboard: identifiers of calls DeleteCall deleted, by hash", cfg.RememberDeleted)
	if err != nil {
		return nil, err
	}
	locks, err := openLockouts(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.Keys) == 0 {
		cfg.Logger.Warn("verba: no API keys configured; DeleteCall refuses every request")
	}
	return &Service{auth: auth, tokens: tokens, arms: arms, deleted: deleted, lockouts: locks,
		limit: ratelimit.New(cfg.Limits), floods: cfg.Floods, store: cfg.Store, audit: cfg.Audit, now: cfg.Now,
		clientAddr: cfg.ClientAddr, bodyTimeout: cfg.BodyTimeout, log: cfg.Logger}, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	if cfg.RememberDeleted <= 0 {
		cfg.RememberDeleted = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = remoteAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Limits.Now == nil {
		cfg.Limits.Now = cfg.Now
	}
	if cfg.LockoutAfter == 0 {
		cfg.LockoutAfter = DefaultLockoutAfter
	}
	if cfg.LockoutWindow <= 0 {
		cfg.LockoutWindow = DefaultLockoutWindow
	}
	if cfg.LockoutFor <= 0 {
		cfg.LockoutFor = DefaultLockoutFor
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	return cfg
}

// bucketMaxBytes bounds each of the API's buckets on disk (tokens, armed
// deletions, deleted identifiers, lockouts).
const bucketMaxBytes = 64 << 20

func openBucket(ctx context.Context, cfg Config, name, description string, ttl time.Duration) (jetstream.KeyValue, error) {
	kv, err := cfg.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      name,
		Description: description,
		TTL:         ttl,
		Replicas:    cfg.Replicas,
		Storage:     jetstream.FileStorage,
		MaxBytes:    bucketMaxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("verba: bucket %s: %w", name, err)
	}
	return kv, nil
}

// remoteAddr is the default ClientAddr: the connection's peer.
func remoteAddr(r *http.Request) netip.Addr { return clientaddr.Peer(r) }

// caller is who is asking: the key (once known), the API user (with a token
// or Basic credentials) and the address.
type caller struct {
	key  Key
	user string
	addr netip.Addr
}

// actor names the caller in the audit trail.
func (c caller) actor() string {
	if c.key.Name == "" {
		return "apikey:(unknown)"
	}
	return "apikey:" + c.key.Name
}

func (c caller) remote() string {
	if !c.addr.IsValid() {
		return ""
	}
	return c.addr.String()
}

// ServeHTTP answers one API request. Every answer, success or error, carries
// the envelope in the requested format; the HTTP status tells the same.
//
// An address that has failed too often is refused first, unchecked and
// with its body unread (429). Failures before and during authentication
// count against the address; failed authentications with a known key also
// count against the key, which is locked out when they come too fast.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), requestTimeout)
	defer cancel()
	query, _ := url.ParseQuery(r.URL.RawQuery) // keeps what parses; readParams reports the rest
	f, action := peek(query)
	c := caller{addr: s.clientAddr(r)}
	if wait, blocked := s.limit.Blocked(c.addr); blocked {
		s.fail(w, f, action, s.refuse(ctx, action, c, wait))
		return
	}
	env, err := s.answer(ctx, w, r, &c, &f, &action)
	if err != nil {
		s.counted(c, err)
		s.fail(w, f, action, err)
		return
	}
	env.Code, env.Type = codeOK, action
	env.write(w, f, http.StatusOK)
}

// answer reads the request and serves it. It updates the format and
// action as soon as they are understood, so that errors answer in them.
func (s *Service) answer(ctx context.Context, w http.ResponseWriter, r *http.Request, c *caller, f *format, action *string) (envelope, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		e := errorf(http.StatusMethodNotAllowed, "method %s is not allowed; use GET or POST", r.Method)
		e.unread = true
		return envelope{}, e
	}
	v, err := readParams(w, r, s.bodyTimeout)
	if err != nil {
		if v != nil {
			*f, *action = peek(v)
		}
		return envelope{}, err
	}
	req, err := parseRequest(v)
	*f, *action = req.format, req.action
	if err != nil {
		s.denied(ctx, req.action, *c, err)
		return envelope{}, err
	}
	return s.serve(ctx, r, req, c)
}

// serve authenticates the caller and runs the action.
func (s *Service) serve(ctx context.Context, r *http.Request, req request, c *caller) (envelope, error) {
	k, err := s.auth.key(req.apiKey, c.addr)
	c.key = k
	if k.Name != "" {
		until, lerr := s.lockouts.until(ctx, k)
		if lerr != nil {
			return envelope{}, lerr
		}
		if !until.IsZero() {
			e := lockedOut(until, s.now())
			s.flood(ctx, req.action, *c, true, audit.ActionRefused, e.msg, req.action)
			return envelope{}, e
		}
	}
	if err != nil {
		s.denied(ctx, req.action, *c, err)
		return envelope{}, err
	}
	switch req.action {
	case actionRequestToken:
		return s.requestToken(ctx, r, c)
	case actionRevokeToken:
		return s.revokeToken(ctx, req.token, *c)
	}
	if c.user, err = s.auth.token(ctx, k, req.token); err != nil {
		s.denied(ctx, req.action, *c, err)
		return envelope{}, err
	}
	return s.deleteCall(ctx, req.lookup, *c)
}

// requestToken checks the API user's Basic credentials and issues a token
// bound to the caller's key.
func (s *Service) requestToken(ctx context.Context, r *http.Request, c *caller) (envelope, error) {
	login, err := s.auth.user(r)
	c.user = login
	if err != nil {
		s.denied(ctx, actionRequestToken, *c, err)
		return envelope{}, err
	}
	token, expires, err := s.tokens.issue(ctx, c.key, login)
	if err != nil {
		return envelope{}, err
	}
	s.record(ctx, *c, audit.ActionToken, "", audit.OutcomeOK,
		fmt.Sprintf("token issued to API user %s, expires %s", login, expires.UTC().Format(time.RFC3339)))
	return envelope{Token: token}, nil
}

// revokeToken ends a token issued for the caller's key.
func (s *Service) revokeToken(ctx context.Context, token string, c caller) (envelope, error) {
	already, err := s.tokens.revoke(ctx, c.key, token)
	if err != nil {
		s.denied(ctx, actionRevokeToken, c, err)
		return envelope{}, err
	}
	if already {
		return envelope{Message: "token was already revoked"}, nil
	}
	s.record(ctx, c, audit.ActionToken, "", audit.OutcomeOK, "token revoked")
	return envelope{Message: "token revoked"}, nil
}

// fail answers an error in format f. Errors that are not *apiError are the
// server's own: they are logged and answered with a 500 that reveals nothing.
func (s *Service) fail(w http.ResponseWriter, f format, action string, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("verba: request failed", "action", action, "err", err)
		ae = errorf(http.StatusInternalServerError, "internal error: the request may or may not have taken effect; it is safe to retry")
	}
	if ae.challenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="Verba API", charset="UTF-8"`)
	}
	if ae.unread {
		reqbody.Abandon(w)
	}
	if ae.status == http.StatusTooManyRequests {
		ratelimit.RetryAfter(w, ae.retryAfter)
	}
	envelope{Code: codeError, Type: action, ErrorMessage: ae.msg}.write(w, f, ae.status)
}

// refuse answers a request from an address over its limit, unchecked.
func (s *Service) refuse(ctx context.Context, action string, c caller, wait time.Duration) error {
	e := errorf(http.StatusTooManyRequests, "too many failed requests from %s; retry after %d s",
		addrString(c.addr), retrySeconds(wait))
	e.retryAfter, e.unread = wait, true
	s.flood(ctx, action, c, true, audit.ActionRefused, e.msg, action)
	return e
}

// counted spends the address's allowance on a failure that shows nothing
// legitimate: anything refused before or during authentication. An
// authenticated caller's 404 or 409, and the server's own errors, do not
// count.
func (s *Service) counted(c caller, err error) {
	var ae *apiError
	if !errors.As(err, &ae) || ae.status == http.StatusNotFound || ae.status == http.StatusConflict {
		return
	}
	s.limit.Spend(c.addr)
}

// denied records a failed authentication (401 or 403) in the audit trail,
// and counts it against the key if one was recognised; other errors are
// not authentication failures and are left alone.
func (s *Service) denied(ctx context.Context, action string, c caller, err error) {
	var ae *apiError
	if !errors.As(err, &ae) || (ae.status != http.StatusUnauthorized && ae.status != http.StatusForbidden) {
		return
	}
	detail := action
	if c.user != "" {
		detail += " as API user " + c.user
	}
	if ae.auditNote != "" {
		detail += " (" + ae.auditNote + ")"
	}
	s.flood(ctx, action, c, false, audit.ActionLoginFailed, ae.msg, detail)
	if c.key.Name != "" {
		s.keyFailed(ctx, c, action, ae.msg)
	}
}

// keyFailed counts a failed authentication against c's key, and audits
// the lockout it may cause.
func (s *Service) keyFailed(ctx context.Context, c caller, action, reason string) {
	until, locked, err := s.lockouts.failed(ctx, c.key, reason)
	if err != nil {
		s.log.Error("verba: failed authentication not counted against the key", "key", c.key.Name, "err", err)
		return
	}
	if locked {
		s.log.Warn("verba: API key locked out", "key", c.key.Name, "until", until, "remote", c.remote())
		s.record(ctx, c, audit.ActionLockout, "", fmt.Sprintf("locked out until %s after repeated failed authentications",
			until.UTC().Format(time.RFC3339)), fmt.Sprintf("%s; the last failure: %s", action, reason))
	}
}

// flood records a failed or refused request: through Floods, a flood as
// one entry; without, a failure on its own and a refusal not at all.
func (s *Service) flood(ctx context.Context, action string, c caller, refused bool, auditAction, outcome, detail string) {
	e := audit.Entry{At: s.now(), Actor: c.actor(), Action: auditAction, Outcome: outcome, Detail: detail, Remote: c.remote()}
	if s.floods == nil {
		if !refused {
			s.write(ctx, e)
		}
		return
	}
	kind := "failed requests"
	if action != "" {
		kind = "failed " + action + " requests"
	}
	s.floods.Record(ctx, audit.Failure{Kind: kind, From: ratelimit.Key(c.addr), Refused: refused, Entry: e})
}

// record writes an audit entry. A failure to record is logged: the action
// it describes has already happened and is not undone.
func (s *Service) record(ctx context.Context, c caller, action, target, outcome, detail string) {
	s.write(ctx, audit.Entry{At: s.now(), Actor: c.actor(), Action: action, Target: target,
		Outcome: outcome, Detail: detail, Remote: c.remote()})
}

func (s *Service) write(ctx context.Context, e audit.Entry) {
	if err := s.audit.Record(ctx, e); err != nil {
		s.log.Error("verba: audit entry lost", "actor", e.Actor, "action", e.Action, "target", e.Target, "err", err)
	}
}
