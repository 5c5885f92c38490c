//go:build !wasm

package main

import (
	"flag"
	"time"

	"switchboard/backend/clientaddr"
	"switchboard/backend/server"
)

// defineLimits declares the flags of every connection's deadlines, the
// bounds on the doors open to all, and where /metrics is served.
func defineLimits(fs *flag.FlagSet, c *server.Config) {
	l := &c.Limits
	fs.DurationVar(&l.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time to read a request's headers")
	fs.DurationVar(&l.ReadTimeout, "read-timeout", 30*time.Second, "time to read a whole request, body included")
	fs.DurationVar(&l.BodyTimeout, "body-timeout", 10*time.Second, "time a notification's or DeleteCall's body may take to arrive; slower is cut with 408")
	fs.DurationVar(&l.WriteTimeout, "write-timeout", time.Minute, "time to write an answer (the feed's websocket keeps its own)")
	fs.DurationVar(&l.IdleTimeout, "idle-timeout", 2*time.Minute, "close a kept-alive connection idle this long")
	fs.Float64Var(&l.ClientRate, "client-rate", 30, "sign-in starts and failed requests a minute each client address may make once its burst is spent (negative: no limit)")
	fs.IntVar(&l.ClientBurst, "client-burst", 30, "sign-in starts and failed requests a client address may make at once")
	fs.IntVar(&l.MaxPendingSignIns, "max-pending-signins", 5000, "sign-ins in progress a replica keeps at most")
	fs.IntVar(&l.MaxPendingSignInsPerClient, "max-pending-signins-per-client", 30, "sign-ins in progress a replica keeps at most per client address")
	fs.IntVar(&l.VerbaLockoutAfter, "verba-lockout-after", 10, "failed authentications in ten minutes that lock a DeleteCall API key out (negative: never)")
	fs.DurationVar(&l.VerbaLockoutFor, "verba-lockout", 15*time.Minute, "how long a DeleteCall API key stays locked out")
	fs.Func("trusted-proxies", "reverse proxies (comma-separated networks or addresses) whose X-Forwarded-For names the client", func(s string) error {
		p, err := clientaddr.ParsePrefixes(s)
		l.TrustedProxies = p
		return err
	})
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve /metrics on this address only (e.g. 127.0.0.1:9464); otherwise /metrics needs --metrics-token")
	fs.StringVar(&c.MetricsToken, "metrics-token", "", "bearer token /metrics requires (prefer the environment variable)")
}

// definePprof declares --pprof-addr: Go's runtime profiles on a loopback
// listener of their own.
func definePprof(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.pprofAddr, "pprof-addr", "", "serve Go's runtime profiles (net/http/pprof) on this loopback address only, e.g. 127.0.0.1:6060; off when empty")
}
