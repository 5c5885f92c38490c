// Package profiling serves Go's runtime profiles (net/http/pprof) on a
// listener of their own that only the machine itself can reach.
//
// Profiles tell a lot about a running server (its goroutines, its heap,
// what it is busy with) and taking one costs CPU, so they are never
// served on the public listener: Listen refuses any address that is not
// a loopback one, and Handler is mounted on that listener alone. An
// operator (or the load tool) reaches them from the server's own host,
// or through an SSH tunnel:
//
//	switchboard --pprof-addr 127.0.0.1:6060 …
//	go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30
package profiling

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"
)

// ErrNotLoopback is returned by Listen for an address other machines
// could reach.
var ErrNotLoopback = errors.New("profiling: profiles are served on a loopback address only (127.0.0.1, [::1] or localhost)")

// Listen listens on addr, which must name a loopback host: 127.0.0.0/8,
// ::1, or localhost (which then listens on 127.0.0.1). An empty host, a
// wildcard or any other address is refused with ErrNotLoopback.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("profiling: address %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), port))
	if err != nil {
		return nil, fmt.Errorf("profiling: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Handler serves the profiles under /debug/pprof/, as net/http/pprof
// names them, and nothing else.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Serve serves Handler on ln until ctx ends. A CPU profile or a trace
// lasts as long as it asks (seconds=N), so the server has no write
// deadline; it has a read deadline for the request itself.
func Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("profiling: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
	}
	return nil
}
