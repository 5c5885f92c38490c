package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/cmd/internal/feedwatch"
	"switchboard/cmd/internal/logread"
	"switchboard/cmd/internal/traffic"
)

// phase is one fault's run: its timeline and, after the check, what it
// measured.
type phase struct {
	Fault fault
	// Start and End bound the phase; FaultAt is when the fault began,
	// RestoredAt when it was undone (the part started or thawed),
	// RecoveredAt when every part was ready again (zero: never within 90 s).
	Start, FaultAt, RestoredAt, RecoveredAt, End time.Time
	// Outage is how long the whole cluster was stopped.
	Outage   time.Duration
	Timeline []mark
	Notes    []string
	Result   *result
}

// mark is a moment of the timeline.
type mark struct {
	At   time.Time
	What string
}

func (p *phase) mark(what string) { p.Timeline = append(p.Timeline, mark{At: time.Now(), What: what}) }

func (p *phase) note(s string) { p.Notes = append(p.Notes, s) }

// serverView is one replica's view.
type serverView = feedwatch.ServerView

// readView asks replica i for its view, as the signed-in viewer.
func (e *env) readView(ctx context.Context, i int) (serverView, error) {
	client := &http.Client{Jar: e.viewer, Transport: e.http.Transport, Timeout: 5 * time.Second}
	return feedwatch.ReadServerView(ctx, client, e.plan.Replicas[i].LocalURL())
}

// quiesce pauses the traffic until every call under way is done, then
// waits until both replicas' views reach the end of the event log and
// every console agrees with them. It returns the replicas' views (a
// replica that could not be read has none) and notes what did not settle.
func (e *env) quiesce(ctx context.Context, p *phase) ([]*serverView, error) {
	if err := e.poster.Drain(ctx, 90*time.Second); err != nil {
		p.note("the traffic did not drain: " + err.Error())
	}
	views := make([]*serverView, len(e.plan.Replicas))
	deadline := time.Now().Add(60 * time.Second)
	for {
		last, err := e.lastSeq(ctx)
		caught := err == nil
		for i := range e.plan.Replicas {
			v, verr := e.readView(ctx, i)
			views[i] = nil
			if verr == nil {
				views[i] = &v
			}
			caught = caught && verr == nil && v.Seq >= last
		}
		if caught {
			break
		}
		if time.Now().After(deadline) {
			for i, v := range views {
				if v == nil {
					p.note(fmt.Sprintf("%s's view could not be read at the check", e.plan.Replicas[i].Name))
				} else if err == nil && v.Seq < last {
					p.note(fmt.Sprintf("%s's view stayed at %d, behind the event log's %d", e.plan.Replicas[i].Name, v.Seq, last))
				}
			}
			break
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return views, err
		}
	}
	ref := reference(views)
	if ref == nil {
		p.note("no replica's view could be read: the consoles were not compared with it")
		return views, nil
	}
	deadline = time.Now().Add(30 * time.Second)
	for !e.consolesAgree(ref) && time.Now().Before(deadline) {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return views, err
		}
	}
	return views, nil
}

// reference is the view consoles are compared with: the most advanced
// replica's.
func reference(views []*serverView) *serverView {
	var ref *serverView
	for _, v := range views {
		if v != nil && (ref == nil || v.Seq > ref.Seq) {
			ref = v
		}
	}
	return ref
}

func (e *env) consolesAgree(ref *serverView) bool {
	for _, c := range e.consoles {
		if len(feedwatch.Differs(c.State().Calls, ref.Calls)) > 0 {
			return false
		}
	}
	return true
}

func (e *env) lastSeq(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, eventlog.StreamName)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// readLog reads the event log after seq, retrying for up to 30 s.
func (e *env) readLog(ctx context.Context, after uint64) ([]logread.Entry, uint64, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		entries, last, err := logread.Read(rctx, e.js, eventlog.StreamName, after)
		cancel()
		if err == nil || time.Now().After(deadline) {
			return entries, last, err
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, 0, err
		}
	}
}

// storedNotifications maps each of the run's notifications found in the
// log to the sequences it is stored at.
func storedNotifications(entries []logread.Entry, gen traffic.Generator, into map[int][]uint64) {
	for _, en := range entries {
		ev := en.Event
		if ev.Kind != calls.KindNotification || ev.Change == nil || !gen.Owns(ev.CallID) {
			continue
		}
		if m, ok := traffic.ParseSubject(ev.Change.Subject); ok {
			into[m.N] = append(into[m.N], en.Seq)
		}
	}
}
