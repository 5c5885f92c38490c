package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"switchboard/backend/clientaddr"
	"switchboard/backend/metrics"
	"switchboard/backend/ratelimit"
)

// Limits are the deadlines every connection has, and the bounds on what
// anyone may ask of the doors open to all (sign-in, the webhook, DeleteCall).
// Zero values take the defaults; a negative timeout turns it off.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers (default 10s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (default
	// 30s); the webhook and /verba/api hold bodies to BodyTimeout instead.
	ReadTimeout time.Duration
	// BodyTimeout bounds the body of a notification or a DeleteCall POST
	// (default 10s): a slower body is cut with 408.
	BodyTimeout time.Duration
	// WriteTimeout bounds writing an answer, from the end of the request's
	// headers (default 60s), so a client that never reads (app.wasm) is
	// cut. The feed's websocket is exempt: it keeps its own timeouts.
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection unused this long (default
	// 2m).
	IdleTimeout time.Duration

	// ClientRate and ClientBurst bound, per client address, sign-in starts
	// and failed requests on the open doors: ClientBurst at once, then
	// ClientRate a minute (defaults 30 and 30; a negative rate turns the
	// limit off).
	ClientRate  float64
	ClientBurst int
	// MaxPendingSignIns and MaxPendingSignInsPerClient cap the sign-ins in
	// progress on a replica, in all and per client address (defaults 5000
	// and 30).
	MaxPendingSignIns, MaxPendingSignInsPerClient int
	// VerbaLockoutAfter failed authentications with one DeleteCall API key
	// in ten minutes lock it out for VerbaLockoutFor (defaults 10 and 15m;
	// a negative count turns lockout off).
	VerbaLockoutAfter int
	VerbaLockoutFor   time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; behind a proxy not listed, every client is the proxy.
	TrustedProxies []netip.Prefix
	// AuditWindow is how long a flood of failures from one address is
	// counted into one audit entry (default one minute).
	AuditWindow time.Duration
}

func (l Limits) withDefaults() Limits {
	timeout := func(d *time.Duration, def time.Duration) {
		switch {
		case *d == 0:
			*d = def
		case *d < 0:
			*d = 0 // net/http: no timeout
		}
	}
	timeout(&l.ReadHeaderTimeout, 10*time.Second)
	timeout(&l.ReadTimeout, 30*time.Second)
	timeout(&l.BodyTimeout, 10*time.Second)
	timeout(&l.WriteTimeout, time.Minute)
	timeout(&l.IdleTimeout, 2*time.Minute)
	if l.AuditWindow <= 0 {
		l.AuditWindow = time.Minute
	}
	return l
}

// rate is the per-address limit of each open door.
func (l Limits) rate() ratelimit.Config {
	return ratelimit.Config{PerMinute: l.ClientRate, Burst: l.ClientBurst}
}

// clientAddr says which address a request comes from.
func (l Limits) clientAddr() func(*http.Request) netip.Addr {
	return clientaddr.Resolver{Trusted: l.TrustedProxies}.Addr
}

// httpServer is an http.Server for h with every deadline set.
func (l Limits) httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// metricsRoute is what the main listener answers at /metrics: the metrics
// behind the bearer token when one is set and no listener of their own is,
// and otherwise a 404 saying where they are.
func (s *Server) metricsRoute() http.Handler {
	if s.cfg.MetricsAddr == "" && s.cfg.MetricsToken != "" {
		return metrics.Handler(s.reg, s.cfg.MetricsToken)
	}
	msg := "metrics are not served on this listener: start Switchboard with --metrics-addr or --metrics-token"
	if s.cfg.MetricsAddr != "" {
		msg = "metrics are served on their own listener (--metrics-addr)"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, msg, http.StatusNotFound) })
}

// ServeMetrics serves /metrics alone on ln (the --metrics-addr listener),
// behind the bearer token if one is set, until ctx ends.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(s.reg, s.cfg.MetricsToken))
	srv := s.cfg.Limits.httpServer(mux, s.log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
