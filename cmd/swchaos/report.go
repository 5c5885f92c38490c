package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"switchboard/cmd/internal/mdsection"
	"time"

	"switchboard/cmd/internal/machine"
	"switchboard/cmd/internal/readiness"
	"switchboard/cmd/internal/traffic"
)

// report is everything one run measured.
type report struct {
	Started, Finished time.Time
	Command           string
	Options           options
	Machine           machine.Machine
	NATSVersion       string
	Consoles          int
	Phases            []*phase
	// Totals accounts for the whole run.
	Totals *result
	// Failure says why the run stopped early; StopProblems what went
	// wrong stopping the cluster.
	Failure, StopProblems string
	// Dir is the cluster's directory, when kept.
	Dir string
}

// replicaNames are the replicas' names in the report.
var replicaNames = []string{"replica-a", "replica-b"}

func replicaName(i int) string {
	if i < len(replicaNames) {
		return replicaNames[i]
	}
	return fmt.Sprintf("replica %d", i+1)
}

// writeReport writes r's markdown to path, or to stdout when path is empty.
func writeReport(path string, r *report, stdout io.Writer) error {
	md := r.Markdown()
	if path == "" {
		_, err := io.WriteString(stdout, md)
		return err
	}
	// The soak's section (make soak) shares the file: keep it.
	others, err := mdsection.Others(path, "chaos")
	if err != nil {
		return err
	}
	md = mdsection.Wrap("chaos", md)
	if others != "" {
		md += "\n" + others
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// checks are a phase's goals, each met or not.
type check struct {
	Name string
	Met  bool
}

// checks evaluates the goals of issue 8 on a phase.
func (p *phase) checks() []check {
	r := p.Result
	var lost, doubled, reordered, unknown, stale int
	for _, c := range r.Consoles {
		stale += c.Stale
		if c.Lost < 0 {
			unknown++
			continue
		}
		lost += c.Lost
		doubled += c.Doubled
		reordered += c.OutOfOrder
	}
	ready := 0
	for _, n := range r.RefusedWhileReady {
		ready += n
	}
	out := []check{
		{"0 replica exits", len(r.Exits) == 0},
		{"history reads answer the call's whole history", r.HistoryWrong == 0},
		{"every accepted notification stored exactly once", r.AcceptedLost == 0 && r.StoredTwice == 0},
		{"0 lost, 0 doubled, 0 reordered on consoles", unknown == 0 && lost == 0 && doubled == 0 && reordered == 0},
		{"no console served a snapshot older than its view", stale == 0},
		{"/readyz not 200 whenever a notification is refused", ready == 0},
	}
	if p.Fault.HasGoal {
		goal := p.Fault.Goal(p)
		out = append(out, check{"webhook unavailability " + p.Fault.GoalText, r.Overall.Duration() <= goal})
	}
	return out
}

// met reports whether every check holds.
func met(cs []check) bool {
	return !slices.ContainsFunc(cs, func(c check) bool { return !c.Met })
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// secs writes a duration in seconds with one decimal, or in milliseconds
// below a tenth of a second.
func secs(d time.Duration) string {
	if d > 0 && d < 100*time.Millisecond {
		return fmt.Sprintf("%d ms", max(d.Milliseconds(), 1))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// Markdown renders the report.
func (r *report) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	r.writeIntro(w)
	r.writeSummary(w)
	for i, p := range r.Phases {
		r.writePhase(w, i+1, p)
	}
	r.writeTotals(w)
	r.writeMethod(w)
	return b.String()
}

type writef func(format string, args ...any)

func (r *report) writeIntro(w writef) {
	w("# Switchboard under faults\n\n")
	w("Written by `swchaos` (`make chaos`), the fault-injection tool in `cmd/swchaos`, which answers issue 8: ")
	w("it drives a local 3-node NATS JetStream cluster with two Switchboard replicas through one fault at a time ")
	w("while notifications flow and consoles watch, and compares what was sent, accepted, stored and shown.\n\n")
	m := r.Machine
	w("- **Run**: %s, %s (%s)\n", r.Started.Format("2006-01-02 15:04 MST"), r.Finished.Sub(r.Started).Round(time.Second), "`"+r.Command+"`")
	w("- **Machine**: %s, %d CPUs, %s memory; %s; load average %s at the start\n", m.CPUModel, m.CPUs, m.Memory, m.OS, m.LoadAverage)
	rev := ""
	if m.ServerRevision != "" {
		rev = ", built from " + m.ServerRevision
	}
	w("- **Software**: switchboard %s%s; nats-server %s; swchaos %s\n", m.GoServer, rev, r.NATSVersion, m.GoBench)
	w("- **Cluster**: 3 nats-server nodes (JetStream; Switchboard's stream and buckets with 3 replicas), ")
	w("2 Switchboard replicas (`--nats-url` with the three nodes, `--replicas 3`, sign-in at the development identity provider), ")
	w("the Graph simulator (`graphsim`) serving their Graph API and notification keys; all on loopback, every part a process of its own\n")
	w("- **Traffic**: %g notifications a second posted to both replicas in turn, like Graph behind a load balancer: ", r.Options.Rate)
	w("a refused or unanswered notification goes at once to the other replica, and when both refused it is tried again every 200 ms, for up to 60 s. ")
	w("Each is signed with the simulator's notification token, so the replicas verify it as Graph's, and carries its number in the call's subject, so it can be found in the event log. ")
	w("The calls are the bot's outgoing calls (4 to 6 notifications each), 8 played at once\n")
	w("- **Consoles**: %d (%d per replica), websocket clients that sign in at the development identity provider and follow the console's rules: ", r.Consoles, r.Options.Consoles)
	w("they resume with `since` after every disconnect (backoff 0.5 s to 15 s), keep their rows when a snapshot is older than what they hold, and reconnect to their own replica (sticky), ")
	w("to the other one when an attempt fails (failover), or to either at random\n")
	w("- **Readiness**: every replica's `/readyz` polled every 200 ms\n")
	if r.Options.Note != "" {
		w("- **Note**: %s\n", r.Options.Note)
	}
	if r.Failure != "" {
		w("\n**The run stopped early**: %s\n", r.Failure)
	}
	if r.StopProblems != "" {
		w("\n**Stopping the cluster**: %s\n", r.StopProblems)
	}
	w("\n")
}

func (r *report) writeSummary(w writef) {
	w("## Summary\n\n")
	w("Goals of issue 8: 0 replica exits; every accepted notification stored exactly once; 0 lost, 0 doubled, 0 reordered on consoles; ")
	w("webhook unavailability ≤ 10 s when a node or the leader is killed, ≤ 20 s for a 20 s freeze, ≤ outage + 15 s for a whole-cluster restart; ")
	w("`/readyz` not 200 whenever a notification would be refused; no snapshot served before the replica's view is loaded; history reads always right.\n\n")
	w("| Fault | Replica exits | Accepted, not stored / stored twice | Consoles: lost / doubled / out of order | Webhook unavailable (longest, no replica accepting) | Goal | Refusals while `/readyz` said ready | Result |\n")
	w("|---|---|---|---|---|---|---|---|\n")
	for i, p := range r.Phases {
		res := p.Result
		lost, doubled, reordered := consoleTotals(res)
		goal := p.Fault.GoalText
		if p.Fault.HasGoal && p.Fault.Name == "cluster-restart" {
			goal = fmt.Sprintf("≤ %s (outage %s + 15 s)", secs(p.Fault.Goal(p)), secs(p.Outage))
		}
		w("| %d. %s | %d | %d / %d | %s / %d / %d%s | %s | %s | %s | %s |\n", i+1, p.Fault.Title, len(res.Exits),
			res.AcceptedLost, res.StoredTwice, lost, doubled, reordered, staleText(res), stretch(res.Overall), goal, readyRefusals(res), verdict(met(p.checks())))
	}
	w("\n")
}

// consoleTotals sums the consoles' lost, doubled and out-of-order changes;
// lost is "unknown" when no replica's view could be compared.
func consoleTotals(r *result) (lost string, doubled, reordered int) {
	n := 0
	for _, c := range r.Consoles {
		if c.Lost < 0 {
			return "unknown", doubled, reordered
		}
		n += c.Lost
		doubled += c.Doubled
		reordered += c.OutOfOrder
	}
	return fmt.Sprint(n), doubled, reordered
}

// staleText mentions the stale snapshots consoles were served, if any.
func staleText(r *result) string {
	n := 0
	for _, c := range r.Consoles {
		n += c.Stale
	}
	switch n {
	case 0:
		return ""
	case 1:
		return " (1 stale snapshot refused)"
	default:
		return fmt.Sprintf(" (%d stale snapshots refused)", n)
	}
}

// readyRefusals sums the refusals while /readyz said ready, with the
// longest span they covered on one replica.
func readyRefusals(r *result) string {
	n := 0
	var longest time.Duration
	for i, k := range r.RefusedWhileReady {
		n += k
		longest = max(longest, r.ReadyRefusing[i])
	}
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d over %s", n, secs(longest))
}

func stretch(s traffic.Stretch) string {
	if s.Duration() == 0 {
		return "0 s"
	}
	out := secs(s.Duration())
	if s.Open {
		out += " (still refusing at the check)"
	}
	return out
}

func (r *report) writePhase(w writef, n int, p *phase) {
	res := p.Result
	w("## %d. %s\n\n", n, p.Fault.Title)
	w("%s. Times are from the start of the phase.\n\n", upperFirst(p.Fault.What))
	for _, m := range p.Timeline {
		w("- %s %s\n", at(p, m.At), m.What)
	}
	if p.RecoveredAt.IsZero() && !p.FaultAt.IsZero() {
		w("- every part was not ready again within 90 s\n")
	}
	w("\n")
	for _, c := range p.checks() {
		w("- %s: %s\n", c.Name, verdict(c.Met))
	}
	w("\n**Notifications** (first sent in this phase)\n\n")
	w("| Sent | Accepted (202) | Stored | Accepted, not stored | Stored twice | Refused, yet stored | Never accepted (60 s) | Refused for good (4xx) |\n|---|---|---|---|---|---|---|---|\n")
	w("| %d | %d | %d | %d | %d | %d | %d | %d |\n\n", res.Sent, res.Accepted, res.Stored, res.AcceptedLost, res.StoredTwice, res.RefusedStored, res.NeverAccepted, res.RefusedForGood)
	w("**Webhook**: %d attempts, %d refused", res.Attempts, res.Refusals)
	if len(res.RefusedBy) > 0 {
		w(" (%s)", countsText(res.RefusedBy))
	}
	w(". Longest stretch with no replica accepting: %s", stretchAt(p, res.Overall))
	for i, s := range res.PerReplica {
		w("; %s alone: %s", replicaName(i), stretchAt(p, s))
	}
	w(".\n\n")
	w("**`/readyz` not 200**\n\n")
	for i, ws := range res.NotReady {
		w("- %s: %s; refused attempts: %d, of which while `/readyz` said ready before and after: %d",
			replicaName(i), windowsText(p, ws), res.ReplicaRefusals[i], res.RefusedWhileReady[i])
		if res.RefusedWhileReady[i] > 0 {
			w(" (over %s at the longest)", secs(res.ReadyRefusing[i]))
		}
		w("\n")
	}
	w("\n**Consoles** (delivered and lost count this phase's stored notifications in the console's view at the check)\n\n")
	w("| Console | Policy | Delivered | Lost | Doubled | Out of order | Feeds opened | Failed attempts | Stale snapshots | Gaps | Signed in again | Other messages | Calls differing from the server's view |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range res.Consoles {
		lost, delivered, differs := fmt.Sprint(c.Lost), fmt.Sprint(c.Delivered), fmt.Sprint(c.Differs)
		if c.Lost < 0 {
			lost, delivered, differs = "unknown", "unknown", "unknown"
		}
		w("| %s | %s | %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %s |\n", c.Name, c.Policy, delivered, lost, c.Doubled, c.OutOfOrder,
			c.Reconnects, c.Refused, c.Stale, c.Gaps, c.SignIns, c.Statuses, differs)
	}
	w("\n**Replica exits**: ")
	if len(res.Exits) == 0 {
		w("none.\n")
	} else {
		w("%d.\n\n", len(res.Exits))
		for _, x := range res.Exits {
			w("- %s %s (%s): %s\n", at(p, x.At), x.Part, x.Status, code(x.Reason))
		}
	}
	w("\n**Both replicas' views equal at the check**: %s.\n", res.Agree)
	w("\n**History**: %s\n", historyText(res))
	for _, n := range p.Notes {
		w("\n*%s*\n", n)
	}
	w("\n")
}

// historyText says how the history reads of the check went.
func historyText(r *result) string {
	if len(r.History) == 0 {
		return "no call's history was read."
	}
	calls := map[string]bool{}
	for _, h := range r.History {
		calls[h.CallID] = true
	}
	out := fmt.Sprintf("%d calls' histories read from each replica (%d reads): %d wrong.", len(calls), len(r.History), r.HistoryWrong)
	shown := 0
	for _, h := range r.History {
		if !h.Wrong() || shown == 3 {
			continue
		}
		shown++
		if h.Got < 0 {
			out += fmt.Sprintf(" %s gave no history of %s (%s).", replicaName(h.Replica), h.CallID, h.Err)
		} else {
			out += fmt.Sprintf(" %s answered %d events for %s, which has %d.", replicaName(h.Replica), h.Got, h.CallID, h.Want)
		}
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// at is t relative to the phase's start.
func at(p *phase, t time.Time) string { return fmt.Sprintf("t+%.1f s", t.Sub(p.Start).Seconds()) }

func stretchAt(p *phase, s traffic.Stretch) string {
	if s.Duration() == 0 {
		return "0 s"
	}
	out := fmt.Sprintf("%s (%s to %s, %d refusals)", secs(s.Duration()), at(p, s.From), at(p, s.To), s.Failures)
	if s.Open {
		out += ", still refusing at the check"
	}
	return out
}

func windowsText(p *phase, ws []readiness.Window) string {
	if len(ws) == 0 {
		return "never"
	}
	var parts []string
	for _, win := range ws {
		s := fmt.Sprintf("%s to %s (%s: %s)", at(p, win.From), at(p, win.To), secs(win.Duration()), strings.Join(quoteAll(win.Reasons), ", "))
		if win.Open {
			s += ", still at the check"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func quoteAll(ss []string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, code(s))
	}
	return out
}

// code puts s in backquotes for markdown, safely.
func code(s string) string {
	s = strings.NewReplacer("`", "'", "|", "/", "\n", " ").Replace(s)
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return "`" + s + "`"
}

func countsText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (r *report) writeTotals(w writef) {
	t := r.Totals
	if t == nil {
		return
	}
	w("## The whole run\n\n")
	w("%d notifications sent, %d accepted, %d stored; %d accepted but not stored, %d stored twice, %d refused yet stored, %d never accepted. ",
		t.Sent, t.Accepted, t.Stored, t.AcceptedLost, t.StoredTwice, t.RefusedStored, t.NeverAccepted)
	w("%d replica exits in all.\n\n", len(t.Exits))
	if r.Dir != "" {
		w("The cluster's logs are kept in `%s`.\n\n", r.Dir)
	}
}

func (r *report) writeMethod(w writef) {
	w("## How the figures are taken\n\n")
	w("- **Phases**: each fault runs in a phase of its own: traffic for %s, the fault, then once every part is ready again %s more of traffic. ", r.Options.Before, r.Options.After)
	w("The traffic then pauses until every call under way has ended; the tool waits (at most 60 s) until both replicas' views reach the end of the event log and (at most 30 s) until every console agrees with them, then reads the event log back with a NATS client.\n")
	w("- **Stored** counts the phase's notifications found in the event log (by the number in their subject); each must be there once, whichever replica took it and however often it was retried.\n")
	w("- **Delivered / lost**: a stored notification is in a console's view when the console holds its call at that notification's sequence or later ")
	w("(or at the sequence the server's own view holds the call, when the notification changed nothing). **Doubled**: a change the console already had arrived again; ")
	w("**out of order**: a change arrived after a later one. **Stale snapshots**: snapshots at a lower sequence than the console held (a replica serving its view before loading it); the console keeps its rows and reconnects. **Calls differing**: calls missing, extra, or at another sequence or state than in the server's view at the check.\n")
	w("- **Webhook unavailable**: the longest stretch during which every attempt failed, from the start of the first failed attempt to the start of the next accepted one; ")
	w("\"no replica accepting\" looks at both replicas' attempts together, as Graph behind a load balancer sees it.\n")
	w("- **Refusals while `/readyz` said ready**: refused attempts (any answer but 202, or none) with a 200 from that replica's `/readyz` at the last poll before the attempt, at the first poll after its answer, and at every poll between.\n")
	w("- **History**: at each check, the histories (`GET /api/calls/{id}/events`) of up to %d of the phase's calls are read from each replica and their length compared with the event log's.\n", historySample)
	w("- **Replica exits**: a replica process that ended without being told to. The tool starts it again after 1 s (doubling to at most 8 s), as a process supervisor would, so that the run goes on; every exit is counted.\n")
}
