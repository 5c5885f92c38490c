package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/actions"
	"switchboard/backend/alerting"
	"switchboard/backend/apierror"
	"switchboard/backend/archive"
	"switchboard/backend/audit"
	"switchboard/backend/auth"
	"switchboard/backend/eventlog"
	"switchboard/backend/feed"
	"switchboard/backend/graph"
	"switchboard/backend/historyapi"
	"switchboard/backend/liveview"
	"switchboard/backend/natsrun"
	"switchboard/backend/notify"
	"switchboard/backend/presence"
	"switchboard/backend/ratelimit"
	"switchboard/backend/secheaders"
	"switchboard/backend/upkeep"
	"switchboard/backend/verba"
	"switchboard/backend/webui"
)

// bringUpAttempt bounds one attempt at opening Switchboard's streams and
// buckets: a cluster still electing its leaders may leave a request
// unanswered, and the next attempt asks again.
const bringUpAttempt = 10 * time.Second

// bringUp connects to NATS and assembles the replica, retrying each step
// with backoff (and a log line saying what it waits for) until it succeeds
// or ctx ends.
func (s *Server) bringUp(ctx context.Context) error {
	where := "the embedded NATS server in " + s.cfg.DataDir
	if s.cfg.NATSURL != "" {
		where = "NATS at " + natsrun.Redact(s.cfg.NATSURL)
	}
	err := retry(ctx, s, "waiting for "+where, func(ctx context.Context) error {
		conn, err := natsrun.Open(ctx, s.natsOptions())
		if err == nil {
			s.nats = conn
		}
		return err
	})
	if err != nil {
		return err
	}
	s.gate.Set(condNATS, "waiting for JetStream to open Switchboard's streams and buckets")
	if err := retry(ctx, s, "waiting for JetStream (streams and buckets)", s.open); err != nil {
		return err
	}
	s.gate.Set(condNATS, "")
	s.setHeaders()
	close(s.up)
	s.log.Info("replica assembled", "nats", where)
	return nil
}

// retry runs step until it succeeds or ctx ends, each attempt within
// bringUpAttempt, waiting longer after each failure (up to 5s).
func retry(ctx context.Context, s *Server, what string, step func(context.Context) error) error {
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, bringUpAttempt)
		err := step(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("starting: "+what, "attempt", attempt, "err", err, "retry_in", wait)
		s.gate.Set(condNATS, what+": "+err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (s *Server) natsOptions() natsrun.Options {
	name := s.cfg.NATSName
	if name == "" {
		host, _ := os.Hostname()
		name = "switchboard " + host
	}
	return natsrun.Options{URL: s.cfg.NATSURL, DataDir: s.cfg.DataDir, Name: name, Listen: s.cfg.NATSListen,
		CredsFile: s.cfg.NATSCredsFile, NKeySeedFile: s.cfg.NATSNKeyFile,
		TLSCAFile: s.cfg.NATSTLSCAFile, TLSCertFile: s.cfg.NATSTLSCertFile, TLSKeyFile: s.cfg.NATSTLSKeyFile,
		Logger: s.log}
}

// open binds the streams and buckets and assembles everything that uses
// them. A failed attempt leaves nothing behind but the NATS connection.
func (s *Server) open(ctx context.Context) error {
	var err error
	if s.events, err = eventlog.Open(ctx, s.nats.JS, eventlog.Options{Replicas: s.cfg.Replicas, MaxAge: s.cfg.EventRetention,
		MaxBytes: s.cfg.LogMaxBytes, StateMaxBytes: s.cfg.StateMaxBytes}); err != nil {
		return err
	}
	if s.archive, err = archive.Open(ctx, s.nats.JS, archive.Options{Replicas: s.cfg.Replicas, MaxAge: s.cfg.EventRetention,
		MaxBytes: s.cfg.ArchiveMaxBytes}); err != nil {
		return fmt.Errorf("server: archive: %w", err)
	}
	if s.audit, err = audit.Open(ctx, s.nats.JS, audit.Options{Replicas: s.cfg.Replicas, MaxBytes: s.cfg.AuditMaxBytes}); err != nil {
		return fmt.Errorf("server: audit trail: %w", err)
	}
	if s.presence, err = presence.Open(ctx, s.nats.JS, presence.Options{Replicas: s.cfg.Replicas,
		Replica: s.natsOptions().Name + " " + randomSuffix(), SeatTTL: s.cfg.PresenceTTL, ClaimTTL: s.cfg.ClaimTTL,
		Publish: func(m feedwire.Message) { s.hub.SetAside(m) }, Logger: s.log.With("component", "presence")}); err != nil {
		return fmt.Errorf("server: presence: %w", err)
	}
	gc, err := graph.New(graph.Config{BaseURL: s.cfg.GraphURL, TokenURL: s.cfg.TokenURL, TenantID: s.cfg.TenantID,
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, CallbackURI: s.cfg.CallbackURL(),
		Observe: s.metrics.Graph, Logger: s.log})
	if err != nil {
		return fmt.Errorf("server: graph client: %w", err)
	}
	s.graph = gc
	return s.wire(ctx)
}

// wire builds the view, the feed, upkeep and the HTTP routes.
func (s *Server) wire(ctx context.Context) error {
	var view *liveview.View
	hub := feed.NewHub(snapshotter{func() *liveview.View { return view }},
		feed.Options{Epoch: s.events.Epoch(), MaxPerSession: s.cfg.FeedsPerSession, RingBytes: int(s.cfg.FeedRingBytes), WriteInterval: s.cfg.FeedWriteInterval,
			Arrive: s.arrive, Redacted: viewerOnly, Metrics: s.metrics, Logger: s.log})
	privacy, err := s.openPrivacy(ctx, hub)
	if err != nil {
		return err
	}
	view = liveview.New(s.events, hub, liveview.Options{History: s.cfg.History, Owner: s.natsOptions().Name + " " + randomSuffix(),
		Archive: s.archive,
		Metrics: s.metrics, Logger: s.log, OnMarkedEnded: s.eraseMarked,
		OnCallStarted: func(ctx context.Context, c calls.Call) {
			s.verba.CallStarted(ctx, c)
			s.keeper.Enrich(c) // a call whose first notification lacks its parties is read at once
		}})
	lim := s.cfg.Limits
	s.floods = audit.NewFloods(s.audit, audit.FloodOptions{Window: lim.AuditWindow, Logger: s.log})
	vs, err := verba.New(ctx, verba.Config{Keys: s.cfg.VerbaKeys, Users: s.cfg.VerbaUsers, Store: records{view: view, log: s.events, archive: s.archive},
		Audit: s.audit, JS: s.nats.JS, Replicas: s.cfg.Replicas, Logger: s.log.With("component", "verba"),
		ClientAddr: lim.clientAddr(), Limits: lim.rate(), Floods: s.floods, BodyTimeout: lim.BodyTimeout,
		LockoutAfter: lim.VerbaLockoutAfter, LockoutFor: lim.VerbaLockoutFor})
	if err != nil {
		return fmt.Errorf("server: DeleteCall API: %w", err)
	}
	keeper, err := upkeep.New(ctx, s.nats.JS, s.cfg.Replicas, s.graph, view, s.events, s.cfg.Upkeep(s.metrics, s.log))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	id, err := s.openIdentity(ctx, mux)
	if err != nil {
		return err
	}
	verifier, err := s.notificationVerifier(ctx)
	if err != nil {
		return err
	}
	s.hub, s.view, s.verba, s.keeper, s.identity = hub, view, vs, keeper, id
	s.privacy = privacy
	api := &actions.API{Graph: s.graph, View: view, Log: erasingLog{s.events, s.archive}, Actor: actor, Audit: s.audit, Masked: privacy.For,
		BulkRate: s.cfg.BulkRate, Claims: s.presence, Session: sessionOf, Metrics: s.metrics, Logger: s.log}
	api.Routes(mux, id.guard)
	if err := s.wireAlerts(ctx, mux, id); err != nil {
		return err
	}
	history := &historyapi.API{Index: s.archive, Log: s.events, Masked: privacy.For, Logger: s.log}
	history.Routes(mux, func(h http.Handler) http.Handler { return id.require(auth.Viewer, h) })
	privacy.Routes(mux, id.require)
	webhook := &notify.Handler{Log: s.events, Verify: tokenCheck{verifier}, Metrics: s.metrics, Logger: s.log,
		Refused:     func(cause string, _ error) { s.store.Fail(refusalWords(cause)) },
		BodyTimeout: lim.BodyTimeout, Limit: ratelimit.New(lim.rate()), ClientAddr: lim.clientAddr(), Floods: s.floods}
	mux.Handle("/api/graph/notifications", webhook) // other methods: a clear 405 from the webhook
	mux.Handle("GET /api/feed", id.require(auth.Viewer, hub.Handler(id.feedAuthorizer)))
	mux.Handle("GET /api/audit", id.require(auth.Admin, s.audit.Handler()))
	mux.Handle("/auth/", id.routes())
	mux.Handle("GET /api/me", id.routes())
	mux.Handle("/verba/api", vs)
	s.operational(mux)
	mux.Handle("/", id.pages(s.console()))
	s.mux = mux
	return nil
}

// arrive seats the person whose feed opened, for presence; the returned
// function stands them up when it closes.
func (s *Server) arrive(r *http.Request, session string) func() {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		return func() {}
	}
	return s.presence.Arrive(feedwire.Person{Name: u.Name, Role: string(u.Role)}, session)
}

// wireAlerts opens the alert rules and mounts their routes; the watcher
// runs with the rest of the background work.
func (s *Server) wireAlerts(ctx context.Context, mux *http.ServeMux, id *identity) error {
	rules, err := alerting.OpenRules(ctx, s.nats.JS, alerting.Options{Replicas: s.cfg.Replicas})
	if err != nil {
		return fmt.Errorf("server: alert rules: %w", err)
	}
	if s.cfg.Demo {
		if _, err := rules.Seed(ctx, alerting.DemoRules(), "switchboard", time.Now()); err != nil {
			return fmt.Errorf("server: demo alert rules: %w", err)
		}
	}
	s.alerts = &alerting.Watcher{Rules: rules, View: s.view, Log: s.events, Every: s.cfg.AlertEvery, Metrics: s.metrics, Logger: s.log}
	api := &alerting.API{Rules: rules, View: s.view, Log: s.events, Actor: actor, Audit: s.audit, Metrics: s.metrics, Logger: s.log}
	api.Routes(mux, id.guard)
	return nil
}

// operational mounts /healthz, /readyz and /metrics.
func (s *Server) operational(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("GET /readyz", s.gate)
	mux.Handle("GET /metrics", s.metricsRoute())
}

// startingHandler answers until the replica is up: alive, not ready, and
// 503 (with what it waits for) for everything that needs NATS.
func (s *Server) startingHandler() http.Handler {
	mux := http.NewServeMux()
	s.operational(mux)
	mux.HandleFunc("/api/graph/notifications", func(w http.ResponseWriter, _ *http.Request) {
		s.metrics.Refuse("starting")
		w.Header().Set("Retry-After", "1")
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "notification not stored (starting); retry")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, why := s.gate.Ready()
		w.Header().Set("Retry-After", "2")
		if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, startingPage, htmlEscape(why))
			return
		}
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "Switchboard is starting: "+why)
	})
	return secheaders.Handler(secheaders.Options{HTTPS: strings.HasPrefix(s.cfg.PublicURL, "https://")}, mux)
}

// startingPage reloads itself until the console is there.
const startingPage = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard is starting</title></head><body style="font-family:system-ui,sans-serif;background:#0f172a;color:#e2e8f0;padding:2rem">
<h1>Switchboard is starting</h1><p>%s</p><p>This page reloads by itself.</p></body></html>`

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// refusalWords is /readyz's reason for a cause of a refused write.
func refusalWords(cause string) string {
	switch cause {
	case natsrun.CauseDisconnected:
		return "cannot store notifications: not connected to NATS"
	case natsrun.CauseNoLeader:
		return "cannot store notifications: the event log has no leader"
	case natsrun.CauseTimeout:
		return "cannot store notifications: NATS does not answer in time"
	default:
		return "cannot store notifications: " + cause
	}
}

// probeEvery and probeTimeout pace the readiness probe: a question the
// event log's leader must answer, asked twice a second.
const (
	probeEvery   = 500 * time.Millisecond
	probeTimeout = time.Second
)

// probe asks the event log's leader how it is, until ctx ends, and keeps
// the store condition of /readyz true to the answer.
func (s *Server) probe(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := s.events.LastSeq(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && !s.nats.NC.IsConnected() {
			err = fmt.Errorf("server: probe: %w", errNotConnected)
		}
		if err != nil {
			s.store.Fail(refusalWords(natsrun.Cause(err)))
		} else {
			s.store.OK()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var errNotConnected = errors.New("not connected to NATS")

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
	s.handler.Store(&h)
}

// snapshotter adapts the view to the hub, which is built first.
type snapshotter struct{ view func() *liveview.View }

func (s snapshotter) EncodedSnapshot() (uint64, [][]byte, uint64) { return s.view().EncodedSnapshot() }

func (s snapshotter) MaskedSnapshot() (uint64, [][]byte, uint64) { return s.view().MaskedSnapshot() }

func (s *Server) eraseMarked(ctx context.Context, callID string) {
	if err := s.events.Erase(ctx, callID); err != nil {
		s.log.Error("erase conversation marked for deletion", "call", callID, "err", err)
	}
}

// randomSuffix tells apart two processes of one host and name.
func randomSuffix() string { return rand.Text()[:8] }
