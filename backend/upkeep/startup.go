package upkeep

import (
	"context"
	"time"

	"switchboard/app/calls"
)

// readier is a view that tells when it has caught up with the log.
type readier interface {
	Ready() <-chan struct{}
}

// Startup asks Graph about every call the view holds as live, once the
// view has caught up with the log: calls that ended while no replica
// listened (their deleted notification lost) end now, as ghosts, instead
// of when they turn quiet. Calls are checked at StartupRate per second,
// StartupWorkers at once, each under a lease so that replicas starting
// together check it once.
func (k *Keeper) Startup(ctx context.Context) {
	if k.opts.StartupRate < 0 {
		return
	}
	if r, ok := k.view.(readier); ok {
		select {
		case <-ctx.Done():
			return
		case <-r.Ready():
		}
	}
	live := k.view.Live()
	if len(live) == 0 {
		return
	}
	k.opts.Logger.Info("upkeep: checking the live calls with Graph after start", "calls", len(live))
	round := round(k.opts.Now(), time.Minute)
	gap := time.Duration(float64(time.Second) / k.opts.StartupRate)
	paced(ctx, live, gap, k.opts.StartupWorkers, func(c calls.Call) {
		if k.lease(ctx, "startup", c.ID, round) {
			k.check(ctx, c, false)
		}
	})
}
