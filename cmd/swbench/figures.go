package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// runResult is one run of one workload against one target.
type runResult struct {
	Workload, Kind string
	Run            int
	Started        time.Time
	Elapsed        time.Duration
	// LoadBefore is the machine's load average when the run started.
	LoadBefore string
	// Err says why the run did not finish; empty when it did.
	Err string

	W1 *w1Result
	W2 *w2Result
	W3 *w3Result
	W4 *w4Result
	W5 *w5Result // W5 and W6
}

// name names the run in logs and profile files: W2-switchboard-1.
func (r *runResult) name() string { return fmt.Sprintf("%s-%s-%d", r.Workload, r.Kind, r.Run) }

// unit is how a figure is written.
type unit int

const (
	unitCount unit = iota
	unitMS
	unitSeconds
	unitPerSecond
	unitKiB
	unitMiB
	unitMB
	unitMicroseconds
	unitCores
	unitRatio
)

// figure is one number a workload reports, per run.
type figure struct {
	ID, Label string
	Unit      unit
	// Of reads the figure from a finished run; ok is false when the run
	// does not have it.
	Of func(r *runResult) (v float64, ok bool)
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// figuresOf lists workload w's figures, in the order the report shows them.
func figuresOf(w string) []figure {
	switch w {
	case "W1":
		return []figure{
			{"rate", "notifications accepted per second", unitPerSecond, func(r *runResult) (float64, bool) { return r.W1.Rate, r.W1 != nil }},
			{"webhook_p50", "webhook latency p50", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W1.Webhook.P50), r.W1 != nil }},
			{"webhook_p99", "webhook latency p99", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W1.Webhook.P99), r.W1 != nil }},
			{"cores", "server CPU while posting", unitCores, func(r *runResult) (float64, bool) {
				return r.W1.CPU.Cores(r.W1.CPU.Server), r.W1 != nil && r.W1.CPU.Wall > 0
			}},
			{"delivery_faults", "delivery faults (lost, repeated, out of order…)", unitCount, func(r *runResult) (float64, bool) {
				return float64(faults(r.W1.Delivery)), r.W1 != nil
			}},
		}
	case "W2":
		return []figure{
			{"p50", "webhook → client p50", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W2.Latency.P50), r.W2 != nil && r.W2.Latency.N > 0 }},
			{"p99", "webhook → client p99", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W2.Latency.P99), r.W2 != nil && r.W2.Latency.N > 0 }},
			{"max", "webhook → client max", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W2.Latency.Max), r.W2 != nil && r.W2.Latency.N > 0 }},
			{"lost", "events lost", unitCount, func(r *runResult) (float64, bool) { return float64(r.W2.Delivery.Lost), r.W2 != nil }},
			{"cpu_per_delivery", "server CPU per delivery", unitMicroseconds, func(r *runResult) (float64, bool) {
				return float64(r.W2.CPUPerDelivery()) / float64(time.Microsecond), r.W2 != nil && r.W2.CPUPerDelivery() > 0
			}},
			{"cores", "server CPU while sending and delivering", unitCores, func(r *runResult) (float64, bool) {
				return r.W2.CPU.Cores(r.W2.CPU.Server), r.W2 != nil && r.W2.CPU.Wall > 0
			}},
			{"bench_cores", "bench CPU (senders, clients)", unitCores, func(r *runResult) (float64, bool) {
				return r.W2.CPU.Cores(r.W2.CPU.Bench), r.W2 != nil && r.W2.CPU.Wall > 0
			}},
			{"webhook_p99", "webhook latency p99", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W2.Webhook.P99), r.W2 != nil }},
		}
	case "W3":
		return []figure{
			{"rss_per_client", "RSS per idle client", unitKiB, func(r *runResult) (float64, bool) { return r.W3.RSSPerClient, r.W3 != nil && r.W3.Connected > 0 }},
			{"heap_per_client", "Go heap per idle client", unitKiB, func(r *runResult) (float64, bool) { return r.W3.HeapPerClient, r.W3 != nil && r.W3.Connected > 0 }},
			{"goroutines_per_client", "goroutines per idle client", unitRatio, func(r *runResult) (float64, bool) {
				return r.W3.GoroutinesPerClient, r.W3 != nil && r.W3.Connected > 0
			}},
		}
	case "W4":
		ok := func(r *runResult) bool { return r.W4 != nil }
		return []figure{
			{"live_calls", "live calls held", unitCount, func(r *runResult) (float64, bool) { return r.W4.LiveCalls, ok(r) }},
			{"seed_rate", "seeding: notifications accepted per second (20 per POST)", unitPerSecond, func(r *runResult) (float64, bool) { return r.W4.Seed.Rate(), ok(r) }},
			{"snapshot_mb", "snapshot size", unitMB, func(r *runResult) (float64, bool) {
				return float64(r.W4.SnapshotBytes) / 1e6, ok(r) && r.W4.SnapshotBytes > 0
			}},
			{"first_p50", "snapshot time, consoles connecting in waves before the load, p50", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W4.First.P50), ok(r) && r.W4.First.N > 0 }},
			{"first_max", "snapshot time, consoles connecting in waves before the load, max", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W4.First.Max), ok(r) && r.W4.First.N > 0 }},
			{"late_p50", "snapshot time, a console connecting under load, p50", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W4.Late.P50), ok(r) && r.W4.Late.N > 0 }},
			{"late_max", "snapshot time, a console connecting under load, max", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W4.Late.Max), ok(r) && r.W4.Late.N > 0 }},
			{"rate", "notifications accepted per second under load", unitPerSecond, func(r *runResult) (float64, bool) { return r.W4.Rate, ok(r) }},
			{"p50", "webhook → console p50", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W4.Latency.P50), ok(r) && r.W4.Latency.N > 0 }},
			{"p99", "webhook → console p99", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W4.Latency.P99), ok(r) && r.W4.Latency.N > 0 }},
			{"lost", "events lost", unitCount, func(r *runResult) (float64, bool) { return float64(r.W4.Delivery.Lost), ok(r) }},
			{"rss", "RSS, highest under load", unitMiB, func(r *runResult) (float64, bool) { return r.W4.RSS, ok(r) && r.W4.RSS > 0 }},
			{"heap", "Go heap in use, highest under load", unitMiB, func(r *runResult) (float64, bool) { return r.W4.Heap, ok(r) && r.W4.Heap > 0 }},
			{"cores", "server CPU under load", unitCores, func(r *runResult) (float64, bool) {
				return r.W4.CPU.Cores(r.W4.CPU.Server), ok(r) && r.W4.CPU.Wall > 0
			}},
		}
	case "W5", "W6":
		ok := func(r *runResult) bool { return r.W5 != nil }
		s := func(d time.Duration) float64 { return d.Seconds() }
		return []figure{
			{"nats", "restart → NATS answers", unitSeconds, func(r *runResult) (float64, bool) { return s(r.W5.NATS), ok(r) }},
			{"assembled", "restart → replica assembled", unitSeconds, func(r *runResult) (float64, bool) { return s(r.W5.Assembled), ok(r) && r.W5.Assembled > 0 }},
			{"loaded", "restart → saved view loaded", unitSeconds, func(r *runResult) (float64, bool) { return s(r.W5.Loaded), ok(r) && r.W5.Loaded > 0 }},
			{"ready", "restart → /readyz ready", unitSeconds, func(r *runResult) (float64, bool) { return s(r.W5.Ready), ok(r) && r.W5.Ready > 0 }},
			{"ready_after_nats", "NATS answers → /readyz ready", unitSeconds, func(r *runResult) (float64, bool) { return s(r.W5.ReadyAfterNATS), ok(r) && r.W5.Ready > 0 }},
			{"loaded_calls", "calls loaded from the saved view", unitCount, func(r *runResult) (float64, bool) { return float64(r.W5.LoadedCalls), ok(r) && r.W5.Loaded > 0 }},
			{"tail", "events replayed after the checkpoint", unitCount, func(r *runResult) (float64, bool) {
				return float64(r.W5.LogSeq - min(r.W5.Checkpoint, r.W5.LogSeq)), ok(r) && r.W5.Loaded > 0
			}},
			{"back_p50", "restart → a console's feed open again, p50", unitSeconds, func(r *runResult) (float64, bool) { return s(r.W5.ConsolesBack.P50), ok(r) && r.W5.ConsolesBack.N > 0 }},
			{"back_max", "restart → every console's feed open again", unitSeconds, func(r *runResult) (float64, bool) { return s(r.W5.ConsolesBack.Max), ok(r) && r.W5.ConsolesBack.N > 0 }},
			{"resumed", "consoles that resumed (no snapshot)", unitCount, func(r *runResult) (float64, bool) { return float64(r.W5.Resumed), ok(r) }},
			{"not_back", "consoles not back", unitCount, func(r *runResult) (float64, bool) { return float64(r.W5.NotBack), ok(r) }},
			{"at_head", "consoles at the server's sequence at the end", unitCount, func(r *runResult) (float64, bool) { return float64(r.W5.AtHead), ok(r) }},
			{"lost", "events lost (consoles that resumed)", unitCount, func(r *runResult) (float64, bool) { return float64(r.W5.Lost + r.W5.Gaps), ok(r) }},
			{"live_calls", "live calls after the restart", unitCount, func(r *runResult) (float64, bool) { return r.W5.LiveCalls, ok(r) }},
			{"p99", "webhook → console p99 over the load, outage included", unitMS, func(r *runResult) (float64, bool) { return msOf(r.W5.Latency.P99), ok(r) && r.W5.Latency.N > 0 }},
		}
	}
	return nil
}

// faults counts what a delivery check found wrong.
func faults(d deliveryCheck) int {
	n := d.Lost + d.Extra + d.Repeats + d.Gaps + d.OutOfOrder + d.Foreign + d.IncompleteCalls + d.SeqBehind + d.Dropped
	if d.TimedOut {
		n++
	}
	return n
}

// stats are one figure's values over the runs of one target.
type stats struct {
	Values []float64 // by run; NaN where the run lacks the figure
	N      int       // runs that have it
}

// Median is the middle value of the runs that have the figure (the lower
// middle for an even count); NaN when none has it.
func (s stats) Median() float64 {
	var v []float64
	for _, x := range s.Values {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

// Spread is the largest value over the smallest (max/min of the runs);
// NaN with fewer than two runs or a value at or below zero.
func (s stats) Spread() float64 {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, x := range s.Values {
		if math.IsNaN(x) {
			continue
		}
		lo, hi, n = min(lo, x), max(hi, x), n+1
	}
	if n < 2 || lo <= 0 {
		return math.NaN()
	}
	return hi / lo
}

// statsOf gathers figure f over the runs of workload w against kind.
func statsOf(runs []*runResult, w, kind string, f figure, nruns int) stats {
	s := stats{Values: make([]float64, nruns)}
	for i := range s.Values {
		s.Values[i] = math.NaN()
	}
	for _, r := range runs {
		if r.Workload != w || r.Kind != kind || r.Err != "" || r.Run < 1 || r.Run > nruns {
			continue
		}
		if v, ok := safeFigure(f, r); ok {
			s.Values[r.Run-1] = v
			s.N++
		}
	}
	return s
}

// safeFigure reads f from r; a run without the workload's result has no
// figure (Of dereferences it).
func safeFigure(f figure, r *runResult) (v float64, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = 0, false
		}
	}()
	return f.Of(r)
}

// format writes v in unit u.
func format(v float64, u unit) string {
	if math.IsNaN(v) {
		return "—"
	}
	switch u {
	case unitMS:
		return fmt.Sprintf("%.1f ms", v)
	case unitSeconds:
		return fmt.Sprintf("%.2f s", v)
	case unitPerSecond:
		return fmt.Sprintf("%.0f/s", v)
	case unitKiB:
		return fmt.Sprintf("%.1f KiB", v/1024)
	case unitMiB:
		return fmt.Sprintf("%.0f MiB", v/(1<<20))
	case unitMB:
		return fmt.Sprintf("%.1f MB", v)
	case unitMicroseconds:
		return fmt.Sprintf("%.2f µs", v)
	case unitCores:
		return fmt.Sprintf("%.2f", v)
	case unitRatio:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// times writes a ratio or spread: ×1.23.
func times(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("×%.2f", v)
}
