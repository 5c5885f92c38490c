package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/cmd/internal/feedwatch"
	"switchboard/cmd/internal/localcluster"
	"switchboard/cmd/internal/readiness"
	"switchboard/cmd/internal/traffic"
)

// result is what one phase measured.
type result struct {
	// Notifications first sent during the phase.
	Sent, Accepted, Stored int
	// AcceptedLost were answered 202 and are not in the log; StoredTwice
	// are in it more than once; RefusedStored were never answered 202 but
	// are stored (once); NeverAccepted were given up on; RefusedForGood
	// got a final 4xx.
	AcceptedLost, StoredTwice, RefusedStored, NeverAccepted, RefusedForGood int
	// Attempts and refused attempts, and the refusals by answer.
	Attempts, Refusals int
	RefusedBy          map[string]int
	// Overall is the longest stretch no replica accepted anything;
	// PerReplica the longest per replica.
	Overall    traffic.Stretch
	PerReplica []traffic.Stretch
	// NotReady are each replica's /readyz windows; RefusedWhileReady
	// counts, per replica, the refused attempts during which /readyz said
	// ready before and after, and ReadyRefusing is the longest span of such
	// refusals (attempts less than a second apart); ReplicaRefusals counts
	// all refused attempts.
	NotReady          [][]readiness.Window
	RefusedWhileReady []int
	ReadyRefusing     []time.Duration
	ReplicaRefusals   []int
	// History are the history reads of the check; HistoryWrong how many
	// did not answer the call's whole history.
	History      []historyRead
	HistoryWrong int
	Consoles     []consoleResult
	Exits        []localcluster.Failure
	// Agree says whether both replicas held the same view at the check.
	Agree string
}

// consoleResult is one console's figures for a phase.
type consoleResult struct {
	Name, Policy string
	Home         int
	// Delivered and Lost split the phase's stored notifications into
	// those the console's view reflects at the check and those it lacks.
	Delivered, Lost int
	// Doubled and OutOfOrder count changes received again, or after a
	// later one, during the phase.
	Doubled, OutOfOrder int
	// Reconnects counts feeds opened; Refused failed attempts; Stale the
	// snapshots older than the view held; Gaps the resumes past it;
	// SignIns the sign-ins after the first; Statuses other messages.
	Reconnects, Refused, Stale, Gaps, SignIns, Statuses int
	// Differs counts the calls on which the console and the server's view
	// disagreed at the check.
	Differs int
}

// phaseInput is everything the accounting of one phase reads.
type phaseInput struct {
	From, To time.Time
	Records  []traffic.Record
	Attempts []traffic.Attempt
	// Stored maps notification numbers to the sequences they are stored at.
	Stored map[int][]uint64
	// Samples are each replica's /readyz answers.
	Samples  [][]readiness.Sample
	Consoles []consoleInput
	// Views are the replicas' views at the check (nil: unreadable).
	Views   []*serverView
	Exits   []localcluster.Failure
	History []historyRead
}

// consoleInput is one console's record.
type consoleInput struct {
	Name, Policy string
	Home         int
	Events       []feedwatch.Event
	Calls        map[string]feedwatch.CallState
}

func within(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

// account computes a phase's result.
func account(in phaseInput) *result {
	r := &result{RefusedBy: map[string]int{}}
	var changes []feedwatch.Change
	for _, rec := range in.Records {
		if !within(rec.Sent, in.From, in.To) {
			continue
		}
		r.Sent++
		seqs := in.Stored[rec.N]
		if len(seqs) > 0 {
			r.Stored++
			changes = append(changes, feedwatch.Change{Seq: seqs[0], CallID: rec.CallID})
		}
		switch {
		case len(seqs) > 1:
			r.StoredTwice++
		case rec.Accepted && len(seqs) == 0:
			r.AcceptedLost++
		case !rec.Accepted && len(seqs) == 1:
			r.RefusedStored++
		}
		switch {
		case rec.Accepted:
			r.Accepted++
		case rec.Refused != 0:
			r.RefusedForGood++
		default:
			r.NeverAccepted++
		}
	}
	replicas := len(in.Samples)
	r.PerReplica = make([]traffic.Stretch, replicas)
	r.NotReady = make([][]readiness.Window, replicas)
	r.RefusedWhileReady = make([]int, replicas)
	r.ReadyRefusing = make([]time.Duration, replicas)
	r.ReplicaRefusals = make([]int, replicas)
	spans := make([]spanner, replicas)
	for _, a := range in.Attempts {
		if !within(a.Start, in.From, in.To) {
			continue
		}
		r.Attempts++
		if a.OK() {
			continue
		}
		r.Refusals++
		r.RefusedBy[answer(a)]++
		if a.Target < replicas {
			r.ReplicaRefusals[a.Target]++
			if readiness.ReadyThroughout(in.Samples[a.Target], a.Start, a.Start.Add(a.Took)) {
				r.RefusedWhileReady[a.Target]++
				spans[a.Target].add(a.Start, a.Start.Add(a.Took))
			}
		}
	}
	for i := range spans {
		r.ReadyRefusing[i] = spans[i].longest()
	}
	r.History = in.History
	for _, h := range in.History {
		if h.Wrong() {
			r.HistoryWrong++
		}
	}
	r.Overall = traffic.Longest(traffic.Unavailable(in.Attempts, -1, in.From, in.To))
	for i := range replicas {
		r.PerReplica[i] = traffic.Longest(traffic.Unavailable(in.Attempts, i, in.From, in.To))
		r.NotReady[i] = readiness.NotReady(in.Samples[i], in.From, in.To)
	}
	ref := reference(in.Views)
	for _, c := range in.Consoles {
		r.Consoles = append(r.Consoles, accountConsole(c, in.From, in.To, changes, ref))
	}
	for _, x := range in.Exits {
		if within(x.At, in.From, in.To) {
			r.Exits = append(r.Exits, x)
		}
	}
	r.Agree = agree(in.Views)
	return r
}

// answer names a refused attempt's answer: its status, or why none came.
func answer(a traffic.Attempt) string {
	if a.Status != 0 {
		return strconv.Itoa(a.Status)
	}
	switch {
	case strings.Contains(a.Err, "connection refused"):
		return "connection refused"
	case strings.Contains(a.Err, "deadline exceeded"), strings.Contains(a.Err, "Timeout"):
		return "no answer in 10 s"
	case strings.Contains(a.Err, "EOF"), strings.Contains(a.Err, "reset"):
		return "connection dropped"
	}
	return "no answer"
}

func accountConsole(c consoleInput, from, to time.Time, changes []feedwatch.Change, ref *serverView) consoleResult {
	cr := consoleResult{Name: c.Name, Policy: c.Policy, Home: c.Home}
	first := true // the console's first sign-in is not a re-sign-in
	for _, ev := range c.Events {
		if !within(ev.At, from, to) {
			first = first && ev.Kind != feedwatch.SignedIn
			continue
		}
		switch ev.Kind {
		case feedwatch.Doubled:
			cr.Doubled++
		case feedwatch.OutOfOrder:
			cr.OutOfOrder++
		case feedwatch.Connected:
			cr.Reconnects++
		case feedwatch.Refused:
			cr.Refused++
		case feedwatch.StaleSnapshot:
			cr.Stale++
		case feedwatch.Gap:
			cr.Gaps++
		case feedwatch.Status:
			cr.Statuses++
		case feedwatch.SignedIn:
			if !first {
				cr.SignIns++
			}
			first = false
		}
	}
	if ref == nil {
		cr.Lost = -1 // unknown
		cr.Differs = -1
		return cr
	}
	lost := feedwatch.Lost(c.Calls, changes, ref.Calls)
	cr.Lost = len(lost)
	cr.Delivered = len(changes) - len(lost)
	cr.Differs = len(feedwatch.Differs(c.Calls, ref.Calls))
	return cr
}

// agree says whether the replicas' views are the same.
func agree(views []*serverView) string {
	if len(views) < 2 {
		return "yes"
	}
	for i, v := range views {
		if v == nil {
			return fmt.Sprintf("unknown (replica %d's view could not be read)", i+1)
		}
	}
	for _, v := range views[1:] {
		if v.Seq != views[0].Seq {
			return fmt.Sprintf("no (sequences %d and %d)", views[0].Seq, v.Seq)
		}
		if d := feedwatch.Differs(v.Calls, views[0].Calls); len(d) > 0 {
			return fmt.Sprintf("no (%d calls differ)", len(d))
		}
	}
	return "yes"
}

// spanner collects intervals and finds the longest span they make when
// those starting less than a second after the previous one ended are
// merged.
type spanner struct {
	spans []span
}

type span struct{ from, to time.Time }

func (s *spanner) add(from, to time.Time) { s.spans = append(s.spans, span{from, to}) }

func (s *spanner) longest() time.Duration {
	slices.SortFunc(s.spans, func(a, b span) int { return a.from.Compare(b.from) })
	var best time.Duration
	var cur span
	for i, sp := range s.spans {
		if i == 0 || sp.from.Sub(cur.to) >= time.Second {
			cur = sp
		} else if sp.to.After(cur.to) {
			cur.to = sp.to
		}
		best = max(best, cur.to.Sub(cur.from))
	}
	return best
}
