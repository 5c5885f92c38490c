package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The server metrics the workloads read.
const (
	metricRSS         = "process_resident_memory_bytes"
	metricHeapInuse   = "go_memstats_heap_inuse_bytes"
	metricGoroutines  = "go_goroutines"
	metricFeedClients = "switchboard_feed_clients"
	metricSlowDrops   = "switchboard_feed_slow_disconnects_total"
	metricLiveCalls   = "switchboard_live_calls"
)

// parseMetrics reads the Prometheus text exposition format and returns the
// samples that have no labels, by name. Labelled samples, comments and
// blank lines are skipped; a line that is not a sample is an error.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := make(map[string]float64)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, fmt.Errorf("metrics line %d: %q is not a sample", n, line)
		}
		if strings.ContainsRune(fields[0], '{') {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value of %s: %w", n, fields[0], err)
		}
		out[fields[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// labelled returns, from the exposition text, the samples of metric name
// by the value of its one label: switchboard_events_total{kind="call"} 5
// is "call": 5.
func labelled(text, name string) map[string]float64 {
	out := make(map[string]float64)
	for line := range strings.SplitSeq(text, "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		_, label, _ := strings.Cut(labels, "=")
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err == nil {
			out[strings.Trim(label, `"`)] += v
		}
	}
	return out
}

// scrapeText fetches the server's /metrics as text.
func scrapeText(ctx context.Context, client *http.Client, srv *server) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		return "", fmt.Errorf("scrape metrics: %w", err)
	}
	if srv.MetricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+srv.MetricsToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("scrape metrics: %s %v", resp.Status, err)
	}
	return string(body), nil
}

// scrape fetches the server's /metrics (with its bearer token, if it has
// one) and checks the names the caller needs are there.
func scrape(ctx context.Context, client *http.Client, srv *server, need ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	if srv.MetricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+srv.MetricsToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape metrics: %s", resp.Status)
	}
	m, err := parseMetrics(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	for _, name := range need {
		if _, ok := m[name]; !ok {
			return nil, fmt.Errorf("scrape metrics: the server does not export %s", name)
		}
	}
	return m, nil
}
