package main

import (
	"strings"
	"testing"
	"time"

	"switchboard/cmd/internal/localcluster"
)

func soakReport(values func(i int) float64) *report {
	o := options{Duration: 10 * time.Minute, Every: 15 * time.Second, History: 2 * time.Minute, Retention: 4 * time.Minute, Rate: 240, Consoles: 50}
	r := &report{o: o, plan: &localcluster.Plan{Replicas: []localcluster.ReplicaAddr{{Name: "replica-a"}}}}
	for i := range 41 {
		v := values(i)
		r.samples = append(r.samples, sample{At: time.Duration(i) * 15 * time.Second, RSS: []float64{v}, Heap: []float64{v},
			Goroutines: []float64{v}, DataBytes: int64(v)})
	}
	return r
}

func TestFlatIsJudgedOnceEverythingIsFull(t *testing.T) {
	// Growing until minute 5, then flat: flat.
	r := soakReport(func(i int) float64 { return float64(min(i, 20)) * 1e6 })
	for _, f := range r.figures() {
		if _, _, flat, known := r.verdict(f); !known || !flat {
			t.Errorf("%s: flat %v (known %v), want flat", f.name, flat, known)
		}
	}
	// Growing all along: not flat.
	r = soakReport(func(i int) float64 { return float64(i+1) * 1e6 })
	for _, f := range r.figures() {
		if _, _, flat, _ := r.verdict(f); flat {
			t.Errorf("%s grows by a sample each 15 s and was judged flat", f.name)
		}
	}
	if md := r.markdown(); !strings.Contains(md, "**no**") || !strings.Contains(md, "### Over time") {
		t.Errorf("the report does not say what grew:\n%s", md)
	}
}
