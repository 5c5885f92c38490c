package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// userAgent names Switchboard in every request, so that Graph's logs and
// support engineers can tell its traffic apart.
const userAgent = "Switchboard/1.0 (Graph calls console)"

// maxResponseBody bounds how much of a response body the client reads.
// A call resource is a few kilobytes; anything near this limit is wrong.
const maxResponseBody = 1 << 20

// op is one Graph operation on a call: what to send, and whether sending
// it twice is harmless (which allows retrying after network failures).
type op struct {
	name       string // "answer", "reject", …: for errors, logs and Observe
	method     string
	callID     string
	action     string // path after the call id, already escaped; empty for the call itself
	path       string // a path under the service root instead of the call's, already escaped
	body       []byte // JSON to send; nil for none
	idempotent bool
}

// url returns the operation's URL under base, with the call id escaped so
// that no id can reach another path.
func (o *op) url(base string) string {
	if o.path != "" {
		return base + o.path
	}
	u := base + "/communications/calls/" + url.PathEscape(o.callID)
	if o.action != "" {
		u += "/" + o.action
	}
	return u
}

// do performs o, retrying as the Client's policy allows, and returns the
// body of the successful response.
//
// All attempts share one client-request-id, so that Graph's logs tie them
// together; retries also carry Retry-Attempt, as Microsoft's SDKs send.
func (c *Client) do(ctx context.Context, o *op) ([]byte, error) {
	clientRequestID := newUUID()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		body, err := c.attempt(ctx, o, clientRequestID, attempt)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, c.stopped(ctx, o, err)
		}
		wait, ok := c.retryWait(o, err, attempt)
		if !ok {
			return nil, err
		}
		if attempt >= c.maxAttempts || waited+wait > c.retryBudget || !fitsDeadline(ctx, wait) {
			return nil, withRetryAfter(err, wait)
		}
		c.log.WarnContext(ctx, "graph: retrying", "op", o.name, "call", o.callID,
			"attempt", attempt, "wait", wait, "err", err)
		if serr := sleep(ctx, wait); serr != nil {
			return nil, c.stopped(ctx, o, err)
		}
		waited += wait
	}
}

// stopped reports that ctx ended the operation, keeping the last failure
// reachable with errors.As.
func (c *Client) stopped(ctx context.Context, o *op, last error) error {
	cause := context.Cause(ctx)
	if errors.Is(last, cause) {
		return last
	}
	return fmt.Errorf("graph: %s call %s: %w (last attempt: %w)", o.name, o.callID, cause, last)
}

// withRetryAfter records in a Graph error the wait the client would have
// made, when Graph did not say; callers then know when to try again.
func withRetryAfter(err error, wait time.Duration) error {
	var ge *Error
	if errors.As(err, &ge) && ge.RetryAfter == 0 {
		ge.RetryAfter = wait
	}
	return err
}

// attempt sends o once and returns the successful response's body, or an
// *Error for a failure status, or an error wrapping *netError when no
// response arrived.
func (c *Client) attempt(ctx context.Context, o *op, clientRequestID string, n int) ([]byte, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, fmt.Errorf("graph: %s call %s: %w", o.name, o.callID, err)
	}
	req, err := c.newRequest(ctx, o, clientRequestID, n)
	if err != nil {
		return nil, err
	}
	tok.SetAuthHeader(req)

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observed(o, 0, time.Since(start))
		return nil, fmt.Errorf("graph: %s call %s: %w", o.name, o.callID, &netError{err})
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	c.observed(o, resp.StatusCode, time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("graph: %s call %s: read %d response: %w",
			o.name, o.callID, resp.StatusCode, &netError{err})
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newError(o.name, o.callID, clientRequestID, resp, body)
	}
	if len(body) > maxResponseBody {
		return nil, fmt.Errorf("graph: %s call %s: response body exceeds %d bytes",
			o.name, o.callID, maxResponseBody)
	}
	return body, nil
}

// newRequest builds attempt n of o. The body is rebuilt from o.body every
// time (and GetBody is set), so retries and redirects resend it whole.
func (c *Client) newRequest(ctx context.Context, o *op, clientRequestID string, n int) (*http.Request, error) {
	var body io.Reader
	if o.body != nil {
		body = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, o.url(c.base), body)
	if err != nil {
		return nil, fmt.Errorf("graph: %s call %s: build request: %w", o.name, o.callID, err)
	}
	if o.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("client-request-id", clientRequestID)
	if n > 1 {
		req.Header.Set("Retry-Attempt", fmt.Sprint(n-1))
	}
	return req, nil
}

// observed reports one attempt to Config.Observe, if set.
func (c *Client) observed(o *op, status int, d time.Duration) {
	if c.observe != nil {
		c.observe(o.name, status, d)
	}
}

// newUUID returns a random (version 4) UUID, the form Graph expects in
// client-request-id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
