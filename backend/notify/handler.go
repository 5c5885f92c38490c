package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/netip"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/apierror"
	"switchboard/backend/audit"
	"switchboard/backend/clientaddr"
	"switchboard/backend/eventlog"
	"switchboard/backend/metrics"
	"switchboard/backend/natsrun"
	"switchboard/backend/ratelimit"
	"switchboard/backend/reqbody"
)

// MaxBody is the largest notification body accepted (1 MiB).
const MaxBody = 1 << 20

// DefaultBodyTimeout is how long a notification's body may take to arrive
// when Handler.BodyTimeout is zero. Graph sends a few kilobytes and wants
// its answer within about 5 s.
const DefaultBodyTimeout = 10 * time.Second

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
//
// The token is checked before the body is read: a refused request is
// answered at once and its connection closed, without reading or waiting
// for its body. Refusals count against the sender's address (Limit); an
// address over its limit is answered 429 with Retry-After instead of 401.
// A body slower than BodyTimeout is cut with 408.
type Handler struct {
	Log Appender
	// Verify checks the caller; nil accepts any caller (local experiments only).
	Verify Verifier
	// Timeout bounds the wait for the log (default 4s, inside Graph's ~5s).
	Timeout time.Duration
	// BodyTimeout bounds the time to receive the body, from the moment the
	// token is accepted (default DefaultBodyTimeout).
	BodyTimeout time.Duration
	// Limit counts refused tokens per client address; nil counts nothing.
	Limit *ratelimit.Limiter
	// ClientAddr says which address a request comes from (default the
	// connection's peer).
	ClientAddr func(*http.Request) netip.Addr
	// Floods records refused tokens in the audit trail, a flood as one
	// entry; nil records nothing.
	Floods *audit.Floods
	Now    func() time.Time
	// Refused, if set, hears every notification the log could not store,
	// with the cause (see natsrun.Cause), so the replica stops saying it
	// is ready.
	Refused func(cause string, err error)
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// refusal is an answer other than 202, with what to count and say.
type refusal struct {
	outcome string // the metrics label
	status  int
	err     error
	// unread: the body is not read (or was cut), so the connection is
	// closed rather than drained.
	unread bool
	// retryAfter is set on 429.
	retryAfter time.Duration
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ref := h.handle(w, r)
	if ref == nil {
		h.Metrics.Notification("accepted", time.Since(start))
		w.WriteHeader(http.StatusAccepted)
		return
	}
	h.Metrics.Notification(ref.outcome, time.Since(start))
	var ns *notStored
	if errors.As(ref.err, &ns) {
		h.Metrics.Refuse(ns.cause)
		if h.Refused != nil {
			h.Refused(ns.cause, ns.err)
		}
		h.logger().Error("notification not stored; Graph will retry", "cause", ns.cause, "err", ns.err)
		w.Header().Set("Retry-After", "1")
	}
	if ref.unread {
		reqbody.Abandon(w)
	}
	switch ref.status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case http.StatusTooManyRequests:
		ratelimit.RetryAfter(w, ref.retryAfter)
	}
	apierror.Write(w, ref.status, apierror.CodeFor(ref.status), ref.err.Error())
}

func (h *Handler) handle(w http.ResponseWriter, r *http.Request) *refusal {
	if r.Method != http.MethodPost {
		return &refusal{"method_not_allowed", http.StatusMethodNotAllowed, errors.New("notifications are POSTed"), true, 0}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &refusal{"unsupported_type", http.StatusUnsupportedMediaType, errors.New("Content-Type must be application/json"), true, 0}
	}
	if h.Verify != nil {
		if err := h.Verify.Verify(r.Context(), r); err != nil {
			return h.refuseToken(r, err)
		}
	}
	timeout := h.BodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	body, err := reqbody.Read(w, r, MaxBody, timeout)
	switch {
	case errors.Is(err, reqbody.ErrTooSlow):
		return &refusal{"too_slow", http.StatusRequestTimeout,
			fmt.Errorf("the notification body did not arrive within %v", timeout), true, 0}
	case errors.Is(err, reqbody.ErrTooLarge):
		return &refusal{"too_large", http.StatusRequestEntityTooLarge, errors.New("notification body is larger than 1 MiB"), true, 0}
	case err != nil:
		return &refusal{"bad_request", http.StatusBadRequest, errors.New("could not read the body"), true, 0}
	}
	items, err := Decode(body)
	if err != nil {
		return &refusal{"bad_request", http.StatusBadRequest, err, false, 0}
	}
	if err := h.store(r.Context(), deliveryID(body), items); err != nil {
		return &refusal{"log_error", http.StatusServiceUnavailable, &notStored{cause: natsrun.Cause(err), err: err}, false, 0}
	}
	return nil
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

// refuseToken answers a refused token: 401, or 429 once the sender's
// address has been refused too often. Either way it is audited (a flood
// as one entry) and the body is left unread.
func (h *Handler) refuseToken(r *http.Request, err error) *refusal {
	from := clientaddr.Peer(r)
	if h.ClientAddr != nil {
		from = h.ClientAddr(r)
	}
	ref := &refusal{"unauthorized", http.StatusUnauthorized, err, true, 0}
	wait, ok := time.Duration(0), true
	if h.Limit != nil {
		wait, ok = h.Limit.Spend(from)
	}
	if !ok {
		ref.outcome, ref.status, ref.retryAfter = "rate_limited", http.StatusTooManyRequests, wait
		ref.err = fmt.Errorf("too many refused notifications from %s; retry after %d s", from, int(math.Ceil(wait.Seconds())))
	}
	if h.Floods != nil {
		h.Floods.Record(context.WithoutCancel(r.Context()), audit.Failure{Kind: "refused notifications", From: ratelimit.Key(from),
			Refused: !ok, Entry: audit.Entry{Actor: "anonymous", Action: audit.ActionNotificationRefused,
				Outcome: "notification token refused: " + err.Error(), Remote: from.String()}})
	}
	return ref
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
