package localcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Bounds of the waits.
const (
	// NodeReadyTimeout bounds a node's wait for JetStream to be healthy
	// (its meta layer needs a quorum of nodes).
	NodeReadyTimeout = 60 * time.Second
	// ReplicaReadyTimeout bounds a replica's wait for /readyz.
	ReplicaReadyTimeout = 90 * time.Second
	// StopGrace is how long a part gets to stop after SIGTERM.
	StopGrace = 20 * time.Second
)

// Cluster is a Plan's parts running as processes.
type Cluster struct {
	Plan  *Plan
	procs []*Process
	log   *slog.Logger
}

// NewCluster prepares plan's directories and one Process per part (none
// started). detach makes them outlive this process. onExit, if set, hears
// of every run that ends.
func NewCluster(plan *Plan, detach bool, onExit func(Exit), log *slog.Logger) (*Cluster, error) {
	if err := plan.Prepare(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{Plan: plan, log: log}
	for _, part := range plan.Parts() {
		c.procs = append(c.procs, &Process{Part: part, Detach: detach, OnExit: onExit})
	}
	return c, nil
}

// Start starts every part in order (nodes, then the simulator, then the
// replicas one after the other) and waits for each to be ready. On
// failure it stops what it started.
func (c *Cluster) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	nodes := c.Kind(KindNode)
	for _, p := range nodes {
		if err := p.Start(); err != nil {
			return err
		}
		c.log.Info("started", "part", p.Part.Name, "pid", p.Pid(), "url", p.Part.URL)
	}
	// A node's JetStream is healthy only once a quorum of nodes runs, so
	// the nodes start together and are waited for after.
	for _, p := range nodes {
		if err := c.WaitReady(ctx, p); err != nil {
			return err
		}
	}
	// The replicas start one at a time: each creates or binds the streams
	// and buckets, and the cluster takes one change at a time best.
	for _, p := range append(c.Kind(KindSimulator), c.Kind(KindReplica)...) {
		if err := c.StartPart(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// StartPart starts p and waits until it is ready.
func (c *Cluster) StartPart(ctx context.Context, p *Process) error {
	if err := p.Start(); err != nil {
		return err
	}
	c.log.Info("started", "part", p.Part.Name, "pid", p.Pid(), "url", p.Part.URL)
	return c.WaitReady(ctx, p)
}

// WaitReady waits until p answers its health check, within the bound of
// its kind.
func (c *Cluster) WaitReady(ctx context.Context, p *Process) error {
	timeout := ReplicaReadyTimeout
	if p.Part.Kind == KindNode {
		timeout = NodeReadyTimeout
	}
	if err := WaitHealthy(ctx, p.Part, p.Done(), timeout); err != nil {
		return err
	}
	c.log.Info("ready", "part", p.Part.Name)
	return nil
}

// Stop stops every running part, replicas first and nodes last, and
// returns the problems it met.
func (c *Cluster) Stop() error {
	var errs []error
	for _, kind := range []Kind{KindReplica, KindSimulator, KindNode} {
		for _, p := range c.Kind(kind) {
			if err := p.Stop(StopGrace); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Kind lists the parts of one kind, in plan order.
func (c *Cluster) Kind(k Kind) []*Process {
	var out []*Process
	for _, p := range c.procs {
		if p.Part.Kind == k {
			out = append(out, p)
		}
	}
	return out
}

// Part returns the process of the part called name.
func (c *Cluster) Part(name string) (*Process, error) {
	for _, p := range c.procs {
		if p.Part.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("localcluster: no part called %q", name)
}

// Processes lists every part's process, in start order.
func (c *Cluster) Processes() []*Process { return append([]*Process(nil), c.procs...) }
