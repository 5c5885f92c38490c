// Package graph is Switchboard's client for the Microsoft Graph calls API: it
// answers, rejects, redirects, transfers, hangs up and keeps alive a calling
// bot's calls, mutes participants of group calls, reads a call back to tell
// whether it still exists, and looks users up by sign-in name.
//
// A Client signs every request with an application token obtained with the
// OAuth 2.0 client credentials grant, cached and refreshed as it expires. It
// retries throttled (429) and unavailable (503) responses, honouring Graph's
// Retry-After header, within a bounded number of attempts and a bounded total
// wait, and it repeats requests after network failures only when repeating
// them cannot act twice (GET, DELETE and keepAlive).
//
// Failures Graph reports are returned as *Error, which carries Graph's error
// code, message and request id for support cases; IsNotFound and IsThrottled
// answer the two questions callers ask most often.
//
// A Client is safe for concurrent use by multiple goroutines.
package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Defaults applied by New to the zero fields of a Config.
const (
	DefaultBaseURL     = "https://graph.microsoft.com/v1.0"
	DefaultScope       = "https://graph.microsoft.com/.default"
	DefaultRetryBudget = 10 * time.Second
	DefaultMaxAttempts = 4
	DefaultBackoffBase = 250 * time.Millisecond
	DefaultHTTPTimeout = 10 * time.Second
)

// defaultTokenURL is Microsoft Entra ID's v2.0 token endpoint; %s is the tenant.
const defaultTokenURL = "https://login.microsoftonline.com/%s/oauth2/v2.0/token"

// Config describes how a Client reaches Graph and authenticates to it.
// Only the credentials are required; every other field has a default.
type Config struct {
	// BaseURL is Graph's service root including the version, such as
	// "https://graph.microsoft.com/v1.0" (the default),
	// "https://graph.microsoft.com/beta" or a simulator's
	// "http://127.0.0.1:9090/v1.0".
	BaseURL string

	// TokenURL is the OAuth 2.0 token endpoint. The default is
	// "https://login.microsoftonline.com/{TenantID}/oauth2/v2.0/token".
	TokenURL string

	// TenantID is the Entra ID tenant of the bot's application. It is
	// required unless TokenURL is set.
	TenantID string

	// ClientID and ClientSecret are the application's credentials.
	// Both are required. The secret is never logged.
	ClientID     string
	ClientSecret string

	// Scopes requested with the token. The default is
	// ["https://graph.microsoft.com/.default"].
	Scopes []string

	// CallbackURI is the bot's notification URL. Graph requires it to
	// answer a call; it is also sent with reject and redirect when set.
	CallbackURI string

	// QualifiedActions names actions the way Microsoft's C# SDK does,
	// …/{id}/microsoft.graph.answer instead of …/{id}/answer. Graph
	// accepts both.
	QualifiedActions bool

	// RetryBudget is the total time one operation may spend waiting
	// between attempts (default 10s). A retry whose wait would overrun
	// the budget, or the context's deadline, is not made.
	RetryBudget time.Duration

	// MaxAttempts bounds the number of HTTP attempts per operation,
	// the first one included (default 4).
	MaxAttempts int

	// BackoffBase is the wait before the first retry when Graph sends no
	// Retry-After (default 250ms). It doubles with every further retry,
	// with random jitter so that many clients do not retry in step.
	BackoffBase time.Duration

	// TokenRetryAfter is how long after a failed token fetch the next one
	// is made (default 5s; negative: at once). Meanwhile calls fail at
	// once with that failure instead of each asking the token endpoint
	// again: with 50,000 live calls, keepAlives alone come 55 a second,
	// and an endpoint in trouble is not helped by being asked that often.
	TokenRetryAfter time.Duration

	// HTTPClient carries the requests, to Graph and to the token
	// endpoint. It must not add authentication of its own. The default
	// is an http.Client with a 10s timeout.
	HTTPClient *http.Client

	// Observe, if set, is called after every HTTP attempt to Graph with
	// the operation ("answer", "reject", "redirect", "transfer", "mute",
	// "hangup", "keepalive", "get" or "user"), the response status (0 when no response
	// arrived) and the attempt's duration. It suits metrics.
	Observe func(op string, status int, d time.Duration)

	// Logger receives retries and token failures. The default is
	// slog.Default().
	Logger *slog.Logger
}

// Client calls Graph's calls API on behalf of one application.
// Create it with New.
type Client struct {
	base        string // service root without a trailing slash
	tokenURL    string
	callbackURI string
	qualified   bool
	tokens      oauth2.TokenSource
	// fetching serialises token fetches; failed is the last fetch's
	// failure, and retryAt when the next fetch may be made (see
	// Config.TokenRetryAfter). Both are guarded by fetching.
	fetching    sync.Mutex
	failed      error
	retryAt     time.Time
	retryAfter  time.Duration
	http        *http.Client
	retryBudget time.Duration
	maxAttempts int
	backoffBase time.Duration
	observe     func(op string, status int, d time.Duration)
	log         *slog.Logger
}

// New validates cfg, fills in its defaults and returns a Client.
// It makes no network request: the first token is fetched by the first call.
func New(cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return &Client{
		base:        strings.TrimRight(cfg.BaseURL, "/"),
		tokenURL:    cfg.TokenURL,
		callbackURI: cfg.CallbackURI,
		qualified:   cfg.QualifiedActions,
		tokens:      newTokenSource(cfg),
		retryAfter:  cfg.TokenRetryAfter,
		http:        cfg.HTTPClient,
		retryBudget: cfg.RetryBudget,
		maxAttempts: cfg.MaxAttempts,
		backoffBase: cfg.BackoffBase,
		observe:     cfg.Observe,
		log:         cfg.Logger,
	}, nil
}

// setDefaults fills the zero fields of cfg. It fails only when a default
// cannot be derived (the token URL without a tenant).
func (cfg *Config) setDefaults() error {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.TokenURL == "" {
		if cfg.TenantID == "" {
			return errors.New("config: TenantID is required when TokenURL is not set")
		}
		cfg.TokenURL = fmt.Sprintf(defaultTokenURL, url.PathEscape(cfg.TenantID))
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{DefaultScope}
	}
	if cfg.RetryBudget == 0 {
		cfg.RetryBudget = DefaultRetryBudget
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.TokenRetryAfter == 0 {
		cfg.TokenRetryAfter = 5 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// validate reports the first problem with a defaulted cfg.
func (cfg *Config) validate() error {
	if cfg.ClientID == "" {
		return errors.New("config: ClientID is required")
	}
	if cfg.ClientSecret == "" {
		return errors.New("config: ClientSecret is required")
	}
	if err := checkHTTPURL("BaseURL", cfg.BaseURL); err != nil {
		return err
	}
	if err := checkHTTPURL("TokenURL", cfg.TokenURL); err != nil {
		return err
	}
	if cfg.CallbackURI != "" {
		if err := checkHTTPURL("CallbackURI", cfg.CallbackURI); err != nil {
			return err
		}
	}
	if cfg.RetryBudget < 0 {
		return fmt.Errorf("config: RetryBudget %v is negative", cfg.RetryBudget)
	}
	if cfg.MaxAttempts < 0 {
		return fmt.Errorf("config: MaxAttempts %d is negative", cfg.MaxAttempts)
	}
	if cfg.BackoffBase < 0 {
		return fmt.Errorf("config: BackoffBase %v is negative", cfg.BackoffBase)
	}
	return nil
}

// checkHTTPURL reports whether raw is an absolute http or https URL with a
// host and no query or fragment, naming the field in the error.
func checkHTTPURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("config: %s: %w", field, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("config: %s %q: scheme must be http or https", field, raw)
	}
	if u.Host == "" {
		return fmt.Errorf("config: %s %q: host is missing", field, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("config: %s %q: must not have a query or fragment", field, raw)
	}
	return nil
}

// newTokenSource returns oauth2's caching client-credentials token source.
// Tokens are fetched with cfg.HTTPClient. The source keeps its context for
// every refresh, so it gets one that is never cancelled; callers bound their
// own wait in Client.token.
func newTokenSource(cfg Config) oauth2.TokenSource {
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     cfg.TokenURL,
		Scopes:       cfg.Scopes,
		// Entra ID accepts the secret in the form; saying so avoids
		// oauth2's probe that sends a failing request twice.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, cfg.HTTPClient)
	return cc.TokenSource(ctx)
}

// token returns a valid access token, fetching one if the cached token
// has expired. It gives up when ctx is done; a fetch already under way
// still completes and fills the cache. After a fetch failed, calls fail
// with its error until the next fetch may be made.
func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	type result struct {
		tok  *oauth2.Token
		err  error
		held bool // the failure of an earlier fetch
	}
	done := make(chan result, 1)
	go func() {
		c.fetching.Lock()
		defer c.fetching.Unlock()
		if c.failed != nil && time.Now().Before(c.retryAt) {
			done <- result{err: c.failed, held: true}
			return
		}
		tok, err := c.tokens.Token()
		c.failed, c.retryAt = err, time.Now().Add(c.retryAfter)
		done <- result{tok: tok, err: err}
	}()
	select {
	case r := <-done:
		switch {
		case r.held:
			return nil, fmt.Errorf("get token from %s: %w (the last fetch failed; the next is not made yet)", c.tokenURL, r.err)
		case r.err != nil:
			c.log.WarnContext(ctx, "graph: cannot get an access token",
				"token_url", c.tokenURL, "err", r.err, "next_try_in", c.retryAfter)
			return nil, fmt.Errorf("get token from %s: %w", c.tokenURL, r.err)
		}
		return r.tok, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("get token from %s: %w", c.tokenURL, context.Cause(ctx))
	}
}
