package localcluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// loopbackClient talks to the parts: never a proxy, short timeouts.
var loopbackClient = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}, Timeout: 2 * time.Second}

// Check asks url once and returns its status and the first line of its
// body (a part that is not ready says why).
func Check(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	return resp.StatusCode, line, nil
}

// WaitHealthy polls part's health URL every 200 ms until it answers 200.
// It fails when done closes first (the process ended), ctx ends, or
// timeout passes, saying what the part last answered.
func WaitHealthy(ctx context.Context, part Part, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		status, line, err := Check(ctx, part.Health)
		switch {
		case err == nil && status == http.StatusOK:
			return nil
		case err == nil:
			last = fmt.Sprintf("%d %s", status, line)
		default:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localcluster: waiting for %s: %w", part.Name, ctx.Err())
		case <-done:
			return fmt.Errorf("localcluster: %s exited before it was ready; the end of %s:\n%s", part.Name, part.Log, Tail(part.Log, 2<<10))
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("localcluster: %s not ready after %s (%s last answered: %s); see %s", part.Name, timeout, part.Health, last, part.Log)
}
