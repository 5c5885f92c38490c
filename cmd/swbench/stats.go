package main

import (
	"math"
	"slices"
	"time"
)

// latency summarises a set of latency samples. Percentiles are taken from
// the sorted samples themselves (nearest rank), never from a histogram, so
// a p99 is a latency some request actually saw.
type latency struct {
	N             int
	P50, P99, Max time.Duration
}

// sample is a latency sample type: a time.Duration, or a compact count of
// some unit (the feed clients of W2 keep microseconds in a uint32 to hold
// millions of samples cheaply).
type sample interface {
	~int64 | ~uint32
}

// summarize sorts samples in place and returns their percentiles. unit is
// the duration of one sample unit (time.Nanosecond for time.Duration
// samples). An empty set gives the zero latency.
func summarize[T sample](samples []T, unit time.Duration) latency {
	if len(samples) == 0 {
		return latency{}
	}
	slices.Sort(samples)
	at := func(p float64) time.Duration { return time.Duration(percentile(samples, p)) * unit }
	return latency{N: len(samples), P50: at(50), P99: at(99), Max: time.Duration(samples[len(samples)-1]) * unit}
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted:
// the smallest sample that at least p percent of the samples do not exceed.
func percentile[T sample](sorted []T, p float64) T {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
