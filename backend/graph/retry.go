package graph

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBackoff caps the exponential backoff between two attempts.
const maxBackoff = 8 * time.Second

// maxRetryAfter caps a Retry-After value so that absurd values cannot
// overflow a time.Duration; any such wait exceeds every sane budget anyway.
const maxRetryAfter = 24 * time.Hour

// netError marks a failure to get any response from Graph: the request may
// or may not have reached it, so only idempotent operations repeat it.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// retryable reports whether a Graph response status is worth another
// attempt. Throttling and 503 are always retried: Graph has not acted.
// Gateway failures are retried only when repeating cannot act twice.
func retryable(status int, idempotent bool) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return idempotent
	}
	return false
}

// retryWait decides whether the failed attempt number attempt (from 1)
// deserves another one, and after how long.
func (c *Client) retryWait(o *op, err error, attempt int) (time.Duration, bool) {
	var ge *Error
	if errors.As(err, &ge) {
		if !retryable(ge.Status, o.idempotent) {
			return 0, false
		}
		if ge.RetryAfter > 0 {
			return ge.RetryAfter, true
		}
		return backoff(c.backoffBase, attempt), true
	}
	var ne *netError
	if errors.As(err, &ne) && o.idempotent {
		return backoff(c.backoffBase, attempt), true
	}
	return 0, false
}

// backoff returns the wait after failed attempt number attempt (from 1):
// base doubled per attempt, capped at maxBackoff (or base, if larger),
// with "equal jitter" (a random wait between half and all of it).
func backoff(base time.Duration, attempt int) time.Duration {
	limit := max(maxBackoff, base)
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	half := d / 2
	return half + rand.N(d-half+1)
}

// fitsDeadline reports whether waiting d still leaves time before ctx's
// deadline, if it has one.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// parseRetryAfter reads a Retry-After header value: whole seconds ("120"),
// fractional seconds as Graph sometimes sends ("0.5"), or an HTTP date,
// which is turned into a wait relative to now (zero if already past).
// It reports false for an empty or malformed value.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDecimal(v) {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// isDecimal reports whether s is digits with at most one decimal point and
// at least one digit: no sign, exponent, NaN or Inf.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}
