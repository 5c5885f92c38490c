package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchboard/app/calls"
)

// Role is what a signed-in person may do. The server enforces it; the
// console only hides what the role may not do.
type Role string

// The roles, each allowed what the previous one is, and more.
const (
	// Viewer sees calls.
	Viewer Role = "viewer"
	// Supervisor also rejects, answers and hangs up calls.
	Supervisor Role = "supervisor"
	// Admin also deletes ended conversations and reads the audit log.
	Admin Role = "admin"
)

// CanAct reports whether the role may reject, answer and hang up.
func (r Role) CanAct() bool { return r == Supervisor || r == Admin }

// IsAdmin reports whether the role may delete records and read the audit.
func (r Role) IsAdmin() bool { return r == Admin }

// User is the signed-in person, as GET /api/me describes them.
type User struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// The reasons a supervisor may give when rejecting an incoming call.
const (
	RejectNone      = "none"
	RejectBusy      = "busy"
	RejectForbidden = "forbidden"
)

// EventEntry is one event of a call's history, with its log sequence.
type EventEntry struct {
	Seq   uint64      `json:"seq"`
	Event calls.Event `json:"event"`
}

// AuditEntry is one line of the audit log: who did what to which call.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
}

// APIError is an error the REST API answered with. Message is meant for
// people ("the call was already answered", "Graph refused: …").
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
}

// IsUnauthorized reports whether err says the session is missing or over:
// the console sends the person to the login page.
func IsUnauthorized(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}

// Client calls Switchboard's REST API on the console's own origin. In the
// browser, net/http's client uses fetch, which sends the session cookie.
type Client struct {
	base *url.URL
	http *http.Client
}

// NewClient returns a client of the API at base (the page's origin, such as
// "https://switchboard.example"). hc may be nil for http.DefaultClient.
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("console: API base %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("console: API base %q is not an http(s) origin", base)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: &url.URL{Scheme: u.Scheme, Host: u.Host}, http: hc}, nil
}

// Me returns the signed-in user; an *APIError with status 401 when nobody is.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.do(ctx, http.MethodGet, "/api/me", nil, &u)
	return u, err
}

// Reject rejects the incoming call id with reason (RejectNone, RejectBusy
// or RejectForbidden).
func (c *Client) Reject(ctx context.Context, id, reason string) error {
	switch reason {
	case RejectNone, RejectBusy, RejectForbidden:
	default:
		return fmt.Errorf("console: reject reason %q is not none, busy or forbidden", reason)
	}
	return c.do(ctx, http.MethodPost, "/api/calls/"+url.PathEscape(id)+"/reject", map[string]string{"reason": reason}, nil)
}

// Answer answers the incoming call id.
func (c *Client) Answer(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/api/calls/"+url.PathEscape(id)+"/answer", nil, nil)
}

// HangUp hangs up the call id.
func (c *Client) HangUp(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/calls/"+url.PathEscape(id), nil, nil)
}

// DeleteRecord deletes the ended conversation id everywhere (admins only).
func (c *Client) DeleteRecord(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/records/"+url.PathEscape(id), nil, nil)
}

// Events returns the event history of the call id, oldest first.
func (c *Client) Events(ctx context.Context, id string) ([]EventEntry, error) {
	var body struct {
		Events []EventEntry `json:"events"`
	}
	err := c.do(ctx, http.MethodGet, "/api/calls/"+url.PathEscape(id)+"/events", nil, &body)
	return body.Events, err
}

// Audit returns the latest limit entries of the audit log (admins only).
func (c *Client) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	var body struct {
		Entries []AuditEntry `json:"entries"`
	}
	err := c.do(ctx, http.MethodGet, "/api/audit?limit="+strconv.Itoa(limit), nil, &body)
	return body.Entries, err
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/auth/logout", nil, nil)
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out (when out is not nil). Non-2xx answers become *APIError.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	u := c.base.String() + path
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("console: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("console: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("could not reach Switchboard: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("console: decode %s %s: %w", method, path, err)
	}
	return nil
}

func decodeError(resp *http.Response) error {
	ae := &APIError{Status: resp.StatusCode}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &body) == nil {
		ae.Code, ae.Message = body.Error.Code, body.Error.Message
	}
	return ae
}
