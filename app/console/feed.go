package console

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
)

// ErrLoggedOut ends Feed.Run when the session is over: the console sends
// the person to the login page instead of reconnecting.
var ErrLoggedOut = errors.New("console: the session ended; log in again")

// State is the state of the feed connection, as the console's indicator
// shows it.
type State int

// The states of a Feed.
const (
	// Connecting: the first connection is being made.
	Connecting State = iota
	// Live: connected and up to date.
	Live
	// Reconnecting: the connection was lost; the console retries soon and
	// shows the last known state, marked stale.
	Reconnecting
	// Offline: several attempts in a row failed; the console keeps
	// retrying, less often.
	Offline
	// LoggedOut: the session ended; the feed stopped.
	LoggedOut
	// Stalled: connected, but the server cannot follow its event log (it
	// lost NATS and is reconnecting): changes pause, the view shown may be
	// stale, and nothing needs doing; they flow again by themselves.
	Stalled
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Live:
		return "live"
	case Reconnecting:
		return "reconnecting"
	case Offline:
		return "offline"
	case LoggedOut:
		return "logged out"
	case Stalled:
		return "server reconnecting"
	default:
		return "state " + strconv.Itoa(int(s))
	}
}

// Status describes the feed connection.
type Status struct {
	State State
	// Attempts is how many connection attempts in a row failed.
	Attempts int
	// Retry is how long the feed waits before its next attempt.
	Retry time.Duration
	// Reason says in words why the last connection ended, if it did.
	Reason string
}

// Feed keeps a console connected to the live feed (GET /api/feed on a
// websocket) and puts every message in its Inbox. When the connection ends
// it reconnects with exponential backoff and jitter, resuming with
// ?since=SEQ from the last message the Inbox accepted, so that the view
// after a reconnect is exactly the view without one: the server replays
// what was missed (or sends a snapshot when it cannot), and the Inbox drops
// what it already has.
type Feed struct {
	// URL is the feed's websocket URL, ws:// or wss://, without since.
	URL string
	// Inbox receives the messages.
	Inbox *Inbox
	// OnStatus, if set, is called on the feed's goroutine each time the
	// status changes.
	OnStatus func(Status)
	// CheckSession, if set, is called after a connection attempt fails or
	// a connection is lost without a close reason the feed can read (in
	// the browser, the websocket hides both the handshake's status and
	// often the close reason). An error that IsUnauthorized ends Run with
	// ErrLoggedOut.
	CheckSession func(ctx context.Context) error
	// MinBackoff and MaxBackoff bound the wait between attempts (defaults
	// 500ms and 15s). The wait doubles with each failure, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// OfflineAfter is how many failed attempts in a row turn Reconnecting
	// into Offline (default 3).
	OfflineAfter int
	// ReadLimit caps one frame in bytes (default 64 MiB: a snapshot of
	// thousands of calls is large).
	ReadLimit int64
	// DialOptions, if set, are used for every connection. In the browser
	// the page's cookies and Origin go along by themselves; elsewhere (the
	// load tool, tests) they carry a cookie jar and an Origin header.
	DialOptions *websocket.DialOptions
}

func (f *Feed) defaults() (minB, maxB time.Duration, offline int, limit int64) {
	minB, maxB, offline, limit = f.MinBackoff, f.MaxBackoff, f.OfflineAfter, f.ReadLimit
	if minB <= 0 {
		minB = 500 * time.Millisecond
	}
	if maxB < minB {
		maxB = max(minB, 15*time.Second)
	}
	if offline <= 0 {
		offline = 3
	}
	if limit <= 0 {
		limit = 64 << 20
	}
	return minB, maxB, offline, limit
}

// Run connects and reconnects until ctx ends (it returns ctx's error) or the
// session ends (ErrLoggedOut). A URL that cannot be parsed is an error.
func (f *Feed) Run(ctx context.Context) error {
	if _, err := f.feedURL(0, false); err != nil {
		return err
	}
	minB, maxB, offlineAfter, _ := f.defaults()
	r := &run{}
	f.report(Status{State: Connecting})
	for {
		err := f.connect(ctx, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrLoggedOut) || f.sessionOver(ctx, err) {
			f.report(Status{State: LoggedOut, Reason: ErrLoggedOut.Error()})
			return ErrLoggedOut
		}
		r.reason = describe(err)
		wait := r.wait(err, minB, maxB)
		state := Reconnecting
		if r.failures >= offlineAfter {
			state = Offline
		}
		f.report(Status{State: state, Attempts: r.failures, Retry: wait, Reason: r.reason})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// run is the state one Run carries between connections.
type run struct {
	failures int    // attempts in a row that did not get a view
	fresh    bool   // the next connection must ask for a snapshot
	reason   string // why the last connection ended
	haveView bool   // a snapshot was received: since is meaningful
}

// wait is how long to wait after err before the next attempt.
func (r *run) wait(err error, minB, maxB time.Duration) time.Duration {
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Reason == feedwire.ReasonSlow {
		return jitter(minB / 4) // the server dropped us for being slow: come back at once
	}
	if errors.Is(err, ErrGap) {
		return 0
	}
	d := minB
	if r.failures > 1 {
		d = minB << min(r.failures-1, 20)
	}
	return jitter(min(d, maxB))
}

// jitter spreads d over [d/2, d], so that consoles a restart disconnected
// do not all come back in the same instant.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func (f *Feed) report(s Status) {
	if f.OnStatus != nil {
		f.OnStatus(s)
	}
}

// sessionOver asks CheckSession, when set, whether a failure was really a
// logout that the websocket could not tell.
func (f *Feed) sessionOver(ctx context.Context, err error) bool {
	if f.CheckSession == nil || err == nil {
		return false
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Reason != "" {
		return false // the server said why; it was not a logout
	}
	return IsUnauthorized(f.CheckSession(ctx))
}

func (f *Feed) feedURL(since uint64, resume bool) (string, error) {
	u, err := url.Parse(f.URL)
	if err != nil {
		return "", fmt.Errorf("console: feed URL %q: %w", f.URL, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return "", fmt.Errorf("console: feed URL %q is not ws:// or wss://", f.URL)
	}
	q := u.Query()
	q.Del("since")
	if resume {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// connect makes one connection and reads it until it ends. The error says
// why it ended.
func (f *Feed) connect(ctx context.Context, r *run) error {
	_, _, _, limit := f.defaults()
	// A view restored from the browser resumes like one received.
	resume := (r.haveView || f.Inbox.Seq() > 0) && !r.fresh
	u, err := f.feedURL(f.Inbox.Seq(), resume)
	if err != nil {
		return err
	}
	conn, resp, err := websocket.Dial(ctx, u, f.DialOptions)
	if err != nil {
		r.failures++
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return ErrLoggedOut
		}
		return fmt.Errorf("console: connect to the feed: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(limit)
	return f.read(ctx, conn, r)
}

// read puts every message of conn into the inbox until the connection ends.
func (f *Feed) read(ctx context.Context, conn *websocket.Conn, r *run) error {
	first := true
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if first {
				r.failures++
			}
			return closeReason(err)
		}
		msgs, err := feedwire.Decode(data)
		if err != nil {
			conn.Close(websocket.StatusInvalidFramePayloadData, "bad message")
			return fmt.Errorf("console: feed: %w", err)
		}
		for _, m := range msgs {
			if first {
				if m.Type != feedwire.TypeSnapshot && m.Type != feedwire.TypeResume {
					conn.Close(websocket.StatusProtocolError, "expected a snapshot or resume")
					r.failures++
					return fmt.Errorf("console: feed opened with %q, want a snapshot or resume", m.Type)
				}
				first = false
			}
			if m.Type == feedwire.TypeStatus {
				f.reportServer(m)
				continue
			}
			if err := f.Inbox.Put(m); errors.Is(err, ErrStaleSnapshot) {
				// Keep the rows and the sequence; come back (here or to
				// another replica) once the server has caught up.
				conn.Close(websocket.StatusNormalClosure, "stale snapshot")
				r.failures++
				return err
			} else if err != nil {
				conn.Close(websocket.StatusNormalClosure, "resync")
				r.fresh = true
				return err
			}
			if m.Type == feedwire.TypeSnapshot {
				r.haveView, r.fresh = true, false
			}
			if m.Type == feedwire.TypeSnapshot || m.Type == feedwire.TypeResume {
				r.failures, r.reason = 0, ""
				f.report(Status{State: Live})
			}
		}
	}
}

// reportServer reports a status message: the server's trouble, or the end
// of it.
func (f *Feed) reportServer(m feedwire.Message) {
	if m.Trouble != "" {
		f.report(Status{State: Stalled, Reason: m.Trouble})
		return
	}
	f.report(Status{State: Live})
}

// closeReason turns a read error into the server's close reason when it
// gave one, and ErrLoggedOut when that reason is a logout.
func closeReason(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Reason == feedwire.ReasonLoggedOut {
		return ErrLoggedOut
	}
	return err
}

// describe says in words why a connection ended.
func describe(err error) string {
	var ce websocket.CloseError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce) && ce.Reason == feedwire.ReasonSlow:
		return "the console fell behind the feed"
	case errors.As(err, &ce) && ce.Reason == feedwire.ReasonShutdown:
		return "the server is restarting"
	case errors.As(err, &ce) && ce.Reason == feedwire.ReasonStarting:
		return "the server is starting"
	case errors.As(err, &ce) && ce.Reason != "":
		return ce.Reason
	case errors.Is(err, ErrGap):
		return "events were missed; reloading the view"
	case errors.Is(err, ErrStaleSnapshot):
		return "the server is still catching up; keeping the last view"
	default:
		return "connection lost"
	}
}
