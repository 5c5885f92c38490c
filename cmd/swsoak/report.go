package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"switchboard/cmd/internal/localcluster"
	"switchboard/cmd/internal/machine"
	"switchboard/cmd/internal/mdsection"
)

// flatAfter is when a figure must have stopped growing: once the history
// and the retention are full, and a minute for JetStream to expire what
// aged out.
func (o options) flatAfter() time.Duration { return max(o.History, o.Retention) + time.Minute }

// maxGrowth is how much a figure's second half may exceed its first half
// (after flatAfter) and still count as flat.
const maxGrowth = 0.10

type report struct {
	o        options
	started  time.Time
	took     time.Duration
	machine  machine.Machine
	samples  []sample
	failures []localcluster.Failure
	plan     *localcluster.Plan
}

func newReport(o options, e *env, samples []sample, started time.Time) *report {
	return &report{o: o, started: started, took: time.Since(started), samples: samples, failures: e.failures(), plan: e.plan,
		machine: machine.Read(filepath.Join(o.Bin, "switchboard"))}
}

func (r *report) write(path string) error {
	md := r.markdown()
	if path == "" {
		_, err := os.Stdout.WriteString(md)
		return err
	}
	return mdsection.Write(path, "# Switchboard under faults and over time\n\n", "soak", md)
}

// figure is one quantity over time, judged for flatness.
type figure struct {
	name   string
	values func(s sample) float64
	unit   func(v float64) string
}

func (r *report) figures() []figure {
	mb := func(v float64) string { return fmt.Sprintf("%.1f MB", v/(1<<20)) }
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	var out []figure
	for i, rep := range r.plan.Replicas {
		out = append(out,
			figure{rep.Name + " RSS", func(s sample) float64 { return at(s.RSS, i) }, mb},
			figure{rep.Name + " Go heap in use", func(s sample) float64 { return at(s.Heap, i) }, mb},
			figure{rep.Name + " goroutines", func(s sample) float64 { return at(s.Goroutines, i) }, count})
	}
	return append(out, figure{"NATS data directories", func(s sample) float64 { return float64(s.DataBytes) }, mb})
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// verdict compares a figure's mean over the first and second halves of the
// samples taken once everything is full.
func (r *report) verdict(f figure) (first, second float64, flat, known bool) {
	var late []float64
	for _, s := range r.samples {
		if s.At >= r.o.flatAfter() {
			late = append(late, f.values(s))
		}
	}
	if len(late) < 4 {
		return 0, 0, false, false
	}
	half := len(late) / 2
	first, second = mean(late[:half]), mean(late[half:])
	return first, second, second <= first*(1+maxGrowth), true
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.machine
	w("## Soak: bounded over time\n\n")
	w("Written by `swsoak` (`make soak`), which answers issue 9's \"bounded memory and disk\": Switchboard under steady traffic and many consoles for %s, with its figures sampled every %s. The console history, the event retention and the feed's resume buffer are small so that all fill during the run; from %s on, every figure must stay flat.\n\n",
		r.o.Duration, r.o.Every, r.o.flatAfter())
	w("- **Run**: %s, %s (`go run ./cmd/swsoak --out docs/reliability.md --duration %s --rate %g --consoles %d`)\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.took.Round(time.Second), r.o.Duration, r.o.Rate, r.o.Consoles)
	w("- **Machine**: %s, %d CPUs, %s memory; %s; load average %s at the start\n", m.CPUModel, m.CPUs, m.Memory, m.OS, m.LoadAverage)
	w("- **Software**: switchboard %s, built from %s\n", m.GoServer, m.ServerRevision)
	w("- **Cluster**: 3 nats-server nodes (JetStream, R3), 2 replicas, the Graph simulator making %g calls a minute (rung, answered after 5 s, held, transferred, ended as its scripts say) and posting their notifications to both replicas in turn\n", r.o.Rate)
	w("- **Consoles**: %d websocket clients signed in as the demo's viewer, half on each replica, resuming with `since` after any disconnect\n", r.o.Consoles)
	w("- **Bounds made to fill**: `--history %s`, `--event-retention %s`, `--feed-ring-bytes %s` (the defaults, 1 h, 7 days and 64 MiB, fill the same way, later)\n", r.o.History, r.o.Retention, r.o.Ring)
	if r.o.Note != "" {
		w("- **Note**: %s\n", r.o.Note)
	}
	w("\n| Figure | Mean, first half after %s | Mean, second half | Growth | Flat (≤ %.0f%%) |\n|---|---|---|---|---|\n", r.o.flatAfter(), maxGrowth*100)
	for _, f := range r.figures() {
		first, second, flat, known := r.verdict(f)
		if !known {
			w("| %s | | | | not enough samples |\n", f.name)
			continue
		}
		w("| %s | %s | %s | %+.1f%% | %s |\n", f.name, f.unit(first), f.unit(second), growth(first, second)*100, yes(flat))
	}
	w("\nReplicas or nodes that exited by themselves: %d.", len(r.failures))
	for _, f := range r.failures {
		w(" %s at %s (%s: %s).", f.Part, f.At.UTC().Format("15:04:05"), f.Status, f.Reason)
	}
	w("\n\n### Over time\n\n")
	w("| t | RSS (MB, per replica) | Go heap (MB) | goroutines | feed clients | live calls | NATS data (MB) | consoles connected |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.samples {
		w("| %s | %s | %s | %s | %s | %.0f | %.1f | %d |\n", s.At.Round(time.Second), strings.Join(mbs(s.RSS), " / "),
			strings.Join(mbs(s.Heap), " / "), joinCounts(s.Goroutines), joinCounts(s.FeedClients), s.LiveCalls,
			float64(s.DataBytes)/(1<<20), s.Connected)
	}
	return b.String()
}

func growth(first, second float64) float64 {
	if first == 0 {
		return 0
	}
	return second/first - 1
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func joinCounts(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " / ")
}
