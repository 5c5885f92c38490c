package eventlog

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParallelRunsEachOnceAndManyAtOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	var inFlight, most atomic.Int32
	err := parallel(context.Background(), 200, func(_ context.Context, i int) error {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond) // a write waiting for its acknowledgement
		inFlight.Add(-1)
		mu.Lock()
		seen[i]++
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if seen[i] != 1 {
			t.Fatalf("item %d done %d times", i, seen[i])
		}
	}
	if most.Load() < 2 || most.Load() > saveParallel {
		t.Fatalf("%d writes in flight at most, want between 2 and %d", most.Load(), saveParallel)
	}
}

// TestParallelStopsAtTheFirstError: once a write fails, writes not started
// yet are not started (at most the ones the feeder was already handing
// out). It counts the writes that start after the failure cancelled the
// rest, not the writes done meanwhile by other workers, which depends on
// how the machine schedules them.
func TestParallelStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var late atomic.Int32
	err := parallel(context.Background(), 10000, func(ctx context.Context, i int) error {
		if ctx.Err() != nil {
			late.Add(1) // started after the failure cancelled the rest
		}
		if i == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	if late.Load() > saveParallel {
		t.Fatalf("%d writes started after the failure, want at most %d", late.Load(), saveParallel)
	}
}
