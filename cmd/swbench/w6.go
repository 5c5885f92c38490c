package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"switchboard/cmd/internal/devlogin"
	"switchboard/cmd/internal/localcluster"
)

// runW6 is W5 on a local 3-node NATS cluster (nats-server processes,
// every stream and bucket replicated three times) with two replicas: the
// posters send to both (each failing over to the other), the consoles
// watch the first, and the first is killed and started again.
func (b *bench) runW6(ctx context.Context, name string, cfg w5Config) (*w5Result, error) {
	res := &w5Result{Config: cfg, Cluster: true}
	dir, err := os.MkdirTemp("", "swbench-cluster-")
	if err != nil {
		return res, fmt.Errorf("cluster directory: %w", err)
	}
	defer os.RemoveAll(dir)
	bin, err := b.clusterBinaries()
	if err != nil {
		return res, err
	}
	token := rand.Text()
	// The simulator knows none of the bench's calls: the replicas' Graph
	// is a closed port, as the single server's is, or keepAlive would end
	// every call as a ghost.
	plan, err := localcluster.NewPlan(localcluster.Options{Dir: dir, Nodes: 3, Replicas: 2, Bin: bin,
		ReplicaArgs: append(benchReplicaArgs(b.bin), "--metrics-token", token, "--graph-url", "http://127.0.0.1:9/v1.0")})
	if err != nil {
		return res, err
	}
	plan.ReplicaArgs = append(plan.ReplicaArgs, b.opts.ServerFlags...)
	cluster, err := localcluster.NewCluster(plan, false, nil, b.log)
	if err != nil {
		return res, err
	}
	if err := cluster.Start(ctx); err != nil {
		return res, fmt.Errorf("start the cluster: %w", err)
	}
	defer cluster.Stop()
	procs := cluster.Kind(localcluster.KindReplica)
	home := &server{Kind: kindSwitchboard, URL: plan.Replicas[0].LocalURL(), MetricsToken: token, http: b.http, log: b.log}
	users := devlogin.Users(localcluster.Tail(procs[0].Part.Log, 1<<20))
	u, err := devlogin.PickViewer(users)
	if err != nil {
		return res, err
	}
	if home.Jar, err = devlogin.SignIn(ctx, home.URL, u); err != nil {
		return res, err
	}
	env := restartEnv{webhooks: []string{plan.Replicas[0].LocalURL(), plan.Replicas[1].LocalURL()}, home: home,
		kill:  procs[0].Kill,
		start: procs[0].Start,
		logAfter: func(time.Time) string {
			return localcluster.Tail(procs[0].Part.Log, 4<<20)
		}}
	err = b.restartRun(ctx, name, env, res)
	return res, err
}

// clusterBinaries finds nats-server and graphsim next to the server
// binary (make build and make nats-server put them in bin/), and the
// console's web directory.
func (b *bench) clusterBinaries() (localcluster.Binaries, error) {
	dir := filepath.Dir(b.bin.Path)
	bin := localcluster.Binaries{NATSServer: b.opts.NATSServer, Switchboard: b.bin.Path, Graphsim: filepath.Join(dir, "graphsim"), Web: b.opts.Web}
	if bin.NATSServer == "" {
		bin.NATSServer = filepath.Join(dir, "nats-server")
	}
	for _, p := range []*string{&bin.NATSServer, &bin.Switchboard, &bin.Graphsim, &bin.Web} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return bin, err
		}
		if _, err := os.Stat(abs); err != nil {
			return bin, fmt.Errorf("W6 needs %s (make build nats-server): %w", abs, err)
		}
		*p = abs
	}
	return bin, nil
}

// benchReplicaArgs are the flags the bench gives a cluster's replicas:
// the bench's notifications carry no token, every console of a run shares
// one session, and Graph (the simulator) knows none of the bench's calls,
// so a restarting replica must not check them.
func benchReplicaArgs(bin serverBinary) []string {
	return append(bin.workloadArgs(), "--quiet-after", "2h", "--log-level", "info")
}
