package liveview_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
)

// recordingArchive keeps the ids of the calls put, in order.
type recordingArchive struct {
	mu  sync.Mutex
	put []string
}

func (a *recordingArchive) Put(_ context.Context, c calls.Call) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.put = append(a.put, c.ID)
	return nil
}

func (a *recordingArchive) Delete(context.Context, string) error { return nil }

func (a *recordingArchive) ids() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.put)
}

// TestCallsAreArchivedInTheOrderTheyEnded: calls that end between two
// saves reach the archive in the order they ended (its time index is what
// history reads as that order), not in a map's order.
func TestCallsAreArchivedInTheOrderTheyEnded(t *testing.T) {
	log := openLog(t)
	arch := &recordingArchive{}
	runView(t, log, liveview.Options{Archive: arch, SaveEvery: 300 * time.Millisecond})
	ctx := context.Background()
	var want []string
	var entries []eventlog.Entry
	start := time.Now().UTC()
	for i := range 20 {
		// Ids in the reverse of the end order, so that an order by id
		// would be wrong too.
		id := fmt.Sprintf("call-%02d", 20-i)
		want = append(want, id)
		ended := event(id, calls.Terminated)
		ended.Event.At = start.Add(time.Duration(i) * time.Millisecond)
		entries = append(entries, event(id, calls.Established), ended)
	}
	if _, err := log.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the view archives the 20 calls", func() bool { return len(arch.ids()) == 20 })
	if got := arch.ids(); !slices.Equal(got, want) {
		t.Fatalf("archived in the order %v, want the order they ended %v", got, want)
	}
}
