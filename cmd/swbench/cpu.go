package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// metricCPU is the server's CPU time, user and system, in seconds.
const metricCPU = "process_cpu_seconds_total"

// cpuUse is how the machine's CPU time was split during a phase of a
// workload: the server against the bench (its senders and feed clients),
// which share the machine.
type cpuUse struct {
	Wall          time.Duration
	Server, Bench time.Duration
	// Machine is the busy time of every CPU, whoever used it: what is not
	// the server's or the bench's went to other processes.
	Machine time.Duration
}

// Cores is the average number of cores a process kept busy.
func (c cpuUse) Cores(d time.Duration) float64 {
	if c.Wall <= 0 {
		return 0
	}
	return d.Seconds() / c.Wall.Seconds()
}

// String says it in one sentence for the report.
func (c cpuUse) String() string {
	if c.Wall <= 0 {
		return "not measured"
	}
	others := max(c.Machine-c.Server-c.Bench, 0)
	return fmt.Sprintf("server %.2f cores, bench (senders and clients) %.2f cores, other processes %.2f cores, on average over %s",
		c.Cores(c.Server), c.Cores(c.Bench), c.Cores(others), c.Wall.Round(100*time.Millisecond))
}

// cpuMeter measures a phase; start it, then call stop.
type cpuMeter struct {
	at      time.Time
	server  float64
	bench   time.Duration
	machine time.Duration
}

// startCPU starts measuring. Measuring is best effort: a failure is
// logged and the phase is reported as not measured.
func (b *bench) startCPU(ctx context.Context, srv *server) cpuMeter {
	m, err := b.readCPU(ctx, srv)
	if err != nil {
		b.log.Warn("CPU time not measured", "err", err)
		return cpuMeter{}
	}
	return m
}

// stopCPU ends the phase started at start.
func (b *bench) stopCPU(ctx context.Context, srv *server, start cpuMeter) cpuUse {
	if start.at.IsZero() {
		return cpuUse{}
	}
	end, err := b.readCPU(ctx, srv)
	if err != nil {
		b.log.Warn("CPU time not measured", "err", err)
		return cpuUse{}
	}
	return cpuUse{Wall: end.at.Sub(start.at), Server: time.Duration((end.server - start.server) * float64(time.Second)),
		Bench: end.bench - start.bench, Machine: end.machine - start.machine}
}

func (b *bench) readCPU(ctx context.Context, srv *server) (cpuMeter, error) {
	m, err := scrape(ctx, b.http, srv, metricCPU)
	if err != nil {
		return cpuMeter{}, err
	}
	self, err := selfCPU()
	if err != nil {
		return cpuMeter{}, err
	}
	all, err := machineCPU()
	if err != nil {
		return cpuMeter{}, err
	}
	return cpuMeter{at: time.Now(), server: m[metricCPU], bench: self, machine: all}, nil
}

// parseProcStat reads the busy time of all CPUs from /proc/stat's first
// line, in ticks of 1/100 s: user, nice, system, irq and softirq. Idle and
// iowait are not busy; steal is time the hypervisor gave to other
// machines; guest time is already counted in user.
func parseProcStat(stat string) (time.Duration, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, errors.New("read the machine's CPU time: /proc/stat does not start with the cpu line")
	}
	var busy uint64
	for i, v := range f[1:] {
		if i >= 8 {
			break
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read the machine's CPU time: %w", err)
		}
		if i != 3 && i != 4 && i != 7 { // idle, iowait, steal
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond, nil
}
