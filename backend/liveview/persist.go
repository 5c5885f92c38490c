package liveview

import (
	"cmp"
	"context"
	"slices"
	"time"

	"switchboard/app/calls"
)

// saveTimeout bounds one save, so an outage does not hold the view's loop.
const saveTimeout = 2 * time.Second

// maxSavePerRound bounds the calls one save writes; the rest wait for the
// next round, and the checkpoint moves only once everything is saved.
const maxSavePerRound = 2000

// renewLease keeps or seeks the writer lease. Only a replica that has
// caught up with the log may write: its view is complete.
func (v *View) renewLease(ctx context.Context) {
	select {
	case <-v.ready:
	default:
		return
	}
	was := v.lease.Held()
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	held, err := v.lease.Acquire(lctx)
	cancel()
	if err != nil && ctx.Err() == nil {
		v.opts.Logger.Warn("live view: writer lease not renewed", "err", err, "held", held)
	}
	switch {
	case held && !was:
		v.takeOver(ctx)
	case !held && was:
		v.opts.Logger.Info("live view: another replica saves the view now")
	}
}

// takeOver makes the saved state match this replica's view: every call
// that changed after the saved checkpoint is saved again, and calls the
// bucket holds but the view dropped are removed.
func (v *View) takeOver(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	checkpoint, err := v.state.Checkpoint(rctx)
	if err != nil {
		v.opts.Logger.Warn("live view: saved checkpoint unreadable; saving the whole view", "err", err)
		checkpoint = 0
	}
	saved, err := v.state.SavedCalls(rctx)
	if err != nil {
		v.opts.Logger.Warn("live view: saved calls unreadable; stale ones stay until the next takeover", "err", err)
	}
	v.mu.RLock()
	for id, c := range v.calls {
		if c.Seq > checkpoint {
			// Its first change after the checkpoint is not known: the
			// checkpoint stays where it is until the call is saved.
			if first, ok := v.dirty[id]; !ok || first > checkpoint+1 {
				v.dirty[id] = checkpoint + 1
			}
			if c.Ended() {
				v.toArch[id] = c
			}
		}
	}
	for _, id := range saved {
		if _, ok := v.calls[id]; !ok {
			v.gone[id] = forgetNow
		}
	}
	seq := v.seq
	v.mu.RUnlock()
	v.opts.Logger.Info("live view: this replica saves the view now", "checkpoint", checkpoint, "seq", seq,
		"to_save", len(v.dirty), "to_remove", len(v.gone))
	v.save(ctx, true)
}

// forgetNow marks a call in gone that may be removed from the saved state
// at once, whatever the checkpoint.
const forgetNow = 0

// save writes what changed since the last save, at most every SaveEvery
// unless forced, then moves the checkpoint below the oldest change still
// unsaved. A replica that does not hold the lease forgets what it would
// have saved: whoever takes over works it out from the checkpoint.
//
// The checkpoint moves with every save, even while changes keep coming
// faster than one save writes (a burst, or a replica taking over a large
// view): the oldest changes are saved first, so a restarting replica
// replays seconds of events, not everything since the burst began.
func (v *View) save(ctx context.Context, force bool) {
	if !v.lease.Held() {
		clear(v.dirty)
		clear(v.gone)
		clear(v.toArch)
		clear(v.unarch)
		return
	}
	v.mu.RLock()
	seq := v.seq
	v.mu.RUnlock()
	if len(v.dirty) == 0 && len(v.gone) == 0 && len(v.toArch) == 0 && len(v.unarch) == 0 && seq == v.savedSeq {
		return
	}
	if !force && time.Since(v.lastSave) < v.opts.SaveEvery {
		return
	}
	v.lastSave = time.Now()
	v.archive(ctx)
	changed, gone, checkpoint := v.pending(seq)
	applied := max(v.savedSeq, checkpoint) // forward only
	sctx, cancel := context.WithTimeout(ctx, saveTimeout)
	err := v.state.Save(sctx, changed, gone, applied)
	cancel()
	if err != nil {
		v.opts.Metrics.SaveError()
		if ctx.Err() == nil {
			v.opts.Logger.Warn("live view: save failed; trying again with the next", "err", err, "calls", len(changed))
		}
		return
	}
	for _, c := range changed {
		delete(v.dirty, c.ID)
	}
	for _, id := range gone {
		delete(v.gone, id)
	}
	v.savedSeq = applied
}

// maxArchivePerRound bounds the archive writes of one save.
const maxArchivePerRound = 500

// archive hands the calls that ended to the archive (as they were when
// they last changed, even if pruned from the view since), and removes the
// erased ones from it; what fails is tried again with the next save.
func (v *View) archive(ctx context.Context) {
	if v.opts.Archive == nil {
		clear(v.toArch)
		clear(v.unarch)
		return
	}
	actx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	n := 0
	for id := range v.unarch {
		if n == maxArchivePerRound || actx.Err() != nil {
			return
		}
		n++
		if err := v.opts.Archive.Delete(actx, id); err != nil {
			v.opts.Logger.Warn("live view: remove an erased call from the archive", "call", id, "err", err)
			return
		}
		delete(v.unarch, id)
	}
	for _, c := range endOrder(v.toArch) {
		if n == maxArchivePerRound || actx.Err() != nil {
			return
		}
		n++
		if err := v.opts.Archive.Put(actx, c); err != nil {
			v.opts.Logger.Warn("live view: archive an ended call", "call", c.ID, "err", err)
			return
		}
		delete(v.toArch, c.ID)
	}
}

// endOrder lists the calls in the order they ended (then by id): the
// archive's time index is in the order calls are archived, and history
// reads it as the order they ended, so calls ending within one save must
// not go in a map's order.
func endOrder(m map[string]calls.Call) []calls.Call {
	list := make([]calls.Call, 0, len(m))
	for _, c := range m {
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b calls.Call) int {
		return cmp.Or(a.EndedAt.Compare(b.EndedAt), cmp.Compare(a.ID, b.ID))
	})
	return list
}

// pending lists what the next save writes: the calls changed longest
// ago, at most maxSavePerRound of them, the calls to forget, and the
// checkpoint that holds once they are written: just below the oldest
// change left unsaved, or seq when none is. A call pruned from the view
// whose saved state is current is forgotten once the checkpoint covers
// its last change: a restart replaying its events would bring it back.
func (v *View) pending(seq uint64) (changed []calls.Call, gone []string, checkpoint uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	type dirtyCall struct {
		id    string
		first uint64
	}
	list := make([]dirtyCall, 0, len(v.dirty))
	for id, first := range v.dirty {
		if _, ok := v.calls[id]; ok {
			list = append(list, dirtyCall{id, first})
		} else {
			delete(v.dirty, id) // gone meanwhile: it is in gone
		}
	}
	checkpoint = seq
	if len(list) > maxSavePerRound {
		slices.SortFunc(list, func(a, b dirtyCall) int { return cmp.Compare(a.first, b.first) })
		checkpoint = list[maxSavePerRound].first - 1
		list = list[:maxSavePerRound]
	}
	for _, d := range list {
		changed = append(changed, v.calls[d.id])
	}
	for id, at := range v.gone {
		if len(gone) == maxSavePerRound {
			break
		}
		if at == forgetNow || at <= checkpoint {
			gone = append(gone, id)
		}
	}
	return changed, gone, checkpoint
}

// release saves what is left and gives the lease up, so another replica
// takes over at once. ctx has ended: the last writes get a moment of their
// own.
func (v *View) release() {
	if !v.lease.Held() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*saveTimeout)
	defer cancel()
	for i := 0; i < 3 && (len(v.dirty) > 0 || len(v.gone) > 0); i++ {
		v.save(ctx, true)
	}
	if err := v.lease.Release(ctx); err != nil {
		v.opts.Logger.Warn("live view: release the writer lease", "err", err)
	}
}
