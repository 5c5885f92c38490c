package graphsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Sim. CallbackURL (or CallbackURLs), TenantID,
// ClientID, ClientSecret and AppID are required; every other field has a
// default.
type Config struct {
	// CallbackURL is where notifications are POSTed: the bot's webhook,
	// e.g. http://127.0.0.1:8080/api/graph/notifications. It defaults to
	// the first of CallbackURLs.
	CallbackURL string
	// CallbackURLs are the webhook's replicas when the bot runs several
	// with no load balancer in front of them. A notification for any of
	// them (CallbackURL, or a callbackUri the bot gave that is one of them)
	// goes to the next one in turn, and at once to the one after when a
	// replica is down, answers 5xx or 429 — what a load balancer does — so
	// the bot's replicas share the traffic and one down loses nothing.
	// CallbackURL, when set, must be one of them.
	CallbackURLs []string
	// Rate is how many new calls per minute Run generates; 0 generates none.
	Rate float64
	// Seed makes traffic reproducible: the same seed gives the same
	// sequence of calls, ids, scripts and wire quirks.
	Seed int64
	// IDSalt, when not zero, is mixed into the ids of new calls and their
	// chains: the same Seed gives the same traffic under other ids. A demo
	// restarted on the same data with the same seed gives it a fresh salt,
	// so its new calls never reuse the ids of calls the event log already
	// holds (which would fold them into those old, ended calls).
	IDSalt uint64
	// TenantID is the tenant put in notification tokens ("tid") and the
	// only tenant the token endpoint serves.
	TenantID string
	// ClientID and ClientSecret are the client credentials the token
	// endpoint accepts.
	ClientID     string
	ClientSecret string
	// AppID is the bot's app id: the audience ("aud") of notification
	// tokens, and the identity incoming calls target.
	AppID string
	// BotName is the bot's display name in identity sets. Default "Calling Bot".
	BotName string
	// PublicURL is the simulator's own base URL, used for the jwks_uri of
	// its OpenID configuration. It is usually known only once the caller
	// listens; SetPublicURL sets it then. Empty means the Host of each
	// discovery request.
	PublicURL string
	// IncomingTimeout is how long an incoming call waits to be answered,
	// rejected or redirected before it ends with 408/1106. Default 15s.
	IncomingTimeout time.Duration
	// KeepAliveTimeout is how long an established call lives without a
	// keepAlive before it ends with 408/8537. Default 45m.
	KeepAliveTimeout time.Duration
	// PlainWire turns off the delivery quirks (duplicates, reordering,
	// codes as numbers, subCode, DiagCode suffixes), for tests that compare
	// bodies with the documentation's examples.
	PlainWire bool
	// ThrottleEvery, when positive, answers every ThrottleEvery-th Graph API
	// request with 429 Too Many Requests, to exercise a client's retries.
	ThrottleEvery int
	// ThrottleRetryAfter is the Retry-After of throttled requests. Default 1s.
	ThrottleRetryAfter time.Duration
	// RetryBackoff is the wait before the first retry of a failed
	// delivery; it doubles for each further retry. Default 250ms.
	RetryBackoff time.Duration
	// StepDelay is the time between the steps of an action requested
	// through the API (a transfer's transferring, transferAccepted and
	// deleted; an operation's start and end). Default 300ms.
	StepDelay time.Duration
	// Logger receives the simulator's logs. Nil discards them.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultIncomingTimeout    = 15 * time.Second
	DefaultKeepAliveTimeout   = 45 * time.Minute
	DefaultThrottleRetryAfter = time.Second
	DefaultRetryBackoff       = 250 * time.Millisecond
	DefaultStepDelay          = 300 * time.Millisecond
	DefaultBotName            = "Calling Bot"
)

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	c.CallbackURLs = slices.Clone(c.CallbackURLs) // the caller's slice may change
	if c.CallbackURL == "" && len(c.CallbackURLs) > 0 {
		c.CallbackURL = c.CallbackURLs[0]
	}
	errs = append(errs, c.checkCallbackURLs()...)
	for _, f := range []struct{ name, value string }{
		{"CallbackURL", c.CallbackURL}, {"TenantID", c.TenantID}, {"ClientID", c.ClientID},
		{"ClientSecret", c.ClientSecret}, {"AppID", c.AppID},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		}
	}
	if c.CallbackURL != "" {
		if err := checkHTTPURL(c.CallbackURL); err != nil {
			errs = append(errs, fmt.Errorf("CallbackURL: %w", err))
		}
	}
	if c.PublicURL != "" {
		if err := checkHTTPURL(c.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("PublicURL: %w", err))
		}
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		errs = append(errs, fmt.Errorf("calls per minute (Rate) %v is negative or not finite", c.Rate))
	}
	for _, f := range []struct {
		name  string
		value time.Duration
	}{
		{"IncomingTimeout", c.IncomingTimeout}, {"KeepAliveTimeout", c.KeepAliveTimeout},
		{"ThrottleRetryAfter", c.ThrottleRetryAfter}, {"RetryBackoff", c.RetryBackoff}, {"StepDelay", c.StepDelay},
	} {
		if f.value < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", f.name, f.value))
		}
	}
	if c.ThrottleEvery < 0 {
		errs = append(errs, fmt.Errorf("ThrottleEvery %d is negative", c.ThrottleEvery))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("graphsim: config: %w", err)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	c.BotName = orDefault(c.BotName, DefaultBotName)
	c.IncomingTimeout = orDefault(c.IncomingTimeout, DefaultIncomingTimeout)
	c.KeepAliveTimeout = orDefault(c.KeepAliveTimeout, DefaultKeepAliveTimeout)
	c.ThrottleRetryAfter = orDefault(c.ThrottleRetryAfter, DefaultThrottleRetryAfter)
	c.RetryBackoff = orDefault(c.RetryBackoff, DefaultRetryBackoff)
	c.StepDelay = orDefault(c.StepDelay, DefaultStepDelay)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// checkCallbackURLs validates CallbackURLs and that CallbackURL is among them.
func (c Config) checkCallbackURLs() []error {
	var errs []error
	for i, u := range c.CallbackURLs {
		if err := checkHTTPURL(u); err != nil {
			errs = append(errs, fmt.Errorf("CallbackURLs[%d]: %w", i, err))
		}
		if slices.Index(c.CallbackURLs, u) < i {
			errs = append(errs, fmt.Errorf("CallbackURLs lists %q twice", u))
		}
	}
	if len(c.CallbackURLs) > 0 && !slices.Contains(c.CallbackURLs, c.CallbackURL) {
		errs = append(errs, fmt.Errorf("CallbackURL %q is not one of CallbackURLs", c.CallbackURL))
	}
	return errs
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	return nil
}

// Sim is a simulated Graph cloud: token endpoint, calls API, notification
// sender and traffic generator. Create one with New, serve Handler, and
// Close it when done. Its methods are safe for concurrent use.
type Sim struct {
	cfg         Config
	log         *slog.Logger
	keys        *signingKeys
	notifyToken tokenCache
	client      *http.Client
	bot         Party
	// turn picks the webhook replica (Config.CallbackURLs) the next
	// notification goes to first.
	turn atomic.Uint64

	// base ends with Close: it bounds deliveries and timers.
	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // delivery goroutines

	mu        sync.Mutex
	closed    bool
	running   bool       // Run is generating traffic
	gen       *generator // Run's traffic, kept so a later Run goes on with it
	publicURL string
	calls     map[string]*call
	lastPrune time.Time
	ids       *mrand.Rand // ids of scripted calls
	requests  []Request
	// directory holds the tenant's users by lower-case id and UPN.
	directory map[string]DirectoryUser
	// unreachable holds the (lower-case) ids transfers to fail.
	unreachable map[string]bool
	apiCount    int
	throttle    throttle
}

// throttle is the state of test-driven throttling (ThrottleNext).
type throttle struct {
	left       int
	retryAfter time.Duration
}

// maxRequests bounds the request log so a long demo does not grow without end.
const maxRequests = 10_000

// New returns a Sim for cfg, with a freshly generated RSA signing key.
func New(cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("graphsim: generate signing key: %w", err)
	}
	keys, err := newSigningKeys(key)
	if err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	s := &Sim{
		cfg:         cfg,
		log:         cfg.Logger,
		keys:        keys,
		client:      &http.Client{Transport: transport},
		bot:         Party{Kind: PartyApplication, ID: cfg.AppID, DisplayName: cfg.BotName},
		base:        base,
		stop:        stop,
		publicURL:   cfg.PublicURL,
		calls:       make(map[string]*call),
		ids:         mrand.New(mrand.NewPCG(uint64(cfg.Seed), streamScripted)),
		directory:   make(map[string]DirectoryUser),
		unreachable: make(map[string]bool),
	}
	// The traffic's people are the directory: calls come from them, and
	// supervisors redirect and transfer calls to them.
	s.gen = newGenerator(cfg.Seed, cfg.Rate, s.bot)
	s.gen.salt = cfg.IDSalt
	for _, p := range s.gen.people {
		s.addUserLocked(DirectoryUser{ID: p.ID, DisplayName: p.DisplayName, UPN: upnOf(p.DisplayName)})
	}
	return s, nil
}

// Streams of the seeded random number generators, so that the generator,
// scripted ids and each call's quirks draw from independent sequences.
const (
	streamTraffic  = 0x7261666669630001
	streamScripted = 0x7363726970740002
)

// Close stops the simulator: timers stop, pending deliveries are dropped and
// in-flight ones cancelled. Calls stay as they are. Close waits for the
// delivery goroutines to finish.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, c := range s.calls {
		c.stopTimer()
	}
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return nil
}

// errClosed is returned by operations on a closed Sim, and answered by its API.
var errClosed = &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "The simulator is closed."}

// SetPublicURL sets the simulator's base URL once it is known, e.g. after
// the caller started listening. It changes the jwks_uri of the OpenID
// configuration and what JWKSURL and OpenIDConfigURL return.
func (s *Sim) SetPublicURL(u string) error {
	if err := checkHTTPURL(u); err != nil {
		return fmt.Errorf("graphsim: public URL: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publicURL = strings.TrimSuffix(u, "/")
	return nil
}

func (s *Sim) publicBase() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicURL
}

// Paths of the OpenID configuration and the key set, under the public URL.
const (
	OpenIDConfigPath = "/v1/.well-known/OpenIdConfiguration"
	JWKSPath         = "/v1/keys"
)

// OpenIDConfigURL is the URL of the OpenID configuration describing the
// keys of notification tokens: the simulator's stand-in for
// https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration.
func (s *Sim) OpenIDConfigURL() string { return s.publicBase() + OpenIDConfigPath }

// JWKSURL is the URL of the key set that verifies notification tokens, for
// oidc.NewRemoteKeySet. (go-oidc's discovery would reject the configuration
// document, whose issuer is Graph's, not the simulator's URL.)
func (s *Sim) JWKSURL() string { return s.publicBase() + JWKSPath }

// TokenURL is the client-credentials token endpoint for the configured tenant.
func (s *Sim) TokenURL() string {
	return s.publicBase() + "/" + s.cfg.TenantID + "/oauth2/v2.0/token"
}

// GraphURL is the base URL of the simulated Graph API, like
// https://graph.microsoft.com/v1.0.
func (s *Sim) GraphURL() string { return s.publicBase() + "/v1.0" }

// Call returns the simulator's view of call id. Ended calls are kept for
// ten minutes after they end.
func (s *Sim) Call(id string) (CallInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[id]
	if !ok {
		return CallInfo{}, false
	}
	return c.info.clone(), true
}

// Calls returns the simulator's view of every call it keeps, live or
// recently ended, in no particular order.
func (s *Sim) Calls() []CallInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallInfo, 0, len(s.calls))
	for _, c := range s.calls {
		out = append(out, c.info.clone())
	}
	return out
}

// Requests returns the Graph API requests received so far (the most recent
// ten thousand), oldest first.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.requests)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
	}
	return out
}

func (s *Sim) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxRequests {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRequests+1)
	}
	s.requests = append(s.requests, r)
}

// ThrottleNext makes the next n Graph API requests answer 429 Too Many
// Requests with a Retry-After of retryAfter (rounded to milliseconds, sent
// as possibly fractional seconds), so a test can exercise a client's
// retries. It works in addition to Config.ThrottleEvery; a new call
// replaces the count left by the previous one.
func (s *Sim) ThrottleNext(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = throttle{left: max(n, 0), retryAfter: max(retryAfter, 0)}
}

// throttled reports whether the current API request must be throttled,
// and with which Retry-After.
func (s *Sim) throttled() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiCount++
	if s.throttle.left > 0 {
		s.throttle.left--
		return s.throttle.retryAfter, true
	}
	if n := s.cfg.ThrottleEvery; n > 0 && s.apiCount%n == 0 {
		return s.cfg.ThrottleRetryAfter, true
	}
	return 0, false
}

// Handler serves the token endpoint, the Graph API under /v1.0 and /beta
// (calls, and the users of the directory), and the OpenID configuration
// and keys of notification tokens.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("GET "+OpenIDConfigPath, s.serveOpenIDConfig)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveOpenIDConfig)
	mux.HandleFunc("GET "+JWKSPath, s.serveJWKS)
	s.routeGraph(mux)
	return mux
}
