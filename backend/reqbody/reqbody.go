// Package reqbody reads request bodies under a deadline and a size limit,
// so that a client sending its body too slowly is cut off (408) instead of
// holding a connection, and refuses requests without reading, or waiting
// for, a body it does not want.
//
// The deadline is set on the connection with http.ResponseController, per
// request, so each door chooses its own: the server-wide ReadTimeout stays
// a backstop for the others.
package reqbody

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// The errors Classify returns, wrapping the read's own.
var (
	// ErrTooSlow is a body that did not arrive within its deadline: answer
	// 408.
	ErrTooSlow = errors.New("request body too slow")
	// ErrTooLarge is a body over its size limit: answer 413.
	ErrTooLarge = errors.New("request body too large")
)

// Limit returns r's body limited to max bytes and to timeout from now (no
// deadline when timeout is zero). Reading past either fails; Classify tells
// which. net/http lifts the deadline once the body has been read to its
// end, so a handler still working on its answer does not trip it.
func Limit(w http.ResponseWriter, r *http.Request, max int64, timeout time.Duration) io.Reader {
	if timeout > 0 {
		// A connection without deadlines (a test recorder) keeps the
		// server's own limits: nothing more to do.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
	}
	return http.MaxBytesReader(w, r.Body, max)
}

// Read reads the whole body under Limit, and classifies any error.
func Read(w http.ResponseWriter, r *http.Request, max int64, timeout time.Duration) ([]byte, error) {
	data, err := io.ReadAll(Limit(w, r, max, timeout))
	return data, Classify(err)
}

// Classify wraps err in ErrTooSlow when the read was cut by the deadline,
// in ErrTooLarge when the body was over its limit, and returns it as is
// otherwise (nil included).
func Classify(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTooSlow), errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTooSlow, err)
	case errors.As(err, &tooBig):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

// Abandon makes the answer about to be written on w the connection's last,
// without reading what remains of the request body: Connection: close, and
// the read deadline moved to now, so that the server neither drains a slow
// body before answering nor waits for it after. Call it before writing the
// answer to a request whose body is refused unread, or was cut.
func Abandon(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}
