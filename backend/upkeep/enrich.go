package upkeep

import (
	"context"
	"errors"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/graph"
	"switchboard/backend/notify"
)

// NeedsEnrichment reports whether Switchboard should ask Graph about c:
// a live call that lacks what the console shows of it (its state, its
// direction, who calls or who is called). An outgoing call's first
// notifications carry only its state and chain id.
func NeedsEnrichment(c calls.Call) bool {
	return !c.Ended() && (c.State == "" || c.Direction == "" || c.Source == (calls.Party{}) || len(c.Targets) == 0)
}

// Enrich queues c to be read from Graph at once if it needs it, and
// reports whether it was queued. It never blocks: when the queue is full,
// the quiet check will read the call later. The live view calls it (on
// every replica) the first time it sees a call; one replica reads it.
func (k *Keeper) Enrich(c calls.Call) bool {
	if !NeedsEnrichment(c) {
		return false
	}
	select {
	case k.enrich <- c.ID:
		return true
	default:
		k.opts.Logger.Warn("upkeep: too many new calls to read; this one waits for the quiet check", "call", c.ID)
		return false
	}
}

func (k *Keeper) enrichLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-k.enrich:
			k.enrichOne(ctx, id)
		}
	}
}

// enrichOne reads the call id once per call, on one replica, retrying
// failures within EnrichBudget. A call Graph does not know is left to the
// quiet check: a notification may have raced its end.
func (k *Keeper) enrichOne(ctx context.Context, id string) {
	if !k.lease(ctx, "enrich", id, 0) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, k.opts.EnrichBudget)
	defer cancel()
	wait := 250 * time.Millisecond
	for {
		body, err := k.graph.Get(ctx, id)
		switch {
		case err == nil:
			k.recordEnriched(ctx, id, body)
			return
		case graph.IsNotFound(err):
			k.opts.Logger.Info("upkeep: a new call Graph does not know; the quiet check will end it", "call", id)
			return
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			k.opts.Logger.Warn("upkeep: could not read a new call within the budget", "call", id, "err", err)
			return
		}
		k.opts.Logger.Debug("upkeep: reading a new call failed; retrying", "call", id, "err", err, "wait", wait)
		select {
		case <-ctx.Done():
			k.opts.Logger.Warn("upkeep: could not read a new call within the budget", "call", id, "err", err)
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 4*time.Second)
	}
}

func (k *Keeper) recordEnriched(ctx context.Context, id string, body []byte) {
	ch, err := notify.DecodeCall(body)
	if err != nil {
		k.opts.Logger.Warn("upkeep: enrich: Graph's call resource", "call", id, "err", err)
		return
	}
	ch.ChangeType = "updated"
	k.append(context.WithoutCancel(ctx), calls.Event{Kind: calls.KindEnriched, CallID: id, At: k.opts.Now().UTC(), Change: &ch})
}
