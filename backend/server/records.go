package server

import (
	"context"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/archive"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
)

// records lets the recording platform's DeleteCall API find, delete and
// mark conversations (it implements verba.Store).
type records struct {
	view    *liveview.View
	log     *eventlog.Log
	archive *archive.Archive
}

// Calls returns the live and recently ended calls.
func (r records) Calls(context.Context) ([]calls.Call, error) { return r.view.Calls(), nil }

// Erase deletes a conversation everywhere (the log, the saved state, the
// archive); consoles drop it live.
func (r records) Erase(ctx context.Context, callID string) error {
	if err := r.log.Erase(ctx, callID); err != nil {
		return err
	}
	return r.archive.Delete(ctx, callID)
}

// PastCalls finds ended calls beyond the live view's history: in the
// archive by any identifier, and by id in the event log itself, so a call
// whose events are still stored is always found.
func (r records) PastCalls(ctx context.Context, param, value string) ([]calls.Call, error) {
	kind, ok := map[string]archive.Kind{"platformCallID": archive.ByChain, "nativeID": archive.ByParticipant,
		"meetingID": archive.ByMeeting, "extension": archive.ByParty}[param]
	if ok {
		return r.archive.Find(ctx, kind, value)
	}
	if param != "callID" {
		return nil, nil
	}
	c, archived, err := r.archive.Get(ctx, value)
	if err != nil {
		return nil, err
	}
	if archived {
		return []calls.Call{c}, nil
	}
	recs, err := r.log.History(ctx, value)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	// Events but no archived state (stored before the archive, or its write
	// failed): the call as its events tell it.
	for _, rec := range recs {
		c, _ = calls.Apply(c, rec.Seq, rec.Event)
	}
	if !c.Ended() {
		return nil, nil // a live call is the view's
	}
	return []calls.Call{c}, nil
}

// MarkForDeletion marks an ongoing call; the view erases it when it ends.
// The content id makes marking twice in a row (or by two replicas) one event.
func (r records) MarkForDeletion(ctx context.Context, callID string) error {
	ev := calls.Event{Kind: calls.KindMarked, CallID: callID, At: time.Now().UTC()}
	_, err := r.log.Append(ctx, []eventlog.Entry{{ID: "mark", Event: ev}})
	return err
}

// erasingLog is the event log as the REST API uses it: deleting a
// conversation also takes it out of the archive (and history) at once,
// not only when the writer replica meets its tombstone.
type erasingLog struct {
	*eventlog.Log
	archive *archive.Archive
}

// Erase implements actions.Log.
func (l erasingLog) Erase(ctx context.Context, callID string) error {
	if err := l.Log.Erase(ctx, callID); err != nil {
		return err
	}
	return l.archive.Delete(ctx, callID)
}
