package eventlog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/natstest"
)

// openOn opens the log at R3 on its own connection to the cluster: one
// replica's view of it.
func openOn(t *testing.T, c *natstest.Cluster) *eventlog.Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log, err := eventlog.Open(ctx, natstest.ConnectURL(t, c.URL()), eventlog.Options{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// TestReplicatedAppendsAgree has two replicas append the same redelivery
// at once, many times: a replicated stream answers a lost race with error
// 10164 (not 10071), and each notification must still be stored once.
func TestReplicatedAppendsAgree(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a, b := openOn(t, c), openOn(t, c)
	ctx := context.Background()
	for i := range 40 {
		id := fmt.Sprintf("race-%d", i)
		entry := []eventlog.Entry{{ID: "same", Event: note(id, calls.Incoming)}}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, log := range []*eventlog.Log{a, b} {
			wg.Go(func() { _, errs[j] = log.Append(ctx, entry) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		if recs, err := a.History(ctx, id); err != nil || len(recs) != 1 {
			t.Fatalf("call %s has %d events (%v), want 1", id, len(recs), err)
		}
	}
}

// TestReplicatedHistoryIsComplete reads each call's history right after
// storing its events, through both replicas: never an empty or short list.
func TestReplicatedHistoryIsComplete(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a, b := openOn(t, c), openOn(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var busy sync.WaitGroup
	defer busy.Wait()
	defer cancel()
	busy.Go(func() { // other calls' traffic meanwhile
		for i := 0; ctx.Err() == nil && i < 100000; i++ {
			a.Append(ctx, []eventlog.Entry{{Event: note(fmt.Sprintf("busy-%d", i%50), calls.Hold)}})
		}
	})
	for i := range 200 {
		id := fmt.Sprintf("hist-%d", i)
		if _, err := a.Append(ctx, []eventlog.Entry{{Event: note(id, calls.Incoming)}, {Event: note(id, calls.Established)}, {Event: note(id, calls.Terminated)}}); err != nil {
			t.Fatal(err)
		}
		for _, log := range []*eventlog.Log{a, b} {
			recs, err := log.History(ctx, id)
			if err != nil || len(recs) != 3 {
				t.Fatalf("history of %s: %d events (%v), want 3", id, len(recs), err)
			}
			if recs[0].Event.Change.State != calls.Incoming || recs[2].Event.Change.State != calls.Terminated {
				t.Fatalf("history of %s out of order: %+v", id, recs)
			}
		}
	}
}

// TestOneWriterAtATime: the state lease is held by one replica until it is
// released, then another takes it.
func TestOneWriterAtATime(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a, b := openOn(t, c).WriterLease("a"), openOn(t, c).WriterLease("b")
	ctx := context.Background()
	if held, err := a.Acquire(ctx); !held || err != nil {
		t.Fatalf("a: held %v, %v", held, err)
	}
	if held, err := b.Acquire(ctx); held || err != nil {
		t.Fatalf("b took a held lease: %v, %v", held, err)
	}
	if held, err := a.Acquire(ctx); !held || err != nil {
		t.Fatalf("a could not renew: %v, %v", held, err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Held() {
		t.Fatal("a still holds a released lease")
	}
	if held, err := b.Acquire(ctx); !held || err != nil {
		t.Fatalf("b could not take a released lease: %v, %v", held, err)
	}
	if held, _ := a.Acquire(ctx); held {
		t.Fatal("a took b's lease")
	}
}

// TestFollowSurvivesTheWholeClusterRestarting follows the log while every
// node stops and starts again: every record arrives once, in order.
func TestFollowSurvivesTheWholeClusterRestarting(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	log := openOn(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	appendN := func(from, n int) {
		for i := from; i < from+n; i++ {
			if _, err := log.Append(ctx, []eventlog.Entry{{Event: note(fmt.Sprintf("f-%d", i), calls.Incoming)}}); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
	}
	appendN(0, 10)
	records := log.Follow(ctx, 1, eventlog.FollowOptions{StallAfter: time.Second})
	expect := func(from, to uint64) {
		for want := from; want <= to; want++ {
			select {
			case rec := <-records:
				if rec.Seq != want {
					t.Fatalf("record %d arrived as %d", want, rec.Seq)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("record %d never arrived", want)
			}
		}
	}
	expect(1, 10)
	c.StopAll()
	time.Sleep(time.Second)
	c.StartAll()
	var err error
	for range 60 { // the stream needs a leader again before it takes appends
		if _, err = log.LastSeq(ctx); err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	appendN(10, 10)
	expect(11, 20)
	select {
	case rec := <-records:
		t.Fatalf("an extra record: %d", rec.Seq)
	case <-time.After(500 * time.Millisecond):
	}
}
