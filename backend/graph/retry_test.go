package graph

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 120 * time.Second, true},
		{"0", 0, true},
		{"0.5", 500 * time.Millisecond, true},
		{"0.05", 50 * time.Millisecond, true},
		{"1.", time.Second, true},
		{".25", 250 * time.Millisecond, true},
		{" 3 ", 3 * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second, true},
		{now.Add(90 * time.Second).Format(time.ANSIC), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(72 * time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
		{"99999999999999999999", maxRetryAfter, true},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1.2.3", 0, false},
		{".", 0, false},
		{"soon", 0, false},
		{"2024-05-01T10:00:00Z", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	tests := []struct {
		base     time.Duration
		attempt  int
		min, max time.Duration
	}{
		{100 * time.Millisecond, 1, 50 * time.Millisecond, 100 * time.Millisecond},
		{100 * time.Millisecond, 2, 100 * time.Millisecond, 200 * time.Millisecond},
		{100 * time.Millisecond, 4, 400 * time.Millisecond, 800 * time.Millisecond},
		{100 * time.Millisecond, 10, maxBackoff / 2, maxBackoff},
		{100 * time.Millisecond, 1000, maxBackoff / 2, maxBackoff},
		{time.Hour, 3, 30 * time.Minute, time.Hour},
		{time.Nanosecond, 1, 0, time.Nanosecond},
	}
	for _, tc := range tests {
		for range 50 {
			if d := backoff(tc.base, tc.attempt); d < tc.min || d > tc.max {
				t.Errorf("backoff(%v, %d) = %v, want within [%v, %v]", tc.base, tc.attempt, d, tc.min, tc.max)
				break
			}
		}
	}
}

func TestRetryableStatuses(t *testing.T) {
	tests := []struct {
		status     int
		idempotent bool
		want       bool
	}{
		{http.StatusTooManyRequests, false, true},
		{http.StatusServiceUnavailable, false, true},
		{http.StatusBadGateway, true, true},
		{http.StatusGatewayTimeout, true, true},
		{http.StatusBadGateway, false, false},
		{http.StatusGatewayTimeout, false, false},
		{http.StatusInternalServerError, true, false},
		{http.StatusNotFound, true, false},
		{http.StatusForbidden, true, false},
		{http.StatusRequestTimeout, true, false},
		{http.StatusConflict, true, false},
	}
	for _, tc := range tests {
		if got := retryable(tc.status, tc.idempotent); got != tc.want {
			t.Errorf("retryable(%d, idempotent %v) = %v, want %v", tc.status, tc.idempotent, got, tc.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 200, "short"},
		{"  lines\r\n\tand  spaces ", 200, "lines and spaces"},
		{strings.Repeat("a", 10), 4, "aaaa"},
		{"aé", 2, "a"}, // é is two bytes: cut, then dropped
		{"bad \xff byte", 200, "bad \uFFFD byte"},
	}
	for _, tc := range tests {
		if got := snippet([]byte(tc.in), tc.n); got != tc.want {
			t.Errorf("snippet(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestNewUUIDIsVersion4(t *testing.T) {
	a, b := newUUID(), newUUID()
	if a == b {
		t.Errorf("two UUIDs are equal: %s", a)
	}
	for _, u := range []string{a, b} {
		if len(u) != 36 || u[14] != '4' || !strings.ContainsRune("89ab", rune(u[19])) {
			t.Errorf("newUUID() = %q, want a version 4 UUID", u)
		}
	}
}
