package liveview

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
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

// save starts writing what changed since the last save, at most every
// SaveEvery unless forced; the checkpoint then moves below the oldest
// change still unsaved. The writes run on a goroutine of their own while
// the view goes on applying events (a save of a few hundred calls takes
// tens of milliseconds, and events must not wait for it); their outcome
// comes back to the loop through v.saved (finishSave). One save is in
// flight at a time: a forced save asked for meanwhile starts when it ends.
// A replica that does not hold the lease forgets what it would have saved:
// whoever takes over works it out from the checkpoint. It reports whether
// a save started.
//
// The checkpoint moves with every save, even while changes keep coming
// faster than one save writes (a burst, or a replica taking over a large
// view): the oldest changes are saved first, so a restarting replica
// replays seconds of events, not everything since the burst began. It
// holds once the save is written, whatever changed while it was: every
// change up to it is in the save, and what came after has a higher
// sequence and stays to save (finishSave keeps a call changed meanwhile
// unsaved).
func (v *View) save(ctx context.Context, force bool) bool {
	if !v.lease.Held() {
		clear(v.dirty)
		clear(v.gone)
		clear(v.toArch)
		clear(v.unarch)
		return false
	}
	if v.saving {
		v.saveAgain = v.saveAgain || force
		return false
	}
	v.mu.RLock()
	seq := v.seq
	v.mu.RUnlock()
	if len(v.dirty) == 0 && len(v.gone) == 0 && len(v.toArch) == 0 && len(v.unarch) == 0 && seq == v.savedSeq {
		return false
	}
	if !force && time.Since(v.lastSave) < v.opts.SaveEvery {
		return false
	}
	v.lastSave = time.Now()
	job := v.prepareSave(seq)
	v.saving = true
	go func() { v.saved <- v.writeSave(ctx, job) }()
	return true
}

// saveJob is one save, as the view was when it started: the calls to
// write, the calls to forget (with their mark in gone), the calls to
// archive and to remove from the archive, and the checkpoint.
type saveJob struct {
	changed    []eventlog.Change
	gone       map[string]uint64
	toArch     []calls.Call
	unarch     map[string]uint64
	checkpoint uint64
}

// saveResult is how far a save got: the archive's removals and writes are
// made in order and stop at the first failure; err is the failure of the
// save proper (calls, forgets, checkpoint), after which none of it counts.
type saveResult struct {
	job      *saveJob
	unarched []string // removed from the archive
	arched   int      // job.toArch[:arched] are archived
	err      error
}

// prepareSave gathers what the next save writes; Run's goroutine.
func (v *View) prepareSave(seq uint64) *saveJob {
	job := &saveJob{unarch: make(map[string]uint64)}
	if v.opts.Archive != nil {
		for id, at := range v.unarch {
			if len(job.unarch) == maxArchivePerRound {
				break
			}
			job.unarch[id] = at
		}
		job.toArch = endOrder(v.toArch)
		job.toArch = job.toArch[:min(len(job.toArch), maxArchivePerRound-len(job.unarch))]
	} else {
		clear(v.toArch)
		clear(v.unarch)
	}
	var gone []string
	job.changed, gone, job.checkpoint = v.pending(seq)
	job.checkpoint = max(v.savedSeq, job.checkpoint) // forward only
	job.gone = make(map[string]uint64, len(gone))
	for _, id := range gone {
		job.gone[id] = v.gone[id]
	}
	return job
}

// writeSave makes the writes of job; it runs on a goroutine of its own and
// touches nothing of the view.
func (v *View) writeSave(ctx context.Context, job *saveJob) saveResult {
	res := saveResult{job: job}
	actx, cancel := context.WithTimeout(ctx, saveTimeout)
	res.unarched, res.arched = v.archive(actx, job)
	cancel()
	gone := make([]string, 0, len(job.gone))
	for id := range job.gone {
		gone = append(gone, id)
	}
	sctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	res.err = v.state.Save(sctx, job.changed, gone, job.checkpoint)
	return res
}

// finishSave takes in what a save wrote; Run's goroutine. A call that
// changed while it was written stays to save, from just after what was
// saved of it; a call pruned or erased meanwhile is left to what marked it.
func (v *View) finishSave(ctx context.Context, res saveResult) {
	v.saving = false
	job := res.job
	for _, id := range res.unarched {
		if at, ok := v.unarch[id]; ok && at == job.unarch[id] {
			delete(v.unarch, id)
		}
	}
	for _, done := range job.toArch[:res.arched] {
		if c, ok := v.toArch[done.ID]; ok && c.Seq == done.Seq {
			delete(v.toArch, done.ID)
		}
	}
	if res.err != nil {
		if errors.Is(res.err, context.Canceled) {
			return // cut short by shutdown: release saves again
		}
		v.opts.Metrics.SaveError()
		if ctx.Err() == nil {
			v.opts.Logger.Warn("live view: save failed; trying again with the next", "err", res.err, "calls", len(job.changed))
		}
		return
	}
	v.mu.RLock()
	for _, ch := range job.changed {
		c := ch.Call
		if _, ok := v.dirty[c.ID]; !ok {
			continue // pruned or erased meanwhile: gone says what to do
		}
		if v.calls[c.ID].Seq == c.Seq {
			delete(v.dirty, c.ID)
		} else {
			v.dirty[c.ID] = max(v.dirty[c.ID], c.Seq+1)
		}
	}
	v.mu.RUnlock()
	for id, at := range job.gone {
		if now, ok := v.gone[id]; ok && now == at {
			delete(v.gone, id)
		}
	}
	v.savedSeq = job.checkpoint
}

// awaitSave waits for the save in flight, if any, and takes it in.
func (v *View) awaitSave(ctx context.Context) {
	if v.saving {
		v.finishSave(ctx, <-v.saved)
	}
}

// maxArchivePerRound bounds the archive writes of one save.
const maxArchivePerRound = 500

// archive removes the erased calls of job from the archive, then hands it
// the calls that ended (as they were when they last changed, even if
// pruned from the view since), each in order until one fails; it returns
// the ids removed and how many calls were archived. What fails is tried
// again with the next save.
func (v *View) archive(ctx context.Context, job *saveJob) (unarched []string, arched int) {
	for id := range job.unarch {
		if ctx.Err() != nil {
			return unarched, arched
		}
		if err := v.opts.Archive.Delete(ctx, id); err != nil {
			v.opts.Logger.Warn("live view: remove an erased call from the archive", "call", id, "err", err)
			return unarched, arched
		}
		unarched = append(unarched, id)
	}
	for _, c := range job.toArch {
		if ctx.Err() != nil {
			return unarched, arched
		}
		if err := v.opts.Archive.Put(ctx, c); err != nil {
			v.opts.Logger.Warn("live view: archive an ended call", "call", c.ID, "err", err)
			return unarched, arched
		}
		arched++
	}
	return unarched, arched
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
func (v *View) pending(seq uint64) (changed []eventlog.Change, gone []string, checkpoint uint64) {
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
	changed = make([]eventlog.Change, 0, len(list))
	v.encMu.Lock()
	for _, d := range list {
		c := v.calls[d.id]
		ch := eventlog.Change{Call: c}
		if e, ok := v.enc[d.id]; ok && e.seq == c.Seq {
			ch.JSON = e.data // what the events encoded: the save need not again
		}
		changed = append(changed, ch)
	}
	v.encMu.Unlock()
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*saveTimeout)
	defer cancel()
	v.awaitSave(ctx) // a save in flight ends before Run returns
	v.saveAgain = false
	if !v.lease.Held() {
		return
	}
	for i := 0; i < 3 && (len(v.dirty) > 0 || len(v.gone) > 0); i++ {
		if v.save(ctx, true) {
			v.awaitSave(ctx)
		}
	}
	if err := v.lease.Release(ctx); err != nil {
		v.opts.Logger.Warn("live view: release the writer lease", "err", err)
	}
}
