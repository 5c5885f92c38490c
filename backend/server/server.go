// Package server assembles Switchboard: NATS (embedded or external), the
// event log, the live view, the feed, the webhook, the REST actions, upkeep,
// the console and the operational endpoints, on one HTTP listener. In demo
// mode it also starts the Graph simulator on a loopback listener of its own
// and points the Graph client at it.
//
// cmd/switchboard turns flags into a Config; tests build a Config directly
// and run real servers on loopback.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/actions"
	"switchboard/backend/audit"
	"switchboard/backend/auth"
	"switchboard/backend/eventlog"
	"switchboard/backend/feed"
	"switchboard/backend/graph"
	"switchboard/backend/liveview"
	"switchboard/backend/metrics"
	"switchboard/backend/natsrun"
	"switchboard/backend/notify"
	"switchboard/backend/secheaders"
	"switchboard/backend/upkeep"
	"switchboard/backend/verba"
	"switchboard/backend/webui"
)

// Server is one running replica.
type Server struct {
	cfg      Config
	log      *slog.Logger
	nats     *natsrun.Conn
	events   *eventlog.Log
	view     *liveview.View
	hub      *feed.Hub
	keeper   *upkeep.Keeper
	sim      *demoSim
	graph    *graph.Client
	audit    *audit.Log
	verba    *verba.Service
	metrics  *metrics.Metrics
	mux      *http.ServeMux
	headers  atomic.Pointer[http.Handler]
	identity *identity

	stop context.CancelFunc
	wg   sync.WaitGroup
	errc chan error
}

// New builds a replica: it connects to NATS, opens the log, and prepares
// every handler. Start begins following the log; Handler serves HTTP.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, errc: make(chan error, 4)}
	if err := s.open(ctx); err != nil {
		s.closeNATS()
		return nil, err
	}
	return s, nil
}

func (s *Server) open(ctx context.Context) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = metrics.New(reg)
	var err error
	s.nats, err = natsrun.Open(ctx, natsrun.Options{URL: s.cfg.NATSURL, DataDir: s.cfg.DataDir, Name: "switchboard", Listen: s.cfg.NATSListen, Logger: s.log})
	if err != nil {
		return err
	}
	if s.events, err = eventlog.Open(ctx, s.nats.JS, eventlog.Options{Replicas: s.cfg.Replicas, MaxAge: s.cfg.EventRetention}); err != nil {
		return err
	}
	if s.cfg.Demo {
		if s.sim, err = startDemoSim(s.cfg, s.log); err != nil {
			return err
		}
		s.cfg = s.sim.pointAt(s.cfg)
	}
	if s.audit, err = audit.Open(ctx, s.nats.JS, audit.Options{Replicas: s.cfg.Replicas}); err != nil {
		return fmt.Errorf("server: audit trail: %w", err)
	}
	gc, err := graph.New(graph.Config{BaseURL: s.cfg.GraphURL, TokenURL: s.cfg.TokenURL, TenantID: s.cfg.TenantID,
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, CallbackURI: s.cfg.CallbackURL(),
		Observe: s.metrics.Graph, Logger: s.log})
	if err != nil {
		return fmt.Errorf("server: graph client: %w", err)
	}
	s.graph = gc
	return s.wire(ctx, reg)
}

// wire builds the view, the feed, upkeep and the HTTP routes.
func (s *Server) wire(ctx context.Context, reg *prometheus.Registry) error {
	var view *liveview.View
	s.hub = feed.NewHub(snapshotter(func() feedwire.Message { return view.Snapshot() }), feed.Options{Metrics: s.metrics, Logger: s.log})
	view = liveview.New(s.events, s.hub, liveview.Options{History: s.cfg.History, Metrics: s.metrics, Logger: s.log,
		OnMarkedEnded: s.eraseMarked, OnCallStarted: func(ctx context.Context, c calls.Call) {
			s.verba.CallStarted(ctx, c)
			if s.keeper != nil {
				s.keeper.Enrich(c) // a call whose first notification lacks its parties is read at once
			}
		}})
	s.view = view
	var err error
	s.verba, err = verba.New(ctx, verba.Config{Keys: s.cfg.VerbaKeys, Users: s.cfg.VerbaUsers, Store: records{view: view, log: s.events},
		Audit: s.audit, JS: s.nats.JS, Replicas: s.cfg.Replicas, Logger: s.log.With("component", "verba")})
	if err != nil {
		return fmt.Errorf("server: DeleteCall API: %w", err)
	}
	mux := http.NewServeMux()
	if err := s.openIdentity(ctx, mux); err != nil {
		return err
	}
	verifier, err := s.notificationVerifier(ctx)
	if err != nil {
		return err
	}
	id := s.identity
	api := &actions.API{Graph: s.graph, View: view, Log: s.events, Actor: actor, Audit: s.audit, Metrics: s.metrics, Logger: s.log}
	api.Routes(mux, id.guard)
	webhook := &notify.Handler{Log: s.events, Verify: tokenCheck{verifier}, Metrics: s.metrics, Logger: s.log}
	mux.Handle("/api/graph/notifications", webhook) // other methods: a clear 405 from the webhook
	mux.Handle("GET /api/feed", id.require(auth.Viewer, s.hub.Handler(id.feedAuthorizer)))
	mux.Handle("GET /api/audit", id.require(auth.Admin, s.audit.Handler()))
	mux.Handle("/auth/", id.routes())
	mux.Handle("GET /api/me", id.routes())
	mux.Handle("/verba/api", s.verba)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", s.console())
	s.mux = mux
	s.setHeaders()
	return nil
}

// console serves the go-app console, or says how to build it.
func (s *Server) console() http.Handler {
	ui, err := webui.New(s.cfg.WebDir, s.log)
	if err == nil {
		return ui
	}
	s.log.Warn("the console is not served", "web", s.cfg.WebDir, "err", err)
	msg := fmt.Sprintf("The Switchboard console is not built (%v). Run make build.", err)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, msg, http.StatusServiceUnavailable)
	})
}

// setHeaders (re)builds the security headers around every answer; the
// policy names the identity provider's end-session URL once it is known.
func (s *Server) setHeaders() {
	h := secheaders.Handler(secheaders.Options{HTTPS: strings.HasPrefix(s.cfg.PublicURL, "https://"),
		FormAction: s.identity.formActions()}, s.mux)
	s.headers.Store(&h)
}

// snapshotter adapts the view to the hub, which is built first.
type snapshotter func() feedwire.Message

func (f snapshotter) Snapshot() feedwire.Message { return f() }

func (s *Server) eraseMarked(ctx context.Context, callID string) {
	if err := s.events.Erase(ctx, callID); err != nil {
		s.log.Error("erase conversation marked for deletion", "call", callID, "err", err)
	}
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if s.identity.ready.Load() == nil {
		http.Error(w, "waiting for the identity provider", http.StatusServiceUnavailable)
		return
	}
	select {
	case <-s.view.Ready():
	default:
		http.Error(w, "catching up with the event log", http.StatusServiceUnavailable)
		return
	}
	if !s.nats.NC.IsConnected() {
		http.Error(w, "not connected to NATS", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// Handler serves every endpoint.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*s.headers.Load()).ServeHTTP(w, r) })
}

// View is the replica's live view (for tests and the load tool).
func (s *Server) View() *liveview.View { return s.view }

// Hub is the replica's feed hub.
func (s *Server) Hub() *feed.Hub { return s.hub }

// Log is the event log.
func (s *Server) Log() *eventlog.Log { return s.events }

// Start follows the log and runs upkeep (and the demo's traffic) in the
// background until Close.
func (s *Server) Start(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	keeper, err := upkeep.New(ctx, s.nats.JS, s.cfg.Replicas, s.graph, s.view, s.events, s.cfg.Upkeep(s.metrics, s.log))
	if err != nil {
		return err
	}
	s.keeper = keeper
	if err := s.identity.sessions.WatchEnded(ctx, s.hub.CloseSession); err != nil {
		return err
	}
	s.goRun(func() error {
		s.identity.discover(ctx, s)
		s.setHeaders()
		return nil
	})
	s.goRun(func() error { return s.view.Run(ctx) })
	s.goRun(func() error { keeper.Run(ctx); return nil })
	if s.sim != nil {
		s.goRun(func() error { return s.sim.run(ctx) })
	}
	return nil
}

func (s *Server) goRun(f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := f(); err != nil {
			s.log.Error("server: background task stopped", "err", err)
			s.errc <- err
		}
	}()
}

// Err reports a background task's failure (the view losing the log).
func (s *Server) Err() <-chan error { return s.errc }

// Serve accepts HTTP on ln until ctx ends, then shuts down gracefully:
// feeds are told to reconnect, requests in flight (a webhook waiting for its
// events to be stored) finish, and only then does NATS close.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case err := <-s.errc:
		s.shutdownHTTP(srv)
		return err
	case <-ctx.Done():
	}
	s.shutdownHTTP(srv)
	return nil
}

func (s *Server) shutdownHTTP(srv *http.Server) {
	s.hub.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Warn("server: shutdown", "err", err)
	}
}

// Close stops the background work and closes NATS (and the embedded server).
func (s *Server) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
	if s.sim != nil {
		s.sim.close()
	}
	s.closeNATS()
}

func (s *Server) closeNATS() {
	if s.nats != nil {
		s.nats.Close()
		s.nats = nil
	}
}
