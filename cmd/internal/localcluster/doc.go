// Package localcluster runs Switchboard's moving parts as processes on
// loopback: a NATS JetStream cluster (nats-server, one process per node),
// Switchboard replicas pointed at it with --replicas 3, and one Graph
// simulator (graphsim) feeding every replica and serving their Graph API,
// token endpoint and notification keys.
//
// A Plan says which parts run where (fixed ports for the local demo
// cluster, free ports for a fault-injection run beside it) and builds each
// Part: its binary, flags, log file and health URL. A Process runs a Part,
// in a process group of its own so that a signal reaches the whole part,
// and can stop, kill (-9), freeze (SIGSTOP), thaw and restart it; an
// attached Process dies with this one, a detached one outlives it (the
// demo cluster keeps running after `make cluster` returns). Waits are
// bounded and say what they waited for.
//
// The same pieces serve `make cluster` (cmd/swcluster), `make chaos`
// (cmd/swchaos) and any later long-running test that needs a cluster.
package localcluster
