// Package natstest starts real, in-process NATS servers with JetStream for
// tests, the way net/http/httptest starts real HTTP servers: on loopback,
// on a free port, with storage in the test's temporary directory, stopped
// when the test ends. Several connections to one server stand for several
// replicas.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server starts a NATS server with JetStream on 127.0.0.1.
func Server(t testing.TB) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatalf("natstest: server: %v", err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("natstest: server not ready in 10s")
	}
	return ns
}

// Connect opens a connection of its own to ns (a replica) and returns its
// JetStream context.
func Connect(t testing.TB, ns *server.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return js
}

// JetStream starts a server and connects to it.
func JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return Connect(t, Server(t))
}

// ConnectURL opens a connection of its own to a server or cluster at url
// (comma-separated) and returns its JetStream context.
func ConnectURL(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return js
}
