// Package server assembles Switchboard: NATS (embedded or external), the
// event log, the live view, the feed, the webhook, the REST actions, upkeep,
// the console and the operational endpoints, on one HTTP listener. In demo
// mode it also starts the Graph simulator on a loopback listener of its own
// and points the Graph client at it.
//
// A replica answers HTTP from the moment it listens: /healthz says it is
// alive, /readyz says what it waits for, and everything else answers 503
// until NATS has answered and the replica is assembled (bring-up, which
// retries for as long as it takes). After that nothing but the end of its
// context stops it: every background task retries what fails.
//
// cmd/switchboard turns flags into a Config; tests build a Config directly
// and run real servers on loopback.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchboard/backend/alerting"
	"switchboard/backend/archive"
	"switchboard/backend/audit"
	"switchboard/backend/eventlog"
	"switchboard/backend/feed"
	"switchboard/backend/graph"
	"switchboard/backend/liveview"
	"switchboard/backend/masking"
	"switchboard/backend/metrics"
	"switchboard/backend/natsrun"
	"switchboard/backend/presence"
	"switchboard/backend/readiness"
	"switchboard/backend/upkeep"
	"switchboard/backend/verba"
)

// Server is one running replica.
type Server struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	gate    *readiness.Gate
	sim     *demoSim
	// handler serves every request: the starting handler until bring-up
	// is done, then the full set of routes.
	handler atomic.Pointer[http.Handler]
	// up is closed when bring-up is done; the fields below are set then.
	up chan struct{}

	nats     *natsrun.Conn
	events   *eventlog.Log
	archive  *archive.Archive
	view     *liveview.View
	hub      *feed.Hub
	keeper   *upkeep.Keeper
	alerts   *alerting.Watcher
	graph    *graph.Client
	audit    *audit.Log
	floods   *audit.Floods
	verba    *verba.Service
	mux      *http.ServeMux
	identity *identity
	store    *readiness.Sticky
	presence *presence.Board
	privacy  *masking.Setting

	stop context.CancelFunc
	wg   sync.WaitGroup

	httpMu  sync.Mutex
	httpSrv *http.Server // while Serve runs
}

// Readiness conditions, in the order /readyz lists them.
const (
	condNATS     = "nats"
	condView     = "view"
	condStore    = "store"
	condIdentity = "identity"
)

// New checks the configuration and prepares a replica that answers HTTP at
// once (see Handler). It does not touch NATS: Start brings the replica up.
// Only a configuration error is an error.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, up: make(chan struct{})}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = metrics.New(s.reg)
	s.gate = &readiness.Gate{OnChange: s.readinessChanged}
	s.gate.Require(condNATS, "waiting for NATS")
	s.gate.Require(condView, "loading the live view from the event log")
	s.gate.Require(condIdentity, "waiting for the identity provider")
	s.store = &readiness.Sticky{Gate: s.gate, Name: condStore}
	if cfg.Demo {
		if s.sim, err = startDemoSim(cfg, s.log); err != nil {
			return nil, err
		}
		s.cfg = s.sim.pointAt(s.cfg)
	}
	h := s.startingHandler()
	s.handler.Store(&h)
	return s, nil
}

// readinessChanged reports /readyz's flips in the log, the metrics, and to
// consoles: a replica that cannot store tells them changes are paused.
func (s *Server) readinessChanged(ready bool, why string) {
	s.metrics.SetReady(ready)
	if ready {
		s.log.Info("ready")
	} else {
		s.log.Warn("not ready", "why", why)
	}
	select {
	case <-s.up:
		s.hub.SetTrouble(s.gate.Why(condStore))
	default:
	}
}

// Start brings the replica up in the background, retrying until NATS
// answers, then runs the live view, upkeep, the readiness probe (and the
// demo's traffic) until Close. It returns at once.
func (s *Server) Start(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.goRun(func() {
		if err := s.bringUp(ctx); err != nil {
			return // ctx ended
		}
		s.run(ctx)
	})
	return nil
}

// run starts the background work of a replica that is up.
func (s *Server) run(ctx context.Context) {
	s.goRun(func() { s.identity.discover(ctx, s); s.setHeaders() })
	s.goRun(func() { s.view.Run(ctx) })
	s.goRun(func() {
		select {
		case <-s.view.Ready():
			s.gate.Set(condView, "")
		case <-ctx.Done():
		}
	})
	s.goRun(func() { s.keeper.Run(ctx) })
	s.goRun(func() { s.alerts.Run(ctx) })
	s.goRun(func() { s.floods.Run(ctx) })
	s.goRun(func() { s.probe(ctx) })
	s.goRun(func() { s.watchSessions(ctx) })
	s.goRun(func() { s.presence.Run(ctx) })
	s.goRun(func() { s.privacy.Run(ctx) })
	if s.sim != nil {
		s.goRun(func() {
			if err := s.sim.run(ctx); err != nil {
				s.log.Error("demo simulator stopped", "err", err)
			}
		})
	}
}

// watchSessions closes the feeds of sessions that end on any replica; the
// first watch is retried until NATS answers it.
func (s *Server) watchSessions(ctx context.Context) {
	wait := 250 * time.Millisecond
	for {
		err := s.identity.sessions.WatchEnded(ctx, s.hub.CloseSession)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn("watching ended sessions; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (s *Server) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Up is closed once the replica is assembled (NATS answered); View, Hub
// and Log are set from then on.
func (s *Server) Up() <-chan struct{} { return s.up }

// Handler serves every endpoint: until the replica is up, /healthz,
// /readyz and a 503 for everything else.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*s.handler.Load()).ServeHTTP(w, r) })
}

// View is the replica's live view (for tests and the load tool); nil until Up.
func (s *Server) View() *liveview.View { return s.view }

// Hub is the replica's feed hub; nil until Up.
func (s *Server) Hub() *feed.Hub { return s.hub }

// Log is the event log; nil until Up.
func (s *Server) Log() *eventlog.Log { return s.events }

// Ready reports what /readyz says, and why when it is not ready.
func (s *Server) Ready() (bool, string) { return s.gate.Ready() }

// Serve accepts HTTP on ln until ctx ends, then shuts down gracefully:
// feeds are told to reconnect, requests in flight (a webhook waiting for its
// events to be stored) finish, and only then does NATS close.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.cfg.Limits.httpServer(s.Handler(), s.log)
	s.httpMu.Lock()
	s.httpSrv = srv
	s.httpMu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.shutdownHTTP(srv)
	return nil
}

func (s *Server) shutdownHTTP(srv *http.Server) {
	select {
	case <-s.up:
		s.hub.Shutdown()
	default:
	}
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
