// Package natsrun gives the server its NATS connection: an in-process NATS
// server with JetStream on a data directory by default, so one binary runs
// everything and state survives restarts, or a connection to an external
// NATS cluster when a URL is given, which is how several replicas share one
// event log.
package natsrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options says where NATS is and how to reach it.
type Options struct {
	// URL of an external NATS cluster (comma-separated servers). Empty starts
	// an embedded server.
	URL string
	// DataDir is where the embedded server keeps JetStream's files.
	DataDir string
	// Name names the connection (shown by NATS monitoring), e.g. the host.
	Name string
	// CredsFile is a NATS credentials file (a user JWT and its NKey seed),
	// as operator-mode clusters hand out.
	CredsFile string
	// NKeySeedFile is a file holding a user's NKey seed, for clusters that
	// authenticate by NKey.
	NKeySeedFile string
	// TLSCAFile is the CA that signed the servers' certificates (PEM); with
	// it the connection requires TLS.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are a client certificate and its key (PEM),
	// for clusters that verify clients.
	TLSCertFile, TLSKeyFile string
	// Listen, for the embedded server, is a host:port to also accept NATS
	// clients on; empty accepts only the in-process connection.
	Listen string
	// Logger receives connection events.
	Logger *slog.Logger
}

// Conn is a NATS connection with JetStream, and the embedded server if one
// was started.
type Conn struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Embedded *server.Server
	closed   chan struct{} // closed when NC is closed (after a drain)
}

// Open connects according to opts.
func Open(ctx context.Context, opts Options) (*Conn, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.URL != "" {
		return dial(opts)
	}
	return embed(ctx, opts)
}

func embed(ctx context.Context, opts Options) (*Conn, error) {
	if opts.DataDir == "" {
		return nil, errors.New("natsrun: the embedded server needs a data directory")
	}
	sopts := &server.Options{
		ServerName: "switchboard",
		JetStream:  true,
		StoreDir:   opts.DataDir,
		DontListen: opts.Listen == "",
		NoSigs:     true,
		// An acknowledged event is in JetStream's file store: it survives a
		// crash of this process. JetStream flushes to the disk itself every
		// two minutes; surviving the loss of a machine is what an external
		// R3 cluster (--nats-url, --replicas 3) is for.
	}
	if opts.Listen != "" {
		host, port, err := splitHostPort(opts.Listen)
		if err != nil {
			return nil, err
		}
		sopts.Host, sopts.Port = host, port
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("natsrun: embedded server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("natsrun: embedded server did not become ready in 30s")
	}
	closed := make(chan struct{})
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name(opts.Name), onClosed(closed))
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("natsrun: connect in-process: %w", err)
	}
	c, err := withJetStream(nc, closed)
	if err != nil {
		ns.Shutdown()
		return nil, err
	}
	c.Embedded = ns
	opts.Logger.Info("embedded NATS with JetStream started", "data", opts.DataDir, "listen", opts.Listen)
	return c, nil
}

// How the connection to an external cluster behaves at run time. A replica
// never gives up on NATS: it reconnects forever, notices a server that
// stopped answering (frozen, or cut off) within a few seconds, and refuses
// to buffer writes while disconnected, so the webhook answers 503 at once
// instead of storing a notification after it has told Graph it failed.
const (
	pingInterval   = 2 * time.Second
	maxPingsOut    = 2
	reconnectWait  = 250 * time.Millisecond
	reconnectJit   = 500 * time.Millisecond
	dialTimeout    = 2 * time.Second
	reconnectBufSz = -1
)

func dial(opts Options) (*Conn, error) {
	log := opts.Logger
	closed := make(chan struct{})
	copts, err := opts.security()
	if err != nil {
		return nil, err
	}
	copts = append(copts, nats.Name(opts.Name), nats.MaxReconnects(-1), onClosed(closed),
		nats.PingInterval(pingInterval), nats.MaxPingsOutstanding(maxPingsOut),
		nats.ReconnectWait(reconnectWait), nats.ReconnectJitter(reconnectJit, reconnectJit),
		nats.Timeout(dialTimeout), nats.ReconnectBufSize(reconnectBufSz),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected; reconnecting", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn("NATS error", "err", err) }))
	nc, err := nats.Connect(opts.URL, copts...)
	if err != nil {
		return nil, fmt.Errorf("natsrun: connect to %s: %w", redact(opts.URL), err)
	}
	return withJetStream(nc, closed)
}

// security turns the credentials and TLS options into connection options.
func (o Options) security() ([]nats.Option, error) {
	var out []nats.Option
	if o.CredsFile != "" && o.NKeySeedFile != "" {
		return nil, errors.New("natsrun: give a credentials file or an NKey seed, not both")
	}
	if o.CredsFile != "" {
		out = append(out, nats.UserCredentials(o.CredsFile))
	}
	if o.NKeySeedFile != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("natsrun: NKey seed %s: %w", o.NKeySeedFile, err)
		}
		out = append(out, opt)
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return nil, errors.New("natsrun: a TLS client certificate needs its key, and the key its certificate")
	}
	if o.TLSCAFile != "" {
		out = append(out, nats.RootCAs(o.TLSCAFile))
	}
	if o.TLSCertFile != "" {
		out = append(out, nats.ClientCert(o.TLSCertFile, o.TLSKeyFile))
	}
	return out, nil
}

// redact hides passwords and tokens in NATS URLs before they are logged.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
		} else {
			u.User = url.User("redacted")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// onClosed closes ch once the connection is closed.
func onClosed(ch chan struct{}) nats.Option {
	return nats.ClosedHandler(func(*nats.Conn) { close(ch) })
}

func withJetStream(nc *nats.Conn, closed chan struct{}) (*Conn, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsrun: jetstream: %w", err)
	}
	return &Conn{NC: nc, JS: js, closed: closed}, nil
}

// Close drains the connection and stops the embedded server, if any.
func (c *Conn) Close() {
	if err := c.NC.Drain(); err != nil {
		c.NC.Close()
	}
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second): // nats' own drain timeout is 30s
		c.NC.Close()
	}
	if c.Embedded != nil {
		c.Embedded.Shutdown()
		c.Embedded.WaitForShutdown()
	}
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("natsrun: listen address: %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("natsrun: listen port %q: %w", p, err)
	}
	return host, port, nil
}

// Redact hides the passwords and tokens in a list of NATS URLs, for logs.
func Redact(urls string) string { return redact(urls) }
