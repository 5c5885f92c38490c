package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Graph's numeric error codes for calls that callers act upon.
const (
	// CodeCallNotFound is Graph's code for a call that no longer exists.
	CodeCallNotFound = "8522"
)

// maxErrorSnippet is how much of a non-JSON error body an Error keeps.
const maxErrorSnippet = 200

// Error is a failure reported by Graph: a response whose status is not a
// success. It carries what Graph says about the failure, so that logs and
// support cases can quote it.
type Error struct {
	Op     string // the operation: "answer", "reject", "redirect", "transfer", "mute", "hangup", "keepalive", "get" or "user"
	CallID string // the call acted upon (for "user", the user looked up)

	Status  int    // the HTTP status code
	Code    string // Graph's error code, such as "8522"; empty if the body had none
	Message string // Graph's message, or the start of a non-JSON body

	RequestID       string // Graph's request-id, for support cases
	ClientRequestID string // the client-request-id this client sent
	Date            string // when Graph handled the request, as Graph wrote it

	// RetryAfter is how long Graph asked the client to wait before trying
	// again (429 and 503), or the wait the client would have made next
	// when it stopped retrying. Zero when neither applies.
	RetryAfter time.Duration
}

// Error describes the failure in one line, for example
// "graph: reject call 57dab8b1…: 404 Call not found (8522, request-id 1f2e…)".
func (e *Error) Error() string {
	var b strings.Builder
	what := "call"
	if e.Op == opUser {
		what = "of"
	}
	fmt.Fprintf(&b, "graph: %s %s %s: %d ", e.Op, what, e.CallID, e.Status)
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(http.StatusText(e.Status))
	}
	var details []string
	if e.Code != "" {
		details = append(details, e.Code)
	}
	if e.RequestID != "" {
		details = append(details, "request-id "+e.RequestID)
	}
	if len(details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(details, ", "))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %v", e.RetryAfter)
	}
	return b.String()
}

// IsNotFound reports whether err says the call does not exist (any more):
// status 404 or Graph code 8522. Callers treat such a call as ended.
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Status == http.StatusNotFound || e.Code == CodeCallNotFound
}

// IsThrottled reports whether err is Graph throttling the application
// (status 429). Its Error's RetryAfter says when to try again.
func IsThrottled(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusTooManyRequests
}

// errorBody is Graph's error response:
// {"error":{"code","message","innerError":{"request-id","date"}}}.
// encoding/json matches keys case-insensitively, so the "innererror"
// spelling some services use decodes as well.
type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Code      string `json:"code"`
			RequestID string `json:"request-id"`
			Date      string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

// newError builds the Error for a failed response from its status, headers
// and (possibly truncated) body. Headers fill in what the body lacks.
func newError(op, callID, clientRequestID string, resp *http.Response, body []byte) *Error {
	e := &Error{
		Op:              op,
		CallID:          callID,
		Status:          resp.StatusCode,
		ClientRequestID: clientRequestID,
		RequestID:       resp.Header.Get("request-id"),
		Date:            resp.Header.Get("Date"),
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		e.Code = eb.Error.Code
		if e.Code == "" {
			e.Code = eb.Error.InnerError.Code
		}
		e.Message = eb.Error.Message
		e.RequestID = firstNonEmpty(eb.Error.InnerError.RequestID, e.RequestID)
		e.Date = firstNonEmpty(eb.Error.InnerError.Date, e.Date)
	} else {
		e.Message = snippet(body, maxErrorSnippet)
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	return e
}

// snippet returns up to n bytes of body as one line of valid UTF-8.
func snippet(body []byte, n int) string {
	if len(body) > n {
		body = body[:n]
		for len(body) > 0 && !utf8.Valid(body) {
			body = body[:len(body)-1] // drop a rune cut in half
		}
	}
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	return strings.Join(strings.Fields(s), " ")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
