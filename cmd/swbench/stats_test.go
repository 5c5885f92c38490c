package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []uint32
		p       float64
		want    uint32
	}{
		{"empty", nil, 50, 0},
		{"one sample", []uint32{7}, 99, 7},
		{"median of odd", []uint32{1, 2, 3, 4, 5}, 50, 3},
		{"median of even takes the lower", []uint32{1, 2, 3, 4}, 50, 2},
		{"p99 of 100", seq(1, 100), 99, 99},
		{"p99 of 1000", seq(1, 1000), 99, 990},
		{"p99 of 10 is the max", seq(1, 10), 99, 10},
		{"p100 is the max", seq(1, 10), 100, 10},
		{"tiny p is the min", seq(1, 10), 0.001, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.samples, tt.p); got != tt.want {
				t.Fatalf("percentile(%d samples, %v) = %d, want %d", len(tt.samples), tt.p, got, tt.want)
			}
		})
	}
}

func seq(from, to uint32) []uint32 {
	var out []uint32
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestSummarizeSortsAndScales(t *testing.T) {
	tests := []struct {
		name string
		got  latency
		want latency
	}{
		{"durations", summarize([]time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}, time.Nanosecond),
			latency{N: 3, P50: 20 * time.Millisecond, P99: 30 * time.Millisecond, Max: 30 * time.Millisecond}},
		{"microseconds", summarize([]uint32{5000, 1000, 3000, 2000, 4000}, time.Microsecond),
			latency{N: 5, P50: 3 * time.Millisecond, P99: 5 * time.Millisecond, Max: 5 * time.Millisecond}},
		{"empty", summarize([]uint32(nil), time.Microsecond), latency{}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}
