// Command graphsim runs the Graph simulator on its own: a stand-in for
// Microsoft Graph's calls API, its token endpoint and its notification
// service, generating realistic call traffic for a calling bot's webhook.
//
// Every flag can also be set from the environment, GRAPHSIM_ followed by
// the flag's name in capitals with dashes as underscores (GRAPHSIM_ADDR,
// GRAPHSIM_CALLBACK_URL…); a flag on the command line wins over the
// environment. The credential defaults are fixed demo values, public by
// design: the simulator guards nothing.
//
// Usage:
//
//	graphsim [flags]
//
// Several comma-separated --callback-url values are the bot's replicas:
// notifications go to each in turn and skip one that is down, as through a
// load balancer. POST /sim/notification-token hands out a bearer token like
// the one on the simulator's notifications, for tools that post
// notifications of their own to the bot.
//
// Logs are JSON on stderr. SIGINT or SIGTERM stop it gracefully.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"switchboard/backend/graphsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	o, err := parseOptions(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "graphsim:", err)
		os.Exit(2)
	}
	if err := run(ctx, o, logger, nil); err != nil {
		logger.Error("graphsim failed", "error", err)
		os.Exit(1)
	}
}

// options are the command's settings.
type options struct {
	addr            string
	publicURL       string
	callbackURL     string
	rate            float64
	seed            int64
	tenantID        string
	clientID        string
	clientSecret    string
	appID           string
	throttleEvery   int
	incomingTimeout time.Duration
}

// Demo identities, shared with the backend's demo configuration.
const (
	demoTenantID = "11111111-1111-4111-8111-111111111111"
	demoAppID    = "22222222-2222-4222-8222-222222222222"
	demoSecret   = "graphsim-demo-secret"
)

// envName is the environment variable of a flag: --callback-url is
// GRAPHSIM_CALLBACK_URL.
func envName(flagName string) string {
	return "GRAPHSIM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseOptions reads the flags in args, then fills each flag not given
// there from its environment variable, read with getenv. Usage and flag
// errors go to out.
func parseOptions(args []string, getenv func(string) string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("graphsim", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9090", "`address` to listen on")
	fs.StringVar(&o.publicURL, "public-url", "", "the simulator's base `URL` as clients reach it (default http://<addr>)")
	fs.StringVar(&o.callbackURL, "callback-url", "http://127.0.0.1:8080/api/graph/notifications",
		"the bot's notification webhook `URL`; several, comma-separated, are the bot's replicas: each notification goes to the next in turn, and to the one after when a replica is down or answers 5xx or 429")
	fs.Float64Var(&o.rate, "rate", 10, "generate `n` new calls per minute; 0 generates none")
	fs.Int64Var(&o.seed, "seed", 1, "random `seed`: the same seed gives the same traffic")
	fs.StringVar(&o.tenantID, "tenant-id", demoTenantID, "tenant `id` of the token endpoint and of notification tokens")
	fs.StringVar(&o.clientID, "client-id", demoAppID, "client `id` the token endpoint accepts")
	fs.StringVar(&o.clientSecret, "client-secret", demoSecret, "client `secret` the token endpoint accepts")
	fs.StringVar(&o.appID, "app-id", demoAppID, "the bot's app `id`: audience of notification tokens")
	fs.IntVar(&o.throttleEvery, "throttle-every", 0, "answer every `n`-th Graph request with 429; 0 never")
	fs.DurationVar(&o.incomingTimeout, "incoming-timeout", graphsim.DefaultIncomingTimeout, "how long an incoming call waits for an answer")
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " (env " + envName(f.Name) + ")" })
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: graphsim [flags]\n\nSimulates Microsoft Graph's calls API, token endpoint and call notifications.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return o, fromEnv(fs, getenv)
}

// fromEnv sets every flag not given on the command line from its
// environment variable, if that is set.
func fromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(envName(f.Name))
		if given[f.Name] || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
		}
	})
	return errors.Join(errs...)
}

// run serves the simulator and generates traffic until ctx ends, then shuts
// down gracefully. ready, if set, is called with the public URL once the
// simulator listens.
func run(ctx context.Context, o options, logger *slog.Logger, ready func(publicURL string)) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	public := o.publicURL
	if public == "" {
		public = "http://" + ln.Addr().String()
	}
	sim, err := graphsim.New(graphsim.Config{
		CallbackURLs: o.callbackURLs(), Rate: o.rate, Seed: o.seed,
		TenantID: o.tenantID, ClientID: o.clientID, ClientSecret: o.clientSecret, AppID: o.appID,
		PublicURL: public, ThrottleEvery: o.throttleEvery, IncomingTimeout: o.incomingTimeout,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	defer sim.Close()

	srv := &http.Server{
		Handler:           handler(sim, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- sim.Run(ctx) }()

	logger.Info("graph simulator listening", "addr", ln.Addr().String(), "public_url", public,
		"graph", sim.GraphURL(), "token_endpoint", sim.TokenURL(), "jwks", sim.JWKSURL(),
		"notification_token", public+notificationTokenPath,
		"callback_urls", o.callbackURLs(), "rate_per_minute", o.rate, "seed", o.seed)
	if ready != nil {
		ready(public)
	}

	var failure error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		failure = fmt.Errorf("serve: %w", err)
	}
	cancel()
	if err := <-runErr; err != nil && failure == nil {
		failure = fmt.Errorf("traffic: %w", err)
	}
	logger.Info("graph simulator stopping")
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := srv.Shutdown(shutdownCtx); err != nil && failure == nil {
		failure = fmt.Errorf("shutdown: %w", err)
	}
	return failure
}

// callbackURLs is --callback-url split at commas.
func (o options) callbackURLs() []string {
	var urls []string
	for u := range strings.SplitSeq(o.callbackURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// notificationTokenPath serves, on POST, a bearer token exactly like the
// one on the simulator's own notifications: a load or fault-injection tool
// posting notifications of its own to the bot's webhook signs them with it,
// so they pass the webhook's verification like Graph's. The simulator
// guards nothing (its credentials are public demo values); it listens on
// loopback unless told otherwise.
const notificationTokenPath = "/sim/notification-token"

// handler serves the simulator's API and notificationTokenPath.
func handler(sim *graphsim.Sim, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", sim.Handler())
	mux.HandleFunc("POST "+notificationTokenPath, func(w http.ResponseWriter, _ *http.Request) {
		tok, err := sim.NotificationToken()
		if err != nil {
			logger.Error("notification token", "error", err)
			http.Error(w, "notification token: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(struct {
			Token string `json:"token"`
		}{tok})
	})
	return mux
}
