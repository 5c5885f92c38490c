package main

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	const stat = "cpu  100 20 30 4000 50 6 7 8 90 10\ncpu0 50 10 15 2000 25 3 3 4 45 5\n"
	got, err := parseProcStat(stat)
	// user+nice+system+irq+softirq = 100+20+30+6+7 = 163 ticks.
	if want := 1630 * time.Millisecond; err != nil || got != want {
		t.Fatalf("parseProcStat = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 x 4 5 6 7 8"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
}

func TestCPUUseSaysHowTheCoresWereSplit(t *testing.T) {
	u := cpuUse{Wall: 10 * time.Second, Server: 12 * time.Second, Bench: 5 * time.Second, Machine: 19 * time.Second}
	want := "server 1.20 cores, bench (senders and clients) 0.50 cores, other processes 0.20 cores, on average over 10s"
	if got := u.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got := (cpuUse{}).String(); got != "not measured" {
		t.Fatalf("zero cpuUse says %q", got)
	}
}
