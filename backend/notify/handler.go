package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/apierror"
	"switchboard/backend/eventlog"
	"switchboard/backend/metrics"
	"switchboard/backend/natsrun"
)

// MaxBody is the largest notification body accepted (1 MiB).
const MaxBody = 1 << 20

// Appender durably stores events; *eventlog.Log implements it.
type Appender interface {
	Append(ctx context.Context, entries []eventlog.Entry) (duplicates int, err error)
}

// Verifier checks the bearer token Graph sends with each notification.
type Verifier interface {
	Verify(ctx context.Context, r *http.Request) error
}

// Handler is the webhook Graph posts call notifications to
// (POST /api/graph/notifications). It answers 202 only after every event
// is stored: an acknowledged notification is never lost.
type Handler struct {
	Log Appender
	// Verify checks the caller; nil accepts any caller (local experiments only).
	Verify Verifier
	// Timeout bounds the wait for the log (default 4s, inside Graph's ~5s).
	Timeout time.Duration
	Now     func() time.Time
	// Refused, if set, hears every notification the log could not store,
	// with the cause (see natsrun.Cause), so the replica stops saying it
	// is ready.
	Refused func(cause string, err error)
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	outcome, status, err := h.handle(r)
	h.Metrics.Notification(outcome, time.Since(start))
	if err != nil {
		var ns *notStored
		if errors.As(err, &ns) {
			h.Metrics.Refuse(ns.cause)
			if h.Refused != nil {
				h.Refused(ns.cause, ns.err)
			}
			h.logger().Error("notification not stored; Graph will retry", "cause", ns.cause, "err", ns.err)
			w.Header().Set("Retry-After", "1")
		}
		apierror.Write(w, status, apierror.CodeFor(status), err.Error())
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *Handler) handle(r *http.Request) (outcome string, status int, err error) {
	if r.Method != http.MethodPost {
		return "method_not_allowed", http.StatusMethodNotAllowed, errors.New("notifications are POSTed")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "unsupported_type", http.StatusUnsupportedMediaType, errors.New("Content-Type must be application/json")
	}
	if h.Verify != nil {
		if err := h.Verify.Verify(r.Context(), r); err != nil {
			return "unauthorized", http.StatusUnauthorized, err
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "too_large", http.StatusRequestEntityTooLarge, errors.New("notification body is larger than 1 MiB")
		}
		return "bad_request", http.StatusBadRequest, errors.New("could not read the body")
	}
	items, err := Decode(body)
	if err != nil {
		return "bad_request", http.StatusBadRequest, err
	}
	if err := h.store(r.Context(), deliveryID(body), items); err != nil {
		return "log_error", http.StatusServiceUnavailable, &notStored{cause: natsrun.Cause(err), err: err}
	}
	return "accepted", http.StatusAccepted, nil
}

// notStored is a notification the log could not store: the answer says
// "retry" and why in a word; the log line has the whole error.
type notStored struct {
	cause string
	err   error
}

func (e *notStored) Error() string {
	return "notification not stored (" + e.cause + "); retry"
}

func (e *notStored) Unwrap() error { return e.err }

// deliveryID names a request body: Graph redelivers a notification body
// as it was, so the same body is the same delivery.
func deliveryID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:12])
}

func (h *Handler) store(ctx context.Context, delivery string, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	at := now().UTC()
	entries := make([]eventlog.Entry, len(items))
	perCall := make(map[string]int, len(items))
	for i, it := range items {
		ch := it.Change
		entries[i] = eventlog.Entry{ID: it.ID, Delivery: delivery, Index: perCall[it.CallID],
			Event: calls.Event{Kind: calls.KindNotification, CallID: it.CallID, At: at, Change: &ch}}
		perCall[it.CallID]++
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 4 * time.Second
	}
	// The log write must finish even if Graph hangs up: what is stored stays stored.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	dups, err := h.Log.Append(ctx, entries)
	for range dups {
		h.Metrics.Duplicate()
	}
	for range len(entries) - dups {
		h.Metrics.Event(string(calls.KindNotification))
	}
	if err != nil {
		return err
	}
	return nil
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
