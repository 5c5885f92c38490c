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

	"switchboard/app/feedwire"
	"switchboard/app/history"
	"switchboard/app/verbs"
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

// CanAct reports whether the role may act on calls (answer, reject,
// redirect, transfer, hang up, mute).
func (r Role) CanAct() bool { return verbs.Role(r).Allows(verbs.Supervisor) }

// IsAdmin reports whether the role may delete records and read the audit.
func (r Role) IsAdmin() bool { return verbs.Role(r).Allows(verbs.Admin) }

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
type EventEntry = history.Entry

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
	return "the server answered " + strconv.Itoa(e.Status) + " " + statusText(e.Status)
}

// statusText names the statuses the API uses, without net/http's table.
func statusText(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 409:
		return "Conflict"
	case 500:
		return "Internal Server Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	default:
		return ""
	}
}

// IsUnauthorized reports whether err says the session is missing or over:
// the console sends the person to the login page.
func IsUnauthorized(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == 401
}

// Request is one REST request, as a Transport sends it.
type Request struct {
	Method string
	// URL is absolute.
	URL string
	// Body is JSON, or nil.
	Body []byte
}

// Response is a Transport's answer: the status and the whole body.
type Response struct {
	Status int
	Body   []byte
}

// Transport sends REST requests. In the browser the console uses fetch
// directly (package ui): Go's net/http client would add megabytes to the
// WebAssembly file for a transport fetch already is. HTTPTransport serves
// hosts and tests.
type Transport interface {
	RoundTrip(ctx context.Context, r Request) (Response, error)
}

// HTTPTransport sends requests with a net/http client.
type HTTPTransport struct {
	// Client is the client to use; nil means http.DefaultClient.
	Client *http.Client
}

// RoundTrip implements Transport.
func (t HTTPTransport) RoundTrip(ctx context.Context, r Request) (Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := t.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Body: data}, nil
}

// Client calls Switchboard's REST API on the console's own origin.
type Client struct {
	base string
	t    Transport
}

// NewClient returns a client of the API at base (the page's origin, such as
// "https://switchboard.example"), sending requests with t.
func NewClient(base string, t Transport) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("console: API base %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("console: API base %q is not an http(s) origin", base)
	}
	if t == nil {
		return nil, errors.New("console: NewClient needs a transport")
	}
	return &Client{base: u.Scheme + "://" + u.Host, t: t}, nil
}

// Me returns the signed-in user; an *APIError with status 401 when nobody is.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.do(ctx, "GET", "/api/me", nil, &u)
	return u, err
}

// Act is one action to send: the verb, the call, and what the action's
// input asked for.
type Act struct {
	Verb   verbs.Verb
	CallID string
	// Reason is the reject reason (RejectNone, RejectBusy, RejectForbidden).
	Reason string
	// Target is where a redirect or transfer sends the call, as typed.
	Target string
	// Participant is the participant an action on one participant acts on.
	Participant string
	// Override takes the action even though someone else has claimed the
	// call: the supervisor was told who and chose to act anyway.
	Override bool
}

// Act sends an action the way the action contract says: its method and
// route, and the body its input needs. A verb the contract does not list,
// a bad reason or a bad target is an error, and nothing is sent.
func (c *Client) Act(ctx context.Context, a Act) error {
	spec, err := verbs.Lookup(a.Verb)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if !spec.Offered() {
		return fmt.Errorf("console: %s is taken by Switchboard alone", spec.Words)
	}
	var body any
	switch spec.Input {
	case verbs.AskReason:
		switch a.Reason {
		case RejectNone, RejectBusy, RejectForbidden:
		default:
			return fmt.Errorf("console: reject reason %q is not none, busy or forbidden", a.Reason)
		}
		body = map[string]string{"reason": a.Reason}
	case verbs.AskTarget:
		t, err := verbs.ParseTarget(a.Target)
		if err != nil {
			return err
		}
		body = map[string]string{"target": t.ID}
	case verbs.AskParticipant:
		if a.Participant == "" {
			return fmt.Errorf("console: %s needs a participant", spec.Words)
		}
	}
	path := spec.Path(a.CallID, a.Participant)
	if a.Override {
		path += "?override=1"
	}
	return c.do(ctx, spec.Method, path, body, nil)
}

// Bulk takes the action verb on every call of ids at once, through the
// contract's bulk route, and returns each call's outcome; with override,
// also on calls someone else has claimed. A verb with no bulk route, or a
// list the contract refuses (empty, more than verbs.MaxBulk), is an
// error, and nothing is sent.
func (c *Client) Bulk(ctx context.Context, verb verbs.Verb, ids []string, override bool) (verbs.BulkResult, error) {
	var res verbs.BulkResult
	spec, err := verbs.Lookup(verb)
	if err != nil {
		return res, fmt.Errorf("console: %w", err)
	}
	if spec.Bulk == "" {
		return res, fmt.Errorf("console: Switchboard cannot %s calls in bulk", spec.Words)
	}
	req := verbs.BulkRequest{Calls: ids, Override: override}
	if _, err := req.CallIDs(); err != nil {
		return res, fmt.Errorf("console: %w", err)
	}
	err = c.do(ctx, "POST", spec.Bulk, req, &res)
	return res, err
}

// Claim takes a short claim on the call id for verb, as a console does
// when it opens the action's dialog. It reports whether the claim is this
// session's (mine), or returns the claim someone else holds.
func (c *Client) Claim(ctx context.Context, id string, verb verbs.Verb) (held feedwire.Claim, mine bool, err error) {
	body, err := json.Marshal(map[string]verbs.Verb{"verb": verb})
	if err != nil {
		return held, false, fmt.Errorf("console: encode a claim: %w", err)
	}
	resp, err := c.t.RoundTrip(ctx, Request{Method: "POST", URL: c.base + claimPath(id), Body: body})
	if err != nil {
		return held, false, fmt.Errorf("could not reach Switchboard: %w", err)
	}
	var ans struct {
		Claim feedwire.Claim `json:"claim"`
	}
	switch {
	case resp.Status == 201 && json.Unmarshal(resp.Body, &ans) == nil:
		return ans.Claim, true, nil
	case resp.Status == 409 && json.Unmarshal(resp.Body, &ans) == nil && ans.Claim.Holder != "":
		return ans.Claim, false, nil
	}
	return held, false, decodeError(resp)
}

// Release gives back this session's claim on the call id.
func (c *Client) Release(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", claimPath(id), nil, nil)
}

func claimPath(id string) string { return "/api/calls/" + url.PathEscape(id) + "/claim" }

// Reject rejects the incoming call id with reason (RejectNone, RejectBusy
// or RejectForbidden).
func (c *Client) Reject(ctx context.Context, id, reason string) error {
	return c.Act(ctx, Act{Verb: verbs.Reject, CallID: id, Reason: reason})
}

// Answer answers the incoming call id.
func (c *Client) Answer(ctx context.Context, id string) error {
	return c.Act(ctx, Act{Verb: verbs.Answer, CallID: id})
}

// HangUp hangs up the call id.
func (c *Client) HangUp(ctx context.Context, id string) error {
	return c.Act(ctx, Act{Verb: verbs.HangUp, CallID: id})
}

// DeleteRecord deletes the ended conversation id everywhere (admins only).
func (c *Client) DeleteRecord(ctx context.Context, id string) error {
	return c.Act(ctx, Act{Verb: verbs.Delete, CallID: id})
}

// Events returns the event history of the call id, oldest first.
func (c *Client) Events(ctx context.Context, id string) ([]EventEntry, error) {
	var body struct {
		Events []EventEntry `json:"events"`
	}
	err := c.do(ctx, "GET", "/api/calls/"+url.PathEscape(id)+"/events", nil, &body)
	return body.Events, err
}

// Audit returns the latest limit entries of the audit log (admins only).
func (c *Client) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	var body struct {
		Entries []AuditEntry `json:"entries"`
	}
	err := c.do(ctx, "GET", "/api/audit?limit="+strconv.Itoa(limit), nil, &body)
	return body.Entries, err
}

// Logout ends the session and returns where the browser goes next: the
// identity provider's end-session page when it has one (so the provider's
// session ends too, and the same user is not signed straight back in), or
// Switchboard's signed-out page.
func (c *Client) Logout(ctx context.Context) (string, error) {
	var out struct {
		Redirect string `json:"redirect"`
	}
	if err := c.do(ctx, "POST", "/auth/logout", nil, &out); err != nil {
		return "", err
	}
	return out.Redirect, nil
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out (when out is not nil). Non-2xx answers become *APIError.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	req := Request{Method: method, URL: c.base + path}
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("console: encode %s %s: %w", method, path, err)
		}
		req.Body = data
	}
	resp, err := c.t.RoundTrip(ctx, req)
	if err != nil {
		return fmt.Errorf("could not reach Switchboard: %w", err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return decodeError(resp)
	}
	if out == nil || len(resp.Body) == 0 && resp.Status == 204 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("console: decode %s %s: %w", method, path, err)
	}
	return nil
}

func decodeError(resp Response) error {
	ae := &APIError{Status: resp.Status}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.Body, &body) == nil {
		ae.Code, ae.Message = body.Error.Code, body.Error.Message
	}
	return ae
}
