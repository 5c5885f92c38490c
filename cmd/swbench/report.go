package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"switchboard/cmd/internal/machine"
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

	W1 *w1Result
	W2 *w2Result
	W3 *w3Result
	// Failures holds, by workload, why it did not run to the end.
	Failures map[string]string
}

func (r *report) fail(workload string, err error) {
	if r.Failures == nil {
		r.Failures = make(map[string]string)
	}
	r.Failures[workload] = err.Error()
}

// Err is non-nil when a workload did not run to the end.
func (r *report) Err() error {
	var errs []error
	for _, w := range workloads() {
		if msg, ok := r.Failures[w]; ok {
			errs = append(errs, fmt.Errorf("%s: %s", w, firstLine(msg)))
		}
	}
	return errors.Join(errs...)
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

// keptSections returns the console's section of the existing report at
// path, or "" when there is none.
func keptSections(path string) string {
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
	w("Written by `swbench` (`make bench`), the load tool in `cmd/swbench`, which answers issue 2. ")
	w("It runs the server binary as a child process on a loopback port with a fresh data directory for each workload, ")
	w("drives it with generated Graph notifications and real websocket feed clients, and reports what it measured, goals met or not.\n\n")
	r.writeRun(w)
	r.writeSummary(w)
	r.writeW1(w)
	r.writeW2(w)
	r.writeW3(w)
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
	w("| Server flags | `%s` |\n", strings.Join(serverArgs(r.Server, "127.0.0.1:PORT", "TMPDIR"), " "))
	w("| Load average (1, 5, 15 min) | %s at the start; %s at the end |\n", m.LoadAverage, orUnknown(r.LoadAfter))
	w("| Open files limit | bench %d |\n", r.FileLimit)
	w("\n")
	w("The server, the load generator and every feed client share the machine's %d CPUs: ", m.CPUs)
	w("the clients' own work (reading and checking every message) takes CPU time the server would otherwise have, ")
	w("so the figures are a floor for the server alone.")
	if r.Server.NeedsSignIn {
		w(" The server has sign-in: the bench runs it with the development identity provider and signs in once per workload as a demo viewer; ")
		w("all the feed clients of a workload share that session, like one supervisor with many tabs.")
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

func (r *report) writeSummary(w writef) {
	w("## Summary\n\n")
	w("| Workload | Figure | Measured | Goal (2 cores) | Result |\n|---|---|---|---|---|\n")
	for _, name := range workloads() {
		if msg, ok := r.Failures[name]; ok {
			w("| %s | — | did not finish: %s | — | **not met** |\n", name, cell(firstLine(msg)))
		}
	}
	if x := r.W1; x != nil && r.Failures["W1"] == "" {
		w("| W1 | notifications/s sustained, %d feed clients | %.0f/s | ≥ %.0f/s | %s |\n", x.Config.Clients, x.Rate, w1Goal, verdict(x.Rate >= w1Goal))
		w("| W1 | webhook p50 / p99 | %s / %s | — | — |\n", ms(x.Webhook.P50), ms(x.Webhook.P99))
		w("| W1 | every change reached every client, once, in order | %s | yes | %s |\n", yesNo(x.Delivery.OK()), verdict(x.Delivery.OK()))
	}
	if x := r.W2; x != nil && r.Failures["W2"] == "" {
		w("| W2 | webhook→client p50 / p99, %d clients at %.0f/s | %s / %s | p99 ≤ %s | %s |\n", x.Config.Clients, x.Config.Rate,
			ms(x.Latency.P50), ms(x.Latency.P99), ms(w2P99Goal), verdict(x.Latency.N > 0 && x.Latency.P99 <= w2P99Goal))
		w("| W2 | events lost | %d | %d | %s |\n", x.Delivery.Lost, w2LostGoal, verdict(x.Delivery.Lost == w2LostGoal && x.Delivery.OK()))
	}
	if x := r.W3; x != nil && r.Failures["W3"] == "" {
		w("| W3 | memory per idle feed client (RSS), %d clients | %s | ≤ %s | %s |\n", x.Connected, kib(x.RSSPerClient), kib(w3Goal), verdict(x.RSSPerClient <= w3Goal))
	}
	for _, name := range workloads() {
		if !r.ran(name) {
			w("| %s | not run (--only) | — | — | — |\n", name)
		}
	}
	w("\n")
}

// ran reports whether the workload was chosen to run.
func (r *report) ran(name string) bool {
	for _, w := range r.Options.Only {
		if w == name {
			return true
		}
	}
	return false
}

func (r *report) failure(w writef, name string) bool {
	msg, ok := r.Failures[name]
	if ok {
		w("**This workload did not run to the end:**\n\n```\n%s\n```\n\nFigures below are what was measured before it stopped.\n\n", strings.TrimSpace(msg))
	}
	return ok
}

func (r *report) writeW1(w writef) {
	x := r.W1
	if x == nil {
		return
	}
	c := x.Config
	w("## W1 — webhook throughput with %d feed clients\n\n", c.Clients)
	w("%d feed clients connect and read the feed. %d posters, each on its own keep-alive connection and interleaving %d calls, ", c.Clients, c.Posters, c.Lanes)
	w("POST one notification per request as fast as the server answers, for %s; a refused notification is sent again up to 3 times. ", c.Duration)
	w("Then the clients are given up to %s to receive everything the webhook accepted.\n\n", r.Options.Drain)
	r.failure(w, "W1")
	w("| Figure | Measured |\n|---|---|\n")
	w("| Notifications accepted (202) | %d in %s |\n", x.Accepted, x.Elapsed.Round(time.Millisecond))
	w("| Sustained rate | **%.0f notifications/s** (goal ≥ %.0f/s: %s) |\n", x.Rate, w1Goal, verdict(x.Rate >= w1Goal))
	w("| Calls | %d |\n", x.Calls)
	w("| Webhook latency (client-measured, %d requests) | p50 %s, p99 %s, max %s |\n", x.Webhook.N, ms(x.Webhook.P50), ms(x.Webhook.P99), ms(x.Webhook.Max))
	w("| Refused attempts / notifications never accepted | %d / %d%s |\n", x.Refusals, x.Failed, lastRefusal(x.LastRefusal))
	w("| CPU while posting | %s |\n", x.CPU)
	writeDelivery(w, x.Delivery)
	w("\n")
}

func (r *report) writeW2(w writef) {
	x := r.W2
	if x == nil {
		return
	}
	c := x.Config
	w("## W2 — %d feed clients at %.0f notifications/s\n\n", c.Clients, c.Rate)
	w("%d feed clients connect; then a paced sender (%d posters sharing the pace, each owning its calls) sends %d notifications at %.0f/s (%s). ",
		c.Clients, c.Posters, x.Planned, c.Rate, c.Duration)
	w("Each notification carries its send time in the call's subject; every client measures send → receive for every notification it gets.\n\n")
	r.failure(w, "W2")
	w("| Figure | Measured |\n|---|---|\n")
	w("| Notifications accepted | %d of %d in %s (%.1f/s); sender at worst %s behind its pace |\n", x.Accepted, x.Planned, x.Elapsed.Round(time.Millisecond), x.Rate, ms(x.SenderLag))
	w("| Webhook latency (%d requests) | p50 %s, p99 %s, max %s |\n", x.Webhook.N, ms(x.Webhook.P50), ms(x.Webhook.P99), ms(x.Webhook.Max))
	w("| Webhook → client latency (%d deliveries) | p50 %s, **p99 %s** (goal ≤ %s: %s), max %s |\n", x.Latency.N, ms(x.Latency.P50), ms(x.Latency.P99),
		ms(w2P99Goal), verdict(x.Latency.N > 0 && x.Latency.P99 <= w2P99Goal), ms(x.Latency.Max))
	w("| Deliveries expected (accepted × clients) / received | %d / %d |\n", x.Delivery.Expected*x.Delivery.Clients, x.Delivery.Received)
	w("| Events lost | **%d** (goal %d: %s) |\n", x.Delivery.Lost, w2LostGoal, verdict(x.Delivery.Lost == w2LostGoal && x.Delivery.OK()))
	w("| Clients cut off as too slow (server metric) | %.0f |\n", x.SlowDrops)
	w("| CPU while sending and delivering | %s |\n", x.CPU)
	w("| Refused attempts / notifications never accepted | %d / %d%s |\n", x.Refusals, x.Failed, lastRefusal(x.LastRefusal))
	writeDelivery(w, x.Delivery)
	w("\n")
}

func (r *report) writeW3(w writef) {
	x := r.W3
	if x == nil {
		return
	}
	c := x.Config
	w("## W3 — memory per idle feed client, %d clients\n\n", c.Clients)
	w("The idle server's memory is sampled %d times a second apart (after 2 s), %d clients connect (%d at a time) and wait idle; ", c.Samples, c.Clients, r.Options.DialParallel)
	w("once the server's `%s` reads %d and %s have passed, memory is sampled again. Each figure is the minimum of its samples.\n\n", metricFeedClients, c.Clients, c.Settle)
	r.failure(w, "W3")
	w("| Figure | Idle server | With clients | Per client |\n|---|---|---|---|\n")
	w("| RSS (`%s`) | %s | %s | **%s** (goal ≤ %s: %s) |\n", metricRSS, mib(x.Before.RSS), mib(x.With.RSS), kib(x.RSSPerClient), kib(w3Goal), verdict(x.Connected > 0 && x.RSSPerClient <= w3Goal))
	w("| Go heap in use (`%s`) | %s | %s | %s |\n", metricHeapInuse, mib(x.Before.HeapInuse), mib(x.With.HeapInuse), kib(x.HeapPerClient))
	w("| Goroutines (`%s`) | %.0f | %.0f | %.2f |\n", metricGoroutines, x.Before.Goroutines, x.With.Goroutines, x.GoroutinesPerClient)
	w("\nClients connected: %d. Server open files limit: %s.\n\n", x.Connected, orUnknown(x.ServerFileLimit))
}

func writeDelivery(w writef, d deliveryCheck) {
	w("| Delivery check | %s |\n", deliverySummary(d))
}

// deliverySummary says in one cell what the clients received.
func deliverySummary(d deliveryCheck) string {
	if d.Clients == 0 {
		return "not checked"
	}
	head := fmt.Sprintf("%d clients × %d accepted notifications; server sequence %d", d.Clients, d.Expected, d.Head)
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

func lastRefusal(s string) string {
	if s == "" {
		return ""
	}
	return " (last: " + cell(firstLine(s)) + ")"
}

func writeMethod(w writef) {
	w("## How the figures are taken\n\n")
	w("- **Notifications** are generated by the bench in the shape Graph (and `backend/graphsim`) posts: a `commsNotifications` envelope with one notification, ")
	w("`resourceUrl` and the legacy `resource`, the full call resource on `created` and short state updates after it, `resultInfo` codes as numbers or strings. ")
	w("Calls follow a mix of scripts: answered and hung up, put on hold, transferred, rejected (a bare `deleted`), never answered (408/1106). ")
	w("Each call's notifications are sent in order by one poster; posters interleave several calls. ")
	w("Every notification sets the call's `subject` to a marker (call, step, send time), which the server copies into the call, ")
	w("so each feed message tells which notification produced it. Participants notifications are not generated (a roster carries no subject).\n")
	w("- **Webhook latency** is the round trip of each POST measured by the sender, retries counted as separate requests.\n")
	w("- **Webhook → client latency** (W2) runs from just before the POST to the moment the client has read the websocket frame holding the change; ")
	w("sender and clients are one process and use its monotonic clock.\n")
	w("- **CPU** is the server's `%s`, the bench's own getrusage and the machine's busy time from `/proc/stat` over the phase, as average busy cores: ", metricCPU)
	w("they show how the machine's cores were split between the server, the load it was under and whatever else ran on the machine.\n")
	w("- **Percentiles** are nearest-rank over every sample, sorted; no histograms.\n")
	w("- **Delivery check**: each client checks that sequences only increase and that each call's steps arrive one after the other, none skipped or repeated; ")
	w("at the end every client must hold, for every call, the last step the webhook accepted, and the sequence a new client's snapshot starts at. ")
	w("Lost = accepted × clients − first receptions. Clients never reconnect during a workload, so a client cut off shows as losses.\n")
	w("- **Memory** (W3) comes from the server's own `/metrics`: `%s` (what the kernel charges the process) and `%s`; ", metricRSS, metricHeapInuse)
	w("the server's garbage collector cannot be forced from outside, so each figure is the minimum of several samples.\n")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func kib(bytes float64) string { return fmt.Sprintf("%.1f KiB", bytes/1024) }

func mib(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
