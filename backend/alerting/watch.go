package alerting

import (
	"context"
	"log/slog"
	"time"

	"switchboard/app/alerts"
	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/metrics"
)

// View is the live view the alerts are evaluated on.
type View interface {
	// Unordered appends every call to dst, in any order, and returns the
	// extended slice: the rules need no order, a sorted copy of a big view
	// every second costs more than the evaluation, and a round that reuses
	// its slice does not hand the collector tens of megabytes a second.
	Unordered(dst []calls.Call) []calls.Call
	// ActiveAlerts counts the alerts the calls hold.
	ActiveAlerts() int
	Get(id string) (calls.Call, bool)
	// Writer reports whether this replica holds the writer lease: only
	// that replica writes alert events.
	Writer() bool
}

// Log stores alert events.
type Log interface {
	Append(ctx context.Context, entries []eventlog.Entry) (int, error)
}

// RuleSource gives the current rule set (*Rules is the real one).
type RuleSource interface {
	Load(ctx context.Context) (alerts.Document, error)
}

// MaxPerRound bounds the alert events one round writes: a new rule that
// many calls breach at once raises its alerts over a few rounds, and the
// round stays short.
const MaxPerRound = 500

// Watcher evaluates the rules once a round and writes the alert events
// that bring the calls' alerts in line with what they breach.
type Watcher struct {
	Rules RuleSource
	View  View
	Log   Log
	// Every is the time between rounds (default 1s): an alert fires
	// within about this much of its threshold.
	Every   time.Duration
	Now     func() time.Time
	Metrics *metrics.Metrics
	Logger  *slog.Logger

	// Owned by Run's goroutine. pending holds the events written and not
	// yet seen in the view, with when to stop waiting for them; rules is
	// the last rule set read, used while the bucket does not answer.
	// calls is the round's copy of the view, kept (emptied) for the next
	// while there are rules.
	pending map[pendingKey]time.Time
	rules   []alerts.Rule
	failing bool
	calls   []calls.Call
}

type pendingKey struct {
	call, rule string
	op         calls.AlertOp
}

// Run evaluates the rules every round until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	every := w.Every
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Round(ctx)
		}
	}
}

// Round runs one evaluation: every replica tells /metrics how many alerts
// its view holds (the view keeps the count); the writer replica also reads
// the rules, evaluates them and writes the alert events. It returns how
// many events it wrote.
func (w *Watcher) Round(ctx context.Context) int {
	active := w.View.ActiveAlerts()
	w.Metrics.ActiveAlerts(active)
	if !w.View.Writer() {
		w.pending = nil // a writer to be starts afresh from its view
		return 0
	}
	now := w.now()
	rules := w.load(ctx)
	w.forget(now)
	if len(rules) == 0 && len(w.pending) == 0 && active == 0 {
		// No rule to evaluate and no alert to clear: a big view is not
		// copied for nothing, and the copy of a round before is let go.
		w.calls = nil
		return 0
	}
	cs := w.View.Unordered(w.calls[:0]) // read after forget: what it forgot is in this view
	defer func() {
		clear(cs) // hold no call past the round
		w.calls = cs[:0]
	}()
	written := 0
	for _, ch := range alerts.Evaluate(rules, cs, now) {
		if written >= MaxPerRound || ctx.Err() != nil {
			break
		}
		key := pendingKey{ch.CallID, ch.Note.Rule, ch.Note.Op}
		if _, waiting := w.pending[key]; waiting {
			continue
		}
		if w.write(ctx, ch, now) {
			w.pending[key] = now.Add(5 * w.every())
			written++
		}
	}
	return written
}

// load reads the rules, or keeps the last ones read when the bucket does
// not answer (saying so once per outage).
func (w *Watcher) load(ctx context.Context) []alerts.Rule {
	doc, err := w.Rules.Load(ctx)
	if err != nil {
		if !w.failing {
			w.logger().Warn("alerts: reading the rules failed; evaluating the last ones read", "err", err)
		}
		w.failing = true
		return w.rules
	}
	if w.failing {
		w.logger().Info("alerts: reading the rules again")
	}
	w.failing = false
	w.rules = doc.Rules
	return w.rules
}

// forget drops the pending events the view shows, and those it has had
// time to show: if one is still asked for, its write was lost and is
// written again.
func (w *Watcher) forget(now time.Time) {
	if w.pending == nil {
		w.pending = make(map[pendingKey]time.Time)
	}
	for k, until := range w.pending {
		if !now.Before(until) || w.shown(k) {
			delete(w.pending, k)
		}
	}
}

// shown reports whether the view already shows the pending event k.
func (w *Watcher) shown(k pendingKey) bool {
	c, ok := w.View.Get(k.call)
	if !ok {
		return true // gone from the view: nothing to wait for
	}
	a, alerted := c.Alert(k.rule)
	switch k.op {
	case calls.AlertRaised:
		return alerted
	case calls.AlertCleared:
		return !alerted
	default:
		return alerted && a.AckedBy != ""
	}
}

// write appends one alert event, and reports whether the log has it.
func (w *Watcher) write(ctx context.Context, ch alerts.Change, now time.Time) bool {
	note := ch.Note
	e := eventlog.Entry{ID: ContentID(note), Event: calls.Event{Kind: calls.KindAlert, CallID: ch.CallID, At: now.UTC(), Alert: &note}}
	dup, err := w.Log.Append(ctx, []eventlog.Entry{e})
	if err != nil {
		w.logger().Warn("alerts: writing an alert event failed; retried next round", "call", ch.CallID, "rule", note.Rule, "op", note.Op, "err", err)
		return false
	}
	if dup == 0 {
		w.Metrics.Alert(note.Rule, string(note.Op))
		w.Metrics.Event(string(calls.KindAlert))
	}
	return true
}

// ContentID is the content id of an alert event: the same operation on the
// same rule twice in a row of a call's events is one event, whoever wrote
// it (two replicas during a change of writer, two supervisors
// acknowledging at once).
func ContentID(n calls.AlertNote) string {
	return "alert/" + string(n.Op) + "/" + n.Rule
}

func (w *Watcher) every() time.Duration {
	if w.Every <= 0 {
		return time.Second
	}
	return w.Every
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Watcher) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}
