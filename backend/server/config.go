package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"switchboard/backend/auth"
	"switchboard/backend/metrics"
	"switchboard/backend/upkeep"
	"switchboard/backend/verba"
)

// Config is everything a replica needs to know. cmd/switchboard fills it
// from flags and SWITCHBOARD_* environment variables.
type Config struct {
	// PublicURL is the URL supervisors and Graph reach this server at; the
	// webhook's callback URL is derived from it.
	PublicURL string
	// DataDir holds the embedded NATS server's files.
	DataDir string
	// NATSURL points at an external NATS cluster; empty embeds one.
	NATSURL string
	// NATSListen lets other processes reach the embedded NATS (host:port).
	NATSListen string
	// Replicas is the JetStream replication factor of Switchboard's streams
	// and buckets (1 embedded; 3 on a cluster).
	Replicas int
	// NATSName names this replica's connection in NATS monitoring and in
	// the state writer's lease (default "switchboard <host name>").
	NATSName string
	// NATSCredsFile is a NATS credentials file; NATSNKeyFile an NKey seed
	// file (one or the other).
	NATSCredsFile, NATSNKeyFile string
	// NATSTLSCAFile, NATSTLSCertFile and NATSTLSKeyFile configure TLS to
	// NATS: the servers' CA, and a client certificate with its key.
	NATSTLSCAFile, NATSTLSCertFile, NATSTLSKeyFile string

	// GraphURL is Graph's base URL (v1.0 or beta).
	GraphURL string
	// TokenURL overrides the tenant's token endpoint.
	TokenURL string
	// TenantID, ClientID, ClientSecret are the bot's client credentials.
	TenantID, ClientID, ClientSecret string

	// Demo starts the Graph simulator and answers incoming calls nobody
	// acts on after AutoAnswerAfter.
	Demo bool
	// SimRate is the demo's new calls per minute; SimSeed makes it repeatable.
	SimRate float64
	SimSeed int64

	// FeedsPerSession caps the live feeds one session may hold open at once
	// (default 20: a supervisor's tabs and windows, not a flood).
	FeedsPerSession int
	// FeedRingBytes bounds the recent changes each replica keeps in memory
	// for consoles resuming after a disconnect (default 64 MiB); a console
	// away longer gets a fresh snapshot.
	FeedRingBytes int64

	// FeedWriteInterval is the shortest time between two frames to one
	// console (0: the feed's default, 20ms; negative: none).
	FeedWriteInterval time.Duration

	// BulkRate is how many actions of a bulk request (a supervisor hanging
	// up many calls at once) go to Graph a second (0: the default, 5).
	BulkRate float64
	// PresenceTTL is how long a console counts as present after its
	// replica last said so (default 30s); ClaimTTL how long a claim on a
	// call lasts unless released (default 30s).
	PresenceTTL, ClaimTTL time.Duration

	// History is how long ended calls stay on consoles.
	History time.Duration
	// AlertEvery is how often the alert rules are evaluated (default 1s).
	AlertEvery time.Duration

	// MaskForViewers masks external numbers and names for viewers until
	// an admin chooses otherwise in the console (package masking).
	MaskForViewers bool
	// EventRetention is how long the event log keeps events (and the
	// archive the calls they tell).
	EventRetention time.Duration
	// LogMaxBytes, StateMaxBytes and ArchiveMaxBytes bound the event log,
	// the saved live view and the archive on disk (defaults 4 GiB, 512 MiB
	// and 1 GiB); the oldest data goes first.
	LogMaxBytes, StateMaxBytes, ArchiveMaxBytes int64
	// AuditMaxBytes bounds the audit trail on disk (default 512 MiB); it
	// keeps entries 90 days otherwise.
	AuditMaxBytes int64
	// KeepAliveEvery, QuietAfter, UpkeepTick and AutoAnswerAfter tune upkeep.
	KeepAliveEvery, QuietAfter, UpkeepTick, AutoAnswerAfter time.Duration
	// StartupCheckRate is how many live calls a starting replica checks
	// with Graph per second (0: upkeep's default; negative: none).
	StartupCheckRate float64

	// OIDCIssuer, OIDCClientID and OIDCClientSecret register the console
	// with the supervisors' identity provider; OIDCScopes adds scopes.
	OIDCIssuer, OIDCClientID, OIDCClientSecret string
	OIDCScopes                                 []string
	// RoleClaim names the claim holding roles ("roles" or "groups");
	// RoleMap maps its values to viewer, supervisor and admin.
	RoleClaim string
	RoleMap   map[string]auth.Role
	// AllowedOrigins are origins besides PublicURL's that may open the feed
	// and call state-changing APIs.
	AllowedOrigins []string
	// IdleTimeout and AbsoluteTimeout end sessions.
	IdleTimeout, AbsoluteTimeout time.Duration
	// DevIdentity runs the development identity provider under /idp with
	// the demo users (the demo turns it on).
	DevIdentity bool

	// NotifyOpenIDConfigURL names the keys Graph signs notifications with
	// (default Microsoft's); NotifyJWKSURL names a key set directly.
	NotifyOpenIDConfigURL, NotifyJWKSURL string
	// BotAppID is the audience of notification tokens (default ClientID).
	BotAppID string
	// NotifyTenants are the tenants whose notifications are accepted
	// (default TenantID).
	NotifyTenants []string
	// InsecureSkipNotificationAuth accepts notifications without checking
	// their token: local experiments only.
	InsecureSkipNotificationAuth bool

	// WebDir holds the console's static files and app.wasm (default "web").
	WebDir string

	// VerbaKeys and VerbaUsers configure the DeleteCall API (from
	// --verba-config); with no keys it refuses every request.
	VerbaKeys  []verba.Key
	VerbaUsers []verba.User

	// Limits are every connection's deadlines and the bounds on the doors
	// open to all.
	Limits Limits
	// MetricsAddr, when set, is where ServeMetrics is meant to listen:
	// /metrics is then served there only. MetricsToken, when set, is the
	// bearer token /metrics requires. With neither, /metrics is not served.
	MetricsAddr, MetricsToken string

	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:8080"
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("server: public URL %q must be an absolute http(s) URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.WebDir == "" {
		c.WebDir = "web"
	}
	c.Limits = c.Limits.withDefaults()
	if c.NATSURL == "" && c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.GraphURL == "" {
		c.GraphURL = "https://graph.microsoft.com/v1.0"
	}
	if c.Demo {
		c.DevIdentity = true
		if c.AutoAnswerAfter == 0 {
			c.AutoAnswerAfter = 5 * time.Second
		}
	}
	if c.BotAppID == "" {
		c.BotAppID = c.ClientID
	}
	if len(c.NotifyTenants) == 0 && c.TenantID != "" {
		c.NotifyTenants = []string{c.TenantID}
	}
	if !c.Demo && (c.TenantID == "" || c.ClientID == "" || c.ClientSecret == "") {
		return c, errors.New("server: --tenant-id, --client-id and --client-secret are required (or --demo)")
	}
	if !c.DevIdentity && c.OIDCIssuer == "" {
		return c, errors.New("server: --oidc-issuer is required (or --demo for the development identity provider)")
	}
	if err := c.checkNATSFiles(); err != nil {
		return c, err
	}
	return c, nil
}

// checkNATSFiles fails at once on a NATS credentials or TLS file that
// cannot be read: a mistake in the configuration, which no retry mends.
func (c Config) checkNATSFiles() error {
	files := []struct{ flag, path string }{
		{"--nats-creds", c.NATSCredsFile}, {"--nats-nkey", c.NATSNKeyFile},
		{"--nats-tls-ca", c.NATSTLSCAFile}, {"--nats-tls-cert", c.NATSTLSCertFile}, {"--nats-tls-key", c.NATSTLSKeyFile},
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if _, err := os.ReadFile(f.path); err != nil {
			return fmt.Errorf("server: %s: %w", f.flag, err)
		}
	}
	if c.NATSCredsFile != "" && c.NATSNKeyFile != "" {
		return errors.New("server: --nats-creds and --nats-nkey are alternatives; give one")
	}
	if (c.NATSTLSCertFile == "") != (c.NATSTLSKeyFile == "") {
		return errors.New("server: --nats-tls-cert and --nats-tls-key go together")
	}
	return nil
}

// CallbackURL is the webhook's public URL, sent to Graph with every answer.
func (c Config) CallbackURL() string {
	return c.PublicURL + "/api/graph/notifications"
}

// Upkeep returns upkeep's options.
func (c Config) Upkeep(m *metrics.Metrics, log *slog.Logger) upkeep.Options {
	return upkeep.Options{Tick: c.UpkeepTick, KeepAliveEvery: c.KeepAliveEvery, QuietAfter: c.QuietAfter,
		AutoAnswerAfter: c.AutoAnswerAfter, StartupRate: c.StartupCheckRate, Metrics: m, Logger: log}
}
