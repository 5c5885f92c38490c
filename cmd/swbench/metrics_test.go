package main

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	const text = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 43
go_gc_duration_seconds{quantile="0.5"} 2.1e-05
process_resident_memory_bytes 2.2847488e+07

switchboard_feed_clients 5000
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"go_goroutines": 43, "process_resident_memory_bytes": 22847488, "switchboard_feed_clients": 5000}
	if len(m) != len(want) {
		t.Fatalf("parsed %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

func TestParseMetricsRefusesGarbage(t *testing.T) {
	tests := []struct{ name, text, says string }{
		{"no value", "go_goroutines\n", "not a sample"},
		{"bad value", "go_goroutines many\n", "value of go_goroutines"},
	}
	for _, tt := range tests {
		_, err := parseMetrics(strings.NewReader(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.says)
		}
	}
}
