package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"switchboard/cmd/internal/machine"
	"switchboard/cmd/internal/readiness"
)

// chaos runs the selected faults and returns the report, also when it
// could not run them all (the error says why).
func chaos(ctx context.Context, o options, log *slog.Logger) (*report, error) {
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "swchaos-")
		if err != nil {
			return nil, fmt.Errorf("the cluster's directory: %w", err)
		}
		dir = d
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}
	server := filepath.Join(o.Bin, "switchboard")
	rep := &report{Started: time.Now().UTC(), Options: o, Machine: machine.Read(server), NATSVersion: natsVersion(ctx, o.Bin)}
	if rep.Machine.ServerRevision == "" {
		rep.Machine.ServerRevision = gitRevision(ctx)
	}
	if o.Keep {
		rep.Dir = dir
	}
	e, err := startEnv(ctx, o, dir, log)
	if err != nil {
		if e != nil {
			e.stop()
		}
		rep.Failure = "the cluster did not start: " + err.Error()
		return rep, err
	}
	rep.Consoles = len(e.consoles)
	var runErr error
	stored := map[int][]uint64{}
	logged := map[string]int{} // events in the log, by call
	var after uint64
	for _, f := range faults(o) {
		if !slices.Contains(o.Only, f.Name) {
			continue
		}
		p, last, err := runPhase(ctx, e, f, stored, logged, after)
		after = last
		if p.Result != nil {
			rep.Phases = append(rep.Phases, p)
		}
		if err != nil {
			runErr = fmt.Errorf("%s: %w", f.Name, err)
			break
		}
	}
	rep.Finished = time.Now().UTC()
	if len(rep.Phases) > 0 {
		rep.Totals = account(e.input(rep.Phases[0].Start, rep.Finished, stored, nil))
	}
	if err := e.stop(); err != nil {
		rep.StopProblems = err.Error()
	}
	if runErr != nil {
		rep.Failure = runErr.Error()
	}
	return rep, runErr
}

// runPhase injects one fault while traffic flows, lets everything settle,
// reads the event log after seq after and accounts for the phase.
func runPhase(ctx context.Context, e *env, f fault, stored map[int][]uint64, logged map[string]int, after uint64) (*phase, uint64, error) {
	p := &phase{Fault: f, Start: time.Now()}
	e.log.Info("phase", "fault", f.Name, "what", f.What)
	e.poster.Resume()
	p.mark("traffic flows")
	injectErr := f.inject(ctx, e, p)
	if ctx.Err() != nil {
		return p, after, ctx.Err() // interrupted: stop at once
	}
	if injectErr != nil {
		p.note("the fault was not run to the end: " + injectErr.Error())
	}
	qctx := ctx
	p.mark("traffic paused for the check")
	views, err := e.quiesce(qctx, p)
	if err != nil {
		p.note("the check was cut short: " + err.Error())
	}
	entries, last, err := e.readLog(qctx, after)
	if err != nil {
		p.note("the event log could not be read to the end: " + err.Error())
	}
	if last < after {
		last = after
	}
	storedNotifications(entries, e.poster.Gen, stored)
	for _, en := range entries {
		logged[en.Event.CallID]++
	}
	p.End = time.Now()
	in := e.input(p.Start, p.End, stored, views)
	in.History = e.readHistories(qctx, in.Records, p.Start, p.End, logged)
	p.Result = account(in)
	r := p.Result
	e.log.Info("phase done", "fault", f.Name, "sent", r.Sent, "accepted", r.Accepted, "stored", r.Stored,
		"exits", len(r.Exits), "unavailable", r.Overall.Duration().Round(100*time.Millisecond))
	return p, last, injectErr
}

// input gathers what the accounting of [from, to) reads.
func (e *env) input(from, to time.Time, stored map[int][]uint64, views []*serverView) phaseInput {
	in := phaseInput{From: from, To: to, Records: e.poster.Records(), Attempts: e.poster.Attempts(),
		Stored: stored, Views: views, Exits: e.exits.Failures()}
	for _, p := range e.pollers {
		in.Samples = append(in.Samples, p.Samples())
	}
	if in.Samples == nil {
		in.Samples = make([][]readiness.Sample, len(e.plan.Replicas))
	}
	for _, c := range e.consoles {
		o := c.Options()
		in.Consoles = append(in.Consoles, consoleInput{Name: o.Name, Policy: o.Policy.String(), Home: o.Home,
			Events: c.Events(), Calls: c.State().Calls})
	}
	return in
}

// gitRevision names the commit of the working tree (with "+ changes"
// when it has uncommitted changes), for binaries built without VCS
// information; empty when git cannot tell.
func gitRevision(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += " + changes"
	}
	return rev
}

// natsVersion asks the nats-server binary its version.
func natsVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "nats-server"), "--version").Output()
	if err != nil {
		return machine.Unknown
	}
	return strings.TrimSpace(strings.TrimPrefix(string(out), "nats-server:"))
}
