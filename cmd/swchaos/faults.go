package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"switchboard/backend/eventlog"
	"switchboard/cmd/internal/localcluster"
)

// fault is one thing done to the cluster while traffic flows.
type fault struct {
	Name, Title string
	// What says in a sentence what the fault does.
	What string
	// Goal is the longest webhook unavailability (on every replica at
	// once) the issue allows; GoalText says it in words. HasGoal is false
	// when the issue sets none.
	Goal     func(p *phase) time.Duration
	GoalText string
	HasGoal  bool
	inject   func(ctx context.Context, e *env, p *phase) error
}

func faults(o options) []fault {
	return []fault{
		{Name: "baseline", Title: "No fault", What: fmt.Sprintf("traffic for %s with nothing done to the cluster", o.Baseline),
			Goal: func(*phase) time.Duration { return 0 }, GoalText: "no refusal", HasGoal: true,
			inject: func(ctx context.Context, _ *env, _ *phase) error { return sleep(ctx, o.Baseline) }},
		{Name: "leader-kill", Title: "Leader node killed",
			What: fmt.Sprintf("kill -9 the node leading the event log's stream; start it again %s later", o.LeaderDown),
			Goal: func(*phase) time.Duration { return 10 * time.Second }, GoalText: "≤ 10 s", HasGoal: true,
			inject: func(ctx context.Context, e *env, p *phase) error { return killLeader(ctx, e, p, o) }},
		{Name: "replica-kill", Title: "Replica killed",
			What: fmt.Sprintf("kill -9 a replica and start it again %s, while its consoles race to reconnect to it and to the other replica", after(o.ReplicaDown)),
			Goal: func(*phase) time.Duration { return 0 }, GoalText: "none set (the other replica takes the notifications)",
			inject: func(ctx context.Context, e *env, p *phase) error { return killReplica(ctx, e, p, o) }},
		{Name: "leader-freeze", Title: "Leader node frozen",
			What: fmt.Sprintf("SIGSTOP the node leading the event log's stream for %s, then SIGCONT", o.Freeze),
			Goal: func(*phase) time.Duration { return 20 * time.Second }, GoalText: "≤ 20 s", HasGoal: true,
			inject: func(ctx context.Context, e *env, p *phase) error { return freezeLeader(ctx, e, p, o) }},
		{Name: "cluster-restart", Title: "Whole cluster restarted",
			What: fmt.Sprintf("stop all three nodes (SIGTERM), start them again %s later", o.Outage),
			Goal: func(p *phase) time.Duration { return p.Outage + 15*time.Second }, GoalText: "≤ outage + 15 s", HasGoal: true,
			inject: func(ctx context.Context, e *env, p *phase) error { return restartCluster(ctx, e, p, o) }},
	}
}

// after says when something happens again after d.
func after(d time.Duration) string {
	if d <= 0 {
		return "at once (as a supervisor would)"
	}
	return d.String() + " later"
}

func faultNames() []string {
	var names []string
	for _, f := range faults(options{}) {
		names = append(names, f.Name)
	}
	return names
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// leader finds the node leading the event log's stream, asking for up to
// 30 s (the cluster may be electing one).
func leader(ctx context.Context, e *env) (*localcluster.Process, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		name, err := localcluster.StreamLeader(ctx, e.js, eventlog.StreamName)
		if err == nil {
			return e.cluster.Part(name)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no leader of %s after 30 s: %w", eventlog.StreamName, err)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

func killLeader(ctx context.Context, e *env, p *phase, o options) error {
	if err := sleep(ctx, o.Before); err != nil {
		return err
	}
	node, err := leader(ctx, e)
	if err != nil {
		return err
	}
	p.mark("kill -9 " + node.Part.Name + " (the leader)")
	if err := node.Kill(); err != nil {
		return err
	}
	p.FaultAt = time.Now()
	if err := sleep(ctx, o.LeaderDown); err != nil {
		return err
	}
	p.mark("start " + node.Part.Name)
	p.RestoredAt = time.Now()
	if err := node.Start(); err != nil {
		return err
	}
	return settle(ctx, e, p, o)
}

func killReplica(ctx context.Context, e *env, p *phase, o options) error {
	if err := sleep(ctx, o.Before); err != nil {
		return err
	}
	r, err := e.cluster.Part(e.plan.Replicas[0].Name)
	if err != nil {
		return err
	}
	if !r.Running() {
		return fmt.Errorf("%s is not running", r.Part.Name)
	}
	p.mark("kill -9 " + r.Part.Name)
	if err := r.Kill(); err != nil {
		return err
	}
	p.FaultAt = time.Now()
	// Started again at once, it may be ready before the next poll: ask now
	// that it is gone, so its window is seen.
	e.pollers[0].Probe(ctx)
	if err := sleep(ctx, o.ReplicaDown); err != nil {
		return err
	}
	p.mark("start " + r.Part.Name)
	p.RestoredAt = time.Now()
	if err := r.Start(); err != nil {
		return err
	}
	return settle(ctx, e, p, o)
}

func freezeLeader(ctx context.Context, e *env, p *phase, o options) error {
	if err := sleep(ctx, o.Before); err != nil {
		return err
	}
	node, err := leader(ctx, e)
	if err != nil {
		return err
	}
	p.mark("SIGSTOP " + node.Part.Name + " (the leader)")
	if err := node.Freeze(); err != nil {
		return err
	}
	p.FaultAt = time.Now()
	// Thaw even when the run is interrupted: a frozen node would not stop.
	defer node.Thaw()
	if err := sleep(ctx, o.Freeze); err != nil {
		return err
	}
	p.mark("SIGCONT " + node.Part.Name)
	p.RestoredAt = time.Now()
	if err := node.Thaw(); err != nil {
		return err
	}
	return settle(ctx, e, p, o)
}

func restartCluster(ctx context.Context, e *env, p *phase, o options) error {
	if err := sleep(ctx, o.Before); err != nil {
		return err
	}
	nodes := e.cluster.Kind(localcluster.KindNode)
	p.mark("stop n1, n2, n3 (SIGTERM)")
	p.FaultAt = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.Stop(localcluster.StopGrace) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.mark("every node stopped")
	if err := sleep(ctx, o.Outage); err != nil {
		return err
	}
	p.mark("start n1, n2, n3")
	p.RestoredAt = time.Now()
	p.Outage = p.RestoredAt.Sub(p.FaultAt)
	for _, n := range nodes {
		if err := n.Start(); err != nil {
			return err
		}
	}
	return settle(ctx, e, p, o)
}

// settle waits until every part is ready again (at most 90 s; a replica
// the supervisor is restarting counts once it is back), notes when, then
// lets traffic flow for o.After.
func settle(ctx context.Context, e *env, p *phase, o options) error {
	deadline := time.Now().Add(90 * time.Second)
	for _, proc := range e.cluster.Processes() {
		for {
			status, _, err := localcluster.Check(ctx, proc.Part.Health)
			if err == nil && status == 200 {
				break
			}
			if time.Now().After(deadline) {
				p.note(fmt.Sprintf("%s was not ready 90 s after the fault ended", proc.Part.Name))
				return sleep(ctx, o.After)
			}
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	}
	p.RecoveredAt = time.Now()
	p.mark("every part ready")
	return sleep(ctx, o.After)
}
