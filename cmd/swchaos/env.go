package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/cmd/internal/devlogin"
	"switchboard/cmd/internal/feedwatch"
	"switchboard/cmd/internal/localcluster"
	"switchboard/cmd/internal/readiness"
	"switchboard/cmd/internal/traffic"
)

// env is a running cluster with everything that watches it: the traffic,
// the consoles, the readiness pollers and the replicas' supervisor.
type env struct {
	o       options
	log     *slog.Logger
	plan    *localcluster.Plan
	cluster *localcluster.Cluster
	nc      *nats.Conn
	js      jetstream.JetStream
	http    *http.Client
	// viewer is a session for reading the replicas' views.
	viewer   http.CookieJar
	user     devlogin.User
	poster   *traffic.Poster
	pollers  []*readiness.Poller
	consoles []*feedwatch.Console
	exits    *localcluster.Supervisor

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// replicaArgs keep upkeep off the tool's calls: nothing is auto-answered,
// a live call is checked with Graph (which does not know the tool's calls)
// only after two quiet hours, and a restarting replica does not check its
// live calls (it would end every one as a ghost).
var replicaArgs = []string{"--quiet-after", "2h", "--startup-check-rate", "-1"}

// startEnv starts the cluster and everything around it, in dir.
func startEnv(ctx context.Context, o options, dir string, log *slog.Logger) (_ *env, err error) {
	b, err := localcluster.FindBinaries(o.Bin, o.Web, "make chaos")
	if err != nil {
		return nil, err
	}
	plan, err := localcluster.NewPlan(localcluster.Options{Dir: dir, ClusterName: "switchboard-chaos", ReplicaArgs: replicaArgs, Bin: b})
	if err != nil {
		return nil, err
	}
	e := &env{o: o, log: log, plan: plan, http: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second}}
	if e.cluster, err = localcluster.NewCluster(plan, false, nil, log); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	log.Info("starting the cluster", "dir", dir)
	if err := e.cluster.Start(ctx); err != nil {
		return e, err
	}
	e.exits = localcluster.Supervise(runCtx, e.cluster, log)
	if e.nc, e.js, err = plan.Connect("swchaos"); err != nil {
		return e, err
	}
	if err := e.signInViewer(ctx); err != nil {
		return e, err
	}
	e.startPollers(runCtx)
	if err := e.startConsoles(ctx, runCtx); err != nil {
		return e, err
	}
	e.startTraffic(runCtx)
	return e, nil
}

// signInViewer picks the demo user who may only watch and signs in once,
// to read the replicas' views.
func (e *env) signInViewer(ctx context.Context) error {
	first := e.plan.Replicas[0]
	u, err := devlogin.PickViewer(devlogin.Users(localcluster.Tail(e.replicaLog(0), 1<<20)))
	if err != nil {
		return err
	}
	e.user = u
	e.viewer, err = devlogin.SignIn(ctx, first.LocalURL(), u)
	return err
}

func (e *env) replicaLog(i int) string {
	return filepath.Join(e.plan.Dir, "logs", e.plan.Replicas[i].Name+".log")
}

// replicaURLs are the replicas' base URLs on loopback.
func (e *env) replicaURLs() []string {
	var out []string
	for _, r := range e.plan.Replicas {
		out = append(out, r.LocalURL())
	}
	return out
}

func (e *env) startPollers(ctx context.Context) {
	for _, r := range e.plan.Replicas {
		p := &readiness.Poller{URL: r.LocalURL() + "/readyz", Client: e.http}
		e.pollers = append(e.pollers, p)
		e.wg.Go(func() { p.Run(ctx) })
	}
}

// startConsoles starts o.Consoles consoles per replica, one of each
// policy in turn, and waits until each has its first view.
func (e *env) startConsoles(ctx, runCtx context.Context) error {
	urls := e.replicaURLs()
	policies := []feedwatch.Policy{feedwatch.Sticky, feedwatch.Failover, feedwatch.Random}
	for home, r := range e.plan.Replicas {
		for i := range e.o.Consoles {
			c := feedwatch.New(feedwatch.Options{
				Name: fmt.Sprintf("%s/%d", r.Name, i+1), Replicas: urls, Home: home, Policy: policies[i%len(policies)],
				SignIn: func(ctx context.Context, replica string) (http.CookieJar, error) {
					return devlogin.SignIn(ctx, replica, e.user)
				}})
			e.consoles = append(e.consoles, c)
			e.wg.Go(func() {
				if err := c.Run(runCtx); err != nil {
					e.log.Error("console stopped", "console", c.Name(), "err", err)
				}
			})
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range e.consoles {
		for !hasConnected(c) {
			if time.Now().After(deadline) {
				return fmt.Errorf("console %s has no view after 30 s: %+v", c.Name(), c.Events())
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	e.log.Info("consoles connected", "n", len(e.consoles))
	return nil
}

func hasConnected(c *feedwatch.Console) bool {
	for _, ev := range c.Events() {
		if ev.Kind == feedwatch.Connected {
			return true
		}
	}
	return false
}

func (e *env) startTraffic(ctx context.Context) {
	var hooks []string
	for _, r := range e.plan.Replicas {
		hooks = append(hooks, r.LocalURL()+"/api/graph/notifications")
	}
	e.poster = &traffic.Poster{Targets: hooks, Token: traffic.SimulatorToken(e.plan.SimURL(), e.http),
		Gen: traffic.Generator{Run: uint16(time.Now().Unix())}, Rate: e.o.Rate, Lanes: 8}
	e.poster.Pause() // each phase resumes it
	e.wg.Go(func() { e.poster.Run(ctx) })
}

// stop ends the watchers, then stops every part of the cluster.
func (e *env) stop() error {
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
	if e.exits != nil {
		e.exits.Stop()
	}
	if e.nc != nil {
		e.nc.Close()
	}
	if e.cluster == nil {
		return nil
	}
	return e.cluster.Stop()
}
