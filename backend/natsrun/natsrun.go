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
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options says where NATS is.
type Options struct {
	// URL of an external NATS cluster (comma-separated servers). Empty starts
	// an embedded server.
	URL string
	// DataDir is where the embedded server keeps JetStream's files.
	DataDir string
	// Name names the connection (shown by NATS monitoring).
	Name string
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

func dial(opts Options) (*Conn, error) {
	log := opts.Logger
	closed := make(chan struct{})
	nc, err := nats.Connect(opts.URL, nats.Name(opts.Name), nats.MaxReconnects(-1), onClosed(closed),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", c.ConnectedUrlRedacted()) }))
	if err != nil {
		return nil, fmt.Errorf("natsrun: connect to %s: %w", opts.URL, err)
	}
	return withJetStream(nc, closed)
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
