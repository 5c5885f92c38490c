//go:build !wasm

// Command switchboard runs the Switchboard server: the live call console for
// supervisors of Microsoft Graph calling bots. With --demo it also runs the
// Graph simulator so the console has calls to show.
//
// Every flag can also be set by an environment variable: --public-url is
// SWITCHBOARD_PUBLIC_URL. A flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"switchboard/backend/auth"
	"switchboard/backend/profiling"
	"switchboard/backend/server"
	"switchboard/backend/verba"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

// options are the command line, before they become a server.Config.
type options struct {
	addr        string
	logLevel    string
	verbaConfig string
	pprofAddr   string
	// memoryLimit is the Go runtime's soft memory limit (0: Go's own,
	// GOMEMLIMIT or none).
	memoryLimit int64
	// Lists and maps, comma-separated on the command line.
	scopes, roleMap, origins, tenants string
	cfg                               server.Config
}

func parse(args []string) (*options, error) {
	o := &options{}
	fs := define(o)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := fromEnv(fs); err != nil {
		return nil, err
	}
	if o.cfg.PublicURL == "" {
		u, err := publicURLFor(o.addr)
		if err != nil {
			return nil, err
		}
		o.cfg.PublicURL = u
	}
	return o, nil
}

// publicURLFor is the public URL a server listening on addr has when none
// is given: http://localhost:PORT for a loopback or unspecified host (":9090",
// "0.0.0.0:9090", "127.0.0.1:9090"), which is where a browser on the same
// machine reaches it, and http://HOST:PORT for any other host.
func publicURLFor(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("--addr %q has no fixed port: give --public-url", addr)
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if host == "" || host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// newFlagSetForHelp is the flag set writing its usage to out.
func newFlagSetForHelp(out io.Writer) *flag.FlagSet {
	fs := define(&options{})
	fs.SetOutput(out)
	return fs
}

// define declares every flag, bound to o.
func define(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	c := &o.cfg
	fs.StringVar(&o.addr, "addr", ":8080", "address to listen on for HTTP")
	fs.StringVar(&c.PublicURL, "public-url", "", "URL supervisors and Graph reach this server at (the webhook is <public-url>/api/graph/notifications); default http://localhost:<port> when --addr is a loopback or unspecified address, else http://<addr>")
	fs.StringVar(&c.DataDir, "data", "./data", "directory of the embedded NATS server's files (ignored with --nats-url)")
	fs.StringVar(&c.NATSURL, "nats-url", "", "external NATS cluster (comma-separated URLs); empty embeds a NATS server")
	fs.StringVar(&c.NATSListen, "nats-listen", "", "also accept NATS clients on this host:port (embedded server only)")
	fs.IntVar(&c.Replicas, "replicas", 1, "JetStream replicas of Switchboard's streams and buckets (3 on a 3-node cluster)")
	fs.StringVar(&c.NATSName, "nats-name", "", "name of this replica's NATS connection, shown by NATS monitoring (default \"switchboard <host name>\")")
	fs.StringVar(&c.NATSCredsFile, "nats-creds", "", "NATS credentials file (user JWT and NKey seed) for --nats-url")
	fs.StringVar(&c.NATSNKeyFile, "nats-nkey", "", "file holding a NATS user's NKey seed, for --nats-url (instead of --nats-creds)")
	fs.StringVar(&c.NATSTLSCAFile, "nats-tls-ca", "", "CA certificate (PEM) the NATS servers' certificates are checked against; requires TLS")
	fs.StringVar(&c.NATSTLSCertFile, "nats-tls-cert", "", "client certificate (PEM) for NATS servers that verify clients")
	fs.StringVar(&c.NATSTLSKeyFile, "nats-tls-key", "", "the client certificate's private key (PEM)")
	fs.StringVar(&c.GraphURL, "graph-url", "https://graph.microsoft.com/v1.0", "Graph base URL (v1.0 or beta)")
	fs.StringVar(&c.TokenURL, "token-url", "", "token endpoint (default https://login.microsoftonline.com/<tenant-id>/oauth2/v2.0/token)")
	fs.StringVar(&c.TenantID, "tenant-id", "", "the bot's Microsoft Entra tenant id")
	fs.StringVar(&c.ClientID, "client-id", "", "the bot's application (client) id")
	fs.StringVar(&c.ClientSecret, "client-secret", "", "the bot's client secret (prefer the environment variable)")
	fs.BoolVar(&c.Demo, "demo", false, "run the demo: the Graph simulator and auto-answer")
	fs.Float64Var(&c.SimRate, "sim-rate", 12, "demo: new simulated calls per minute (0 makes none)")
	fs.Int64Var(&c.SimSeed, "seed", 1, "demo: the simulator's random seed (the same seed gives the same traffic)")
	fs.DurationVar(&c.History, "history", time.Hour, "how long ended calls stay on consoles")
	fs.BoolVar(&c.MaskForViewers, "mask-for-viewers", false, "show viewers external numbers with their last digits only and external names as \"External caller\" (an admin may change it in the console)")
	fs.IntVar(&c.FeedsPerSession, "feeds-per-session", 20, "live feeds (console tabs and windows) one session may hold open at once")
	c.FeedRingBytes = 64 << 20
	fs.Var(byteSize{&o.memoryLimit}, "memory-limit", "the memory the server keeps itself within, collecting garbage more often as it nears it, such as 900MiB for a 1 GiB container (Go's GOMEMLIMIT; none by default)")
	fs.Var(byteSize{&c.FeedRingBytes}, "feed-ring-bytes", "memory for the recent changes kept so reconnecting consoles resume instead of reloading")
	fs.DurationVar(&c.FeedWriteInterval, "feed-write-interval", 20*time.Millisecond, "shortest time between two frames to one console: a busy feed sends what piled up meanwhile in one (negative: none)")
	fs.Float64Var(&c.BulkRate, "bulk-rate", 5, "how many hang-ups of a bulk hang-up go to Graph a second")
	fs.DurationVar(&c.ClaimTTL, "claim-ttl", 30*time.Second, "how long a supervisor's claim on a call lasts (a dialog open on it) unless released first")
	fs.DurationVar(&c.EventRetention, "event-retention", 7*24*time.Hour, "how long the event log keeps events")
	c.LogMaxBytes, c.StateMaxBytes, c.ArchiveMaxBytes, c.AuditMaxBytes = 4<<30, 512<<20, 1<<30, 512<<20
	fs.Var(byteSize{&c.LogMaxBytes}, "log-max-bytes", "most disk the event log takes; the oldest events go first")
	fs.Var(byteSize{&c.StateMaxBytes}, "state-max-bytes", "most disk the saved live view takes")
	fs.Var(byteSize{&c.ArchiveMaxBytes}, "archive-max-bytes", "most disk the archive of ended calls takes; the oldest go first")
	fs.Var(byteSize{&c.AuditMaxBytes}, "audit-max-bytes", "most disk the audit trail takes (kept 90 days otherwise); the oldest entries go first")
	fs.DurationVar(&c.KeepAliveEvery, "keepalive-every", 15*time.Minute, "keepAlive period of established calls (Graph ends a call after 45m without)")
	fs.Float64Var(&c.StartupCheckRate, "startup-check-rate", 0, "live calls per second a starting replica checks with Graph, to end ghosts (0: the default, 25; negative: none)")
	fs.DurationVar(&c.QuietAfter, "quiet-after", 10*time.Minute, "check a live call with Graph after this long without news")
	fs.DurationVar(&c.AutoAnswerAfter, "auto-answer-after", 0, "answer incoming calls nobody acted on after this long (0: never; the demo uses 5s)")
	fs.BoolVar(&c.DevIdentity, "dev-identity", false, "sign-in at the development identity provider (under /idp, with the demo users) without the rest of the demo: local clusters and tests, never production")
	fs.StringVar(&c.WebDir, "web", "web", "directory of the console's static files and the built app.wasm")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "supervisors' OpenID provider (e.g. https://login.microsoftonline.com/<tenant>/v2.0)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", "", "the console's client id at the OpenID provider")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", "", "the console's client secret (prefer the environment variable)")
	fs.StringVar(&o.scopes, "oidc-scopes", "", "extra scopes to request, comma-separated (openid, profile and email always are)")
	fs.StringVar(&c.RoleClaim, "role-claim", "roles", "ID token claim holding the user's roles: roles (Entra app roles), groups, or a dotted path")
	fs.StringVar(&o.roleMap, "role-map", "", "claim value=role pairs, comma-separated (default Switchboard.Viewer=viewer,Switchboard.Supervisor=supervisor,Switchboard.Admin=admin)")
	fs.StringVar(&o.origins, "allowed-origins", "", "origins besides --public-url's that may open the feed and act, comma-separated")
	fs.DurationVar(&c.IdleTimeout, "session-idle-timeout", 30*time.Minute, "end a session unused for this long")
	fs.DurationVar(&c.AbsoluteTimeout, "session-max-age", 12*time.Hour, "end a session this long after login")
	fs.StringVar(&c.NotifyOpenIDConfigURL, "notify-openid-config", "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration", "OpenID configuration naming the keys Graph signs notifications with")
	fs.StringVar(&c.NotifyJWKSURL, "notify-jwks-url", "", "the key set itself, instead of --notify-openid-config")
	fs.StringVar(&c.BotAppID, "bot-app-id", "", "audience of Graph's notification tokens (default --client-id)")
	fs.StringVar(&o.tenants, "notify-tenants", "", "tenants whose notifications are accepted, comma-separated (default --tenant-id)")
	fs.BoolVar(&c.InsecureSkipNotificationAuth, "insecure-skip-notification-auth", false, "accept notifications without checking their token: local experiments only")
	fs.StringVar(&o.verbaConfig, "verba-config", "", "JSON file of the DeleteCall API's keys and users (see `switchboard verba-key`)")
	defineLimits(fs, c)
	definePprof(fs, o)
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Usage = func() { usage(fs) }
	return fs
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fromEnv sets every flag not given on the command line from its variable.
func fromEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok || given[f.Name] || err != nil {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
		}
	})
	return err
}

func usage(fs *flag.FlagSet) {
	out := fs.Output()
	fmt.Fprintf(out, "Usage: switchboard [flags]\n\nSwitchboard is a live call console for supervisors of Microsoft Graph calling bots.\nEvery flag can also be set with the environment variable shown.\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(out, "  --%s (%s)\n    \t%s", f.Name, envName(f.Name), f.Usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(out, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(out)
	})
}

func run(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return subcommand(args[0], args[1:])
	}
	o, err := parse(args)
	if err != nil {
		return err
	}
	if err := o.lists(); err != nil {
		return err
	}
	if o.verbaConfig != "" {
		if o.cfg.VerbaKeys, o.cfg.VerbaUsers, err = verba.LoadConfigFile(o.verbaConfig); err != nil {
			return fmt.Errorf("--verba-config: %w", err)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	o.cfg.Logger = log
	if o.memoryLimit > 0 {
		debug.SetMemoryLimit(o.memoryLimit)
		log.Info("memory limit set", "bytes", o.memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, o, log)
}

func serve(ctx context.Context, o *options, log *slog.Logger) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	if o.pprofAddr != "" {
		pln, err := profiling.Listen(o.pprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--pprof-addr: %w", err)
		}
		go func() {
			if err := profiling.Serve(ctx, pln); err != nil {
				log.Error("profiling listener stopped", "err", err)
			}
		}()
		log.Info("runtime profiles are served", "addr", pln.Addr().String())
	}
	srv, err := server.New(ctx, o.cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	if err := srv.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	if o.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", o.cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on --metrics-addr %s: %w", o.cfg.MetricsAddr, err)
		}
		go func() {
			if err := srv.ServeMetrics(ctx, mln); err != nil {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
		log.Info("metrics are served", "addr", mln.Addr().String())
	}
	log.Info("Switchboard is listening", "addr", ln.Addr().String(), "url", o.cfg.PublicURL, "demo", o.cfg.Demo)
	err = srv.Serve(ctx, ln)
	log.Info("Switchboard is shutting down", "err", err)
	return err
}

// lists turns the comma-separated flags into the Config's lists.
func (o *options) lists() error {
	c := &o.cfg
	c.OIDCScopes, c.AllowedOrigins, c.NotifyTenants = splitList(o.scopes), splitList(o.origins), splitList(o.tenants)
	if o.roleMap != "" {
		m, err := auth.ParseRoleMap(o.roleMap)
		if err != nil {
			return fmt.Errorf("--role-map: %w", err)
		}
		c.RoleMap = m
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
