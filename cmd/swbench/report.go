package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/cmd/internal/machine"
	"switchboard/cmd/internal/mdsection"
)

// report is everything one invocation measured.
type report struct {
	Started, Finished time.Time
	// Command is the invocation, as a user would type it.
	Command string
	// FileLimit is the bench's open files limit.
	FileLimit uint64
	Machine   machine.Machine
	Options   options
	// LoadAfter is the load average when the workloads were done.
	LoadAfter string
	// Server is the server binary the workloads ran.
	Server serverBinary
	// Runs are every run, in the order they ran.
	Runs []*runResult
}

// Err is non-nil when a run did not finish.
func (r *report) Err() error {
	var errs []error
	for _, run := range r.Runs {
		if run.Err != "" {
			errs = append(errs, fmt.Errorf("%s run %d (%s): %s", run.Workload, run.Run, run.Kind, firstLine(run.Err)))
		}
	}
	return errors.Join(errs...)
}

// runsOf returns the runs of workload w against kind, in run order.
func (r *report) runsOf(w, kind string) []*runResult {
	var out []*runResult
	for _, run := range r.Runs {
		if run.Workload == w && run.Kind == kind {
			out = append(out, run)
		}
	}
	return out
}

// median is the median of figure id of workload w against kind.
func (r *report) median(w, kind, id string) float64 {
	return r.stats(w, kind, id).Median()
}

func (r *report) stats(w, kind, id string) stats {
	for _, f := range figuresOf(w) {
		if f.ID == id {
			return statsOf(r.Runs, w, kind, f, max(1, r.Options.Runs))
		}
	}
	return stats{Values: []float64{math.NaN()}}
}

// writeReport writes r's markdown to path, or to stdout when path is empty.
func writeReport(path string, r *report, stdout io.Writer) error {
	md := r.Markdown()
	if path == "" {
		_, err := io.WriteString(stdout, md)
		return err
	}
	md += keptSections(path)
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// consoleSection heads the part of docs/benchmarks.md that the console's
// Chromium benchmark (backend/browsertest) writes. swbench rewrites the
// rest of the file and keeps that section as it was.
const consoleSection = "\n## Console in Chromium"

// keptSections returns what other tools wrote into the existing report at
// path: their marked sections (package mdsection; the console's Chromium
// benchmark writes one), or else an unmarked console section from before.
func keptSections(path string) string {
	if others, err := mdsection.Others(path, ""); err == nil && others != "" {
		return "\n" + others
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if i := strings.Index(string(old), consoleSection); i >= 0 {
		return string(old[i:])
	}
	return ""
}

// commandLine renders the invocation the way the README documents it.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./cmd/swbench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// verdict says whether a goal was met.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}

// Markdown renders the report.
func (r *report) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Switchboard benchmarks\n\n")
	w("Written by `swbench` (`make bench`), the load tool in `cmd/swbench`. ")
	w("It runs the server binary as a child process on a loopback port with a fresh data directory for each run, ")
	w("drives it with generated Graph notifications and real websocket feed clients, and reports what it measured, goals met or not. ")
	w("Each workload runs %d times against the server and, alternating with it, %d times against a bare fan-out floor ", r.Options.Runs, r.Options.Runs)
	w("(a minimal relay with no persistence, built into the bench): every figure is given as the median of the runs, their spread ")
	w("(the largest over the smallest) and, where the floor has it, as a ratio to the floor's median.\n\n")
	r.writeRun(w)
	r.writeSummary(w)
	for _, name := range workloads() {
		if r.ran(name) {
			r.writeWorkload(w, name)
		}
	}
	writeMethod(w)
	return b.String()
}

type writef func(format string, args ...any)

func (r *report) writeRun(w writef) {
	m := r.Machine
	w("## Run\n\n")
	w("| | |\n|---|---|\n")
	w("| Date | %s – %s (UTC) |\n", r.Started.Format("2006-01-02 15:04:05"), r.Finished.Format("15:04:05"))
	w("| Command | `%s` |\n", r.Command)
	w("| CPUs | %d (nproc) |\n", m.CPUs)
	w("| CPU model | %s |\n", m.CPUModel)
	w("| Memory | %s |\n", m.Memory)
	w("| OS | %s |\n", m.OS)
	w("| Go | server built with %s; bench %s |\n", m.GoServer, m.GoBench)
	if m.ServerRevision != "" {
		w("| Server commit | %s |\n", m.ServerRevision)
	}
	w("| Server flags | `%s` |\n", strings.Join(append(serverArgs(r.Server, "127.0.0.1:PORT", "TMPDIR"), r.Options.ServerFlags...), " "))
	w("| Floor's environment | `GOMEMLIMIT=%s`, the servers' `--memory-limit` |\n", memoryLimit)
	w("| Load average (1, 5, 15 min) | %s at the start; %s at the end |\n", m.LoadAverage, orUnknown(r.LoadAfter))
	w("| Open files limit | bench %d |\n", r.FileLimit)
	w("\n")
	w("The server, the load generator and every feed client share the machine's %d CPUs: ", m.CPUs)
	w("the clients' own work (reading and checking every message) takes CPU time the server would otherwise have, ")
	w("so the figures are a floor for the server alone; the floor runs under the same conditions.")
	if r.Server.NeedsSignIn {
		w(" The server has sign-in: the bench runs it with the development identity provider and signs in once per run as a demo viewer; ")
		w("all the feed clients of a run share that session, like one supervisor with many tabs.")
	}
	if r.Options.Note != "" {
		w(" %s", r.Options.Note)
	}
	w("\n\n")
}

func orUnknown(s string) string {
	if s == "" {
		return machine.Unknown
	}
	return s
}

// goal is one goal of the issue and whether the medians meet it.
type goal struct {
	Workload, What, Measured string
	Met, Known               bool
}

// goals judges the issues' goals on the medians of the runs.
func (r *report) goals() []goal {
	var out []goal
	sb, fl := kindSwitchboard, kindFloor
	add := func(w, what, measured string, known, met bool) {
		if r.ran(w) {
			out = append(out, goal{Workload: w, What: what, Measured: measured, Known: known, Met: met})
		}
	}
	known := func(v ...float64) bool {
		for _, x := range v {
			if math.IsNaN(x) {
				return false
			}
		}
		return true
	}
	rate := r.median("W1", sb, "rate")
	add("W1", fmt.Sprintf("notifications/s sustained ≥ %.0f/s (issue 2)", w1Goal), format(rate, unitPerSecond), known(rate), rate >= w1Goal)
	faultsW1 := r.stats("W1", sb, "delivery_faults")
	add("W1", "every change reached every client, once, in order, in every run", allZero(faultsW1), faultsW1.N > 0, allZeroOK(faultsW1, r.Options.Runs))

	p99, fp99 := r.median("W2", sb, "p99"), r.median("W2", fl, "p99")
	add("W2", "webhook→client p99 ≤ the floor's", fmt.Sprintf("%s against %s (%s)", format(p99, unitMS), format(fp99, unitMS), times(p99/fp99)),
		known(p99, fp99), p99 <= fp99)
	spread := r.stats("W2", sb, "p99").Spread()
	add("W2", "p99 spread over the runs (max/min) ≤ ×1.5", times(spread), known(spread), spread <= 1.5)
	cpu, fcpu := r.median("W2", sb, "cpu_per_delivery"), r.median("W2", fl, "cpu_per_delivery")
	add("W2", "server CPU per delivery ≤ the floor's", fmt.Sprintf("%s against %s (%s)", format(cpu, unitMicroseconds), format(fcpu, unitMicroseconds), times(cpu/fcpu)),
		known(cpu, fcpu), cpu <= fcpu)
	lost := r.stats("W2", sb, "lost")
	add("W2", "events lost, in every run", allZero(lost), lost.N > 0, allZeroOK(lost, r.Options.Runs))
	add("W2", fmt.Sprintf("webhook→client p99 ≤ %s (issue 2)", ms(w2P99Goal)), format(p99, unitMS), known(p99), p99 <= msOf(w2P99Goal))

	mem, fmem := r.median("W3", sb, "rss_per_client"), r.median("W3", fl, "rss_per_client")
	add("W3", "memory per idle client (RSS) ≤ the floor's", fmt.Sprintf("%s against %s (%s)", format(mem, unitKiB), format(fmem, unitKiB), times(mem/fmem)),
		known(mem, fmem), mem <= fmem)
	g := r.median("W3", sb, "goroutines_per_client")
	add("W3", "one goroutine per idle client", format(g, unitRatio), known(g), g <= 1.05)
	add("W3", fmt.Sprintf("memory per idle client ≤ %s (issue 2)", kib(w3Goal)), format(mem, unitKiB), known(mem), mem <= w3Goal)

	held := r.stats("W4", sb, "live_calls")
	add("W4", fmt.Sprintf("%d live calls held, in every run", r.Options.W4.Calls), format(held.Median(), unitCount), held.N > 0,
		held.N == r.Options.Runs && minOf(held) >= float64(r.Options.W4.Calls))
	snap := r.median("W4", sb, "late_max")
	add("W4", "snapshot to a console ≤ 1 s (the slowest of the consoles connecting under load)", format(snap, unitMS), known(snap), snap <= 1000)
	w4p99 := r.median("W4", sb, "p99")
	add("W4", "webhook→console p99 ≤ 2× W2's", fmt.Sprintf("%s against 2 × %s (%s)", format(w4p99, unitMS), format(p99, unitMS), times(w4p99/p99)),
		known(w4p99, p99), w4p99 <= 2*p99)
	rss := r.median("W4", sb, "rss")
	add("W4", "server RSS ≤ 1 GiB", format(rss, unitMiB), known(rss), rss <= 1<<30)
	w4lost := r.stats("W4", sb, "lost")
	add("W4", "events lost, in every run", allZero(w4lost), w4lost.N > 0, allZeroOK(w4lost, r.Options.Runs))

	ready := r.median("W5", sb, "ready_after_nats")
	add("W5", fmt.Sprintf("ready ≤ 10 s after NATS answers, with %d live calls", r.Options.W5.Calls), format(ready, unitSeconds), known(ready), ready <= 10)
	ready6 := r.median("W6", sb, "ready_after_nats")
	add("W6", fmt.Sprintf("ready ≤ 10 s after NATS answers, with %d live calls (the cluster)", r.Options.W6.Calls), format(ready6, unitSeconds), known(ready6), ready6 <= 10)
	return out
}

func allZero(s stats) string {
	var parts []string
	for _, v := range s.Values {
		parts = append(parts, format(v, unitCount))
	}
	return strings.Join(parts, " / ")
}

func allZeroOK(s stats, runs int) bool {
	if s.N != runs {
		return false
	}
	for _, v := range s.Values {
		if v != 0 {
			return false
		}
	}
	return true
}

func minOf(s stats) float64 {
	m := math.Inf(1)
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			m = min(m, v)
		}
	}
	return m
}

func (r *report) writeSummary(w writef) {
	w("## Goals\n\n")
	w("Judged on the medians of the runs. Issue 12's goals are ratios to the floor measured in the same run; issue 2's absolute goals are kept beside them.\n\n")
	w("| Workload | Goal | Measured | Result |\n|---|---|---|---|\n")
	for _, g := range r.goals() {
		res := verdict(g.Met)
		if !g.Known {
			res = "**not measured**"
		}
		w("| %s | %s | %s | %s |\n", g.Workload, g.What, cell(g.Measured), res)
	}
	for _, name := range workloads() {
		if !r.ran(name) {
			w("| %s | not run (--only) | — | — |\n", name)
		}
	}
	for _, run := range r.Runs {
		if run.Err != "" {
			w("| %s | run %d against the %s did not finish: %s | — | **failed** |\n", run.Workload, run.Run, run.Kind, cell(firstLine(run.Err)))
		}
	}
	w("\nThe console's own goals (frame→DOM p99 ≤ 100 ms and no long task over 50 ms with W4's 50,000-call view) are measured in Chromium: see the console's section below.\n\n")
}

// ran reports whether the workload was chosen to run.
func (r *report) ran(name string) bool {
	return slices.Contains(r.Options.Only, name)
}

// writeWorkload writes a workload's section: what it does, the table of
// its figures (every run, the median and spread, the floor's, the ratio),
// then each run's notes.
func (r *report) writeWorkload(w writef, name string) {
	w("## %s — %s\n\n", name, r.title(name))
	w("%s\n\n", r.describe(name))
	floor := hasFloor(name) && !r.Options.NoFloor
	w("| Figure |")
	for i := 1; i <= r.Options.Runs; i++ {
		w(" run %d |", i)
	}
	w(" median | spread |")
	if floor {
		w(" floor, by run | floor median | floor spread | ratio to the floor |")
	}
	w("\n|---|")
	for i := 0; i < r.Options.Runs+2; i++ {
		w("---|")
	}
	if floor {
		w("---|---|---|---|")
	}
	w("\n")
	for _, f := range figuresOf(name) {
		s := statsOf(r.Runs, name, kindSwitchboard, f, r.Options.Runs)
		w("| %s |", f.Label)
		for _, v := range s.Values {
			w(" %s |", format(v, f.Unit))
		}
		w(" **%s** | %s |", format(s.Median(), f.Unit), times(s.Spread()))
		if floor {
			fs := statsOf(r.Runs, name, kindFloor, f, r.Options.Runs)
			var by []string
			for _, v := range fs.Values {
				by = append(by, format(v, f.Unit))
			}
			w(" %s | %s | %s | %s |", strings.Join(by, " / "), format(fs.Median(), f.Unit), times(fs.Spread()), times(s.Median()/fs.Median()))
		}
		w("\n")
	}
	w("\n")
	for _, run := range r.Runs {
		if run.Workload == name {
			w("- %s\n", r.runNote(run))
		}
	}
	w("\n")
}

func (r *report) title(name string) string {
	o := r.Options
	switch name {
	case "W1":
		return fmt.Sprintf("webhook throughput with %d feed clients", o.W1.Clients)
	case "W2":
		return fmt.Sprintf("%d feed clients at %.0f notifications/s", o.W2.Clients, o.W2.Rate)
	case "W3":
		return fmt.Sprintf("memory per idle feed client, %d clients", o.W3.Clients)
	case "W4":
		return fmt.Sprintf("%d live calls, %.0f notifications/s, %d consoles", o.W4.Calls, o.W4.Rate, o.W4.Consoles)
	case "W5":
		return fmt.Sprintf("a replica restarting under W4's load (%d live calls, embedded NATS)", o.W5.Calls)
	case "W6":
		return fmt.Sprintf("a replica restarting on a 3-node cluster with two replicas (%d live calls)", o.W6.Calls)
	}
	return name
}

func (r *report) describe(name string) string {
	o := r.Options
	switch name {
	case "W1":
		return fmt.Sprintf("%d feed clients connect and read the feed. %d posters, each on its own keep-alive connection and interleaving %d calls, "+
			"POST one notification per request as fast as the server answers, for %s; a refused notification is sent again up to 3 times. "+
			"Then the clients are given up to %s to receive everything the webhook accepted.", o.W1.Clients, o.W1.Posters, o.W1.Lanes, o.W1.Duration, o.Drain)
	case "W2":
		return fmt.Sprintf("%d feed clients connect; then a paced sender (%d posters sharing the pace, each owning its calls) sends %.0f notifications a second for %s. "+
			"Each notification carries its send time in the call's subject; every client measures send → receive for every notification it gets. "+
			"CPU per delivery is the server's CPU time over the phase divided by the notifications delivered (accepted × clients).",
			o.W2.Clients, o.W2.Posters, o.W2.Rate, o.W2.Duration)
	case "W3":
		return fmt.Sprintf("The idle server's memory is sampled %d times a second apart (after 2 s), %d clients connect (%d at a time) and wait idle; "+
			"once the server's `%s` reads %d and %s have passed, memory is sampled again. Each figure is the minimum of its samples.",
			o.W3.Samples, o.W3.Clients, o.DialParallel, metricFeedClients, o.W3.Clients, o.W3.Settle)
	case "W4":
		return fmt.Sprintf("%d calls are created and answered (two notifications each, %d per POST, %d POSTs at once), and stay live. "+
			"Then %d consoles connect, %d at a time, and take the snapshot (timed from dialling to holding it whole). "+
			"Then %.0f notifications a second (one per POST, %d posters, each owning its calls) put the calls on hold and take them back for %s, "+
			"while every %s one more console connects, times its snapshot and leaves; the server's memory is sampled every second. "+
			"Every console checks that it receives every change after its snapshot, once, in order.",
			o.W4.Calls, o.W4.SeedBatch, o.W4.SeedPosters, o.W4.Consoles, o.W4.Wave, o.W4.Rate, o.W4.Posters, o.W4.Duration, o.W4.LateEvery)
	case "W5":
		return fmt.Sprintf("W4's load on one replica with embedded NATS: %d live calls, %d consoles, %.0f notifications a second for %s; "+
			"%s into the load the replica is killed (SIGKILL, as a crash) and started again at once on the same data. "+
			"Notifications refused meanwhile are sent again until accepted (as Graph redelivers); the consoles reconnect with `since`, as the console does. "+
			"Times run from the new process's start; when NATS answered, the replica was assembled and its view loaded come from the replica's log, "+
			"ready from polling `/readyz` every 50 ms.", o.W5.Calls, o.W5.Consoles, o.W5.Rate, o.W5.Duration, o.W5.KillAfter)
	case "W6":
		return fmt.Sprintf("The same on a local 3-node NATS cluster (nats-server processes, streams and buckets replicated three times) with two replicas: "+
			"%d live calls, %.0f notifications a second for %s, posted to both replicas (each poster failing over to the other), %d consoles on the first; "+
			"%s into the load the first replica is killed and started again. NATS never goes away here, so its time is 0.",
			o.W6.Calls, o.W6.Rate, o.W6.Duration, o.W6.Consoles, o.W6.KillAfter)
	}
	return ""
}

// runNote says in one line how a run went.
func (r *report) runNote(run *runResult) string {
	head := fmt.Sprintf("Run %d, %s (load average %s at its start, %s)", run.Run, run.Kind, run.LoadBefore, run.Elapsed.Round(time.Second))
	if run.Err != "" {
		return head + ": **did not finish**: " + cell(firstLine(run.Err))
	}
	switch {
	case run.W1 != nil:
		return fmt.Sprintf("%s: %d accepted, %d refused attempts; CPU %s; delivery: %s", head, run.W1.Accepted, run.W1.Refusals, run.W1.CPU, deliverySummary(run.W1.Delivery))
	case run.W2 != nil:
		return fmt.Sprintf("%s: %d of %d accepted, sender at worst %s behind its pace, %.0f clients cut off as too slow; CPU %s; delivery: %s", head,
			run.W2.Accepted, run.W2.Planned, ms(run.W2.SenderLag), run.W2.SlowDrops, run.W2.CPU, deliverySummary(run.W2.Delivery))
	case run.W3 != nil:
		x := run.W3
		return fmt.Sprintf("%s: %d clients; RSS %s → %s, heap %s → %s, goroutines %.0f → %.0f; server open files limit %s", head, x.Connected,
			mib(x.Before.RSS), mib(x.With.RSS), mib(x.Before.HeapInuse), mib(x.With.HeapInuse), x.Before.Goroutines, x.With.Goroutines, orUnknown(x.ServerFileLimit))
	case run.W4 != nil:
		x := run.W4
		return fmt.Sprintf("%s: seeded %d calls in %s; %d of %d accepted (%d refused attempts), sender at worst %s behind; %d late consoles; %.0f clients cut off; events stored %s; CPU %s; delivery: %s",
			head, x.Seed.Calls, x.Seed.Took.Round(time.Millisecond), x.Accepted, x.Planned, x.Refusals, ms(x.SenderLag), x.Late.N, x.SlowDrops, kinds(x.Events), x.CPU, deliverySummary(x.Delivery))
	case run.W5 != nil:
		x := run.W5
		return fmt.Sprintf("%s: the view loaded %d calls at checkpoint %d with the log at %d; consoles back: %d resumed, %d took a snapshot, %d not back; "+
			"%d accepted, %d never, %d refused attempts; at the end %d of %d consoles at the server's sequence %d, %d gaps, %d out of order",
			head, x.LoadedCalls, x.Checkpoint, x.LogSeq, x.Resumed, x.Snapshots, x.NotBack, x.Accepted, x.Failed, x.Refusals, x.AtHead, x.Config.Consoles, x.Head, x.Gaps, x.OutOf)
	}
	return head
}

// kinds writes counts by kind in a stable order: call 5, enriched 2.
func kinds(m map[string]float64) string {
	if len(m) == 0 {
		return "(not exported)"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// deliverySummary says in one cell what the clients received.
func deliverySummary(d deliveryCheck) string {
	if d.Clients == 0 {
		return "not checked"
	}
	head := fmt.Sprintf("%d clients × %d accepted notifications; server sequence %d", d.Clients, d.Expected, d.Head)
	if d.Others > 0 {
		head += fmt.Sprintf("; besides, %d changes no notification made (keepAlive with Graph, recorded)", d.Others)
	}
	if d.OK() {
		return "every client received every accepted notification exactly once, in order, none skipped, and ended at the server's sequence (" + head + ")"
	}
	var bad []string
	add := func(n int, what string) {
		if n > 0 {
			bad = append(bad, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(d.Lost, "lost")
	add(d.Extra, "received though never accepted")
	add(d.Repeats, "repeated")
	add(d.Gaps, "gaps in a call's steps")
	add(d.OutOfOrder, "out of sequence order")
	add(d.Foreign, "unexplained call messages")
	add(d.IncompleteCalls, "(client, call) pairs incomplete")
	add(d.SeqBehind, "clients not at the server's sequence")
	if d.Dropped > 0 {
		bad = append(bad, fmt.Sprintf("%d clients disconnected (%s)", d.Dropped, d.DropReason))
	}
	if d.TimedOut {
		bad = append(bad, "clients still behind when the wait ended")
	}
	return cell("**failed**: " + strings.Join(bad, "; ") + " (" + head + ")")
}

func writeMethod(w writef) {
	w("## How the figures are taken\n\n")
	w("- **The floor** is a relay with no persistence, run by the bench as a process of its own (`swbench floor`): it decodes each notification just enough ")
	w("to name the call, gives it the next sequence number, keeps the call's last notification in memory for snapshots, and queues the encoded message ")
	w("for every console; a writer goroutine per console sends what is queued as one frame with a write timeout, and a second goroutine reads control frames. ")
	w("It uses the same websocket library and speaks the same wire format; it has no event log, no reducer, no saved state, no sign-in and no resume. ")
	w("It is what the machine allows a relay of the same notifications to the same clients.\n")
	w("- **Runs** alternate: the server's run 1, the floor's run 1, the server's run 2… so that a busier moment of the machine hits both. ")
	w("The median is the middle run; the spread is the largest run over the smallest; the ratio is the server's median over the floor's.\n")
	w("- **Notifications** are generated by the bench in the shape Graph (and `backend/graphsim`) posts: a `commsNotifications` envelope, ")
	w("`resourceUrl` and the legacy `resource`, the full call resource on `created` and short state updates after it, `resultInfo` codes as numbers or strings. ")
	w("W1 and W2's calls follow a mix of scripts (answered and hung up, put on hold, transferred, rejected, never answered); W4–W6's calls stay live, going on hold and back. ")
	w("Every notification sets the call's `subject` to a marker (call, step, send time), which the server copies into the call, ")
	w("so each feed message tells which notification produced it.\n")
	w("- **Webhook latency** is the round trip of each POST measured by the sender, retries counted as separate requests.\n")
	w("- **Webhook → client latency** runs from just before the POST to the moment the client has read the websocket frame holding the change; ")
	w("sender and clients are one process and use its monotonic clock.\n")
	w("- **CPU** is the target's `%s`, the bench's own getrusage and the machine's busy time from `/proc/stat` over the phase, as average busy cores.\n", metricCPU)
	w("- **Percentiles** are nearest-rank over every sample, sorted; no histograms.\n")
	w("- **Delivery check**: each client checks that sequences only increase and that each call's steps arrive one after the other, none skipped or repeated; ")
	w("at the end every client must hold, for every call, the last step the webhook accepted, and the sequence a new client's snapshot starts at. ")
	w("Lost = accepted × clients − first receptions.\n")
	w("- **Memory** comes from the target's own `/metrics`: `%s` and `%s`; W3 keeps the minimum of several samples, W4 the highest of one a second.\n", metricRSS, metricHeapInuse)
	w("- **Profiles**: `--profile DIR` starts the server with `--pprof-addr` on a loopback port and saves a CPU profile of each W1, W2 and W4 run's measured phase.\n")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func kib(bytes float64) string { return fmt.Sprintf("%.1f KiB", bytes/1024) }

func mib(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
