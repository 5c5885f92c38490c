package server

import (
	"context"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
)

// records lets the recording platform's DeleteCall API find, delete and
// mark conversations (it implements verba.Store).
type records struct {
	view *liveview.View
	log  *eventlog.Log
}

// Calls returns the live and recently ended calls.
func (r records) Calls(context.Context) ([]calls.Call, error) { return r.view.Calls(), nil }

// Erase deletes a conversation everywhere; consoles drop it live.
func (r records) Erase(ctx context.Context, callID string) error {
	return r.log.Erase(ctx, callID)
}

// MarkForDeletion marks an ongoing call; the view erases it when it ends.
// The content id makes marking twice in a row (or by two replicas) one event.
func (r records) MarkForDeletion(ctx context.Context, callID string) error {
	ev := calls.Event{Kind: calls.KindMarked, CallID: callID, At: time.Now().UTC()}
	_, err := r.log.Append(ctx, []eventlog.Entry{{ID: "mark", Event: ev}})
	return err
}
