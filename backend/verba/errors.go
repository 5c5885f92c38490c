package verba

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// apiError is a failure the API reports to its client: the HTTP status and
// a message that is safe to show (it never holds a key, token or password).
// Every failed request ends as one; any other error becomes a 500.
type apiError struct {
	status int
	msg    string
	// challenge asks for HTTP Basic credentials (WWW-Authenticate).
	challenge bool
	// auditNote is said in the audit trail but not to the client, such as
	// whether a refused login exists.
	auditNote string
	// retryAfter, on 429, is when the client may try again.
	retryAfter time.Duration
	// unread: the request body is left unread, so the connection is closed
	// rather than drained.
	unread bool
}

func (e *apiError) Error() string { return e.msg }

// errorf makes an apiError with the given status.
func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, format, args...)
}

func unauthorized(format string, args ...any) *apiError {
	return errorf(http.StatusUnauthorized, format, args...)
}

// retrySeconds is a wait in whole seconds, rounded up, at least 1: the
// value of Retry-After.
func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
