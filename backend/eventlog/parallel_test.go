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

func TestParallelStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var done atomic.Int32
	err := parallel(context.Background(), 10000, func(ctx context.Context, i int) error {
		if i == 5 {
			return boom
		}
		done.Add(1)
		return ctx.Err()
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	if done.Load() > 5000 {
		t.Fatalf("%d writes after the failure", done.Load())
	}
}
