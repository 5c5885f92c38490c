package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	"switchboard/app/console"
	"switchboard/app/feedwire"
)

// The loop yields to the browser before every flush: reading the feed and
// applying it are separate tasks of the page.
func TestFlushLoopYieldsBeforeEachFlush(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	inbox := console.NewInbox(nil)
	var (
		mu    sync.Mutex
		order []string
	)
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	flushed := make(chan struct{}, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		flushLoop(ctx, inbox, func(context.Context) { note("yield") },
			func() { note("flush"); inbox.Take(); flushed <- struct{}{} }, func() {})
	}()
	for seq := uint64(1); seq <= 2; seq++ {
		if err := inbox.Put(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: seq, Epoch: "e"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-flushed:
		case <-ctx.Done():
			t.Fatalf("no flush of snapshot %d", seq)
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	want := []string{"yield", "flush", "yield", "flush"}
	if len(order) != len(want) {
		t.Fatalf("the loop did %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("the loop did %v, want %v", order, want)
		}
	}
}
