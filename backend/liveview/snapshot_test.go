package liveview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
	"switchboard/backend/natstest"
)

// openLog opens an event log on a fresh in-process NATS server.
func openLog(t *testing.T) *eventlog.Log {
	t.Helper()
	ns := natstest.Server(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	log, err := eventlog.Open(context.Background(), js, eventlog.Options{WriterLeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// runView runs a view of log with opts until the test ends.
func runView(t *testing.T, log *eventlog.Log, opts liveview.Options) *liveview.View {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.SaveEvery == 0 {
		opts.SaveEvery = 50 * time.Millisecond
	}
	v := liveview.New(log, nopPublisher{}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); v.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-v.Ready()
	return v
}

// jsonArray is a snapshot's list of calls as one JSON array.
func jsonArray(list [][]byte) []byte {
	return append(append([]byte("["), bytes.Join(list, []byte(","))...), ']')
}

// TestEncodedSnapshotIsTheViewInJSON: the encoded snapshot is the view's
// calls in snapshot order, encoded, through changes, endings, pruning and
// erasure; while the view does not change, callers share one encoding.
func TestEncodedSnapshotIsTheViewInJSON(t *testing.T) {
	log := openLog(t)
	v := runView(t, log, liveview.Options{History: 300 * time.Millisecond})
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		for range 10 {
			seq, list, version := v.EncodedSnapshot()
			got := jsonArray(list)
			want, _ := json.Marshal(v.Calls())
			wantSeq := v.Seq()
			_, again, after := v.EncodedSnapshot()
			if after != version {
				continue // the view changed meanwhile (pruning): look again
			}
			if !bytes.Equal(got, want) || seq != wantSeq {
				t.Fatalf("%s: the encoded snapshot at %d is\n%s\nwant at %d\n%s", when, seq, got, wantSeq, want)
			}
			if len(list) > 0 && &again[0] != &list[0] {
				t.Fatalf("%s: an unchanged view was encoded again", when)
			}
			return
		}
		t.Fatalf("%s: the view never stood still", when)
	}
	appendAll := func(entries ...eventlog.Entry) {
		t.Helper()
		if _, err := log.Append(ctx, entries); err != nil {
			t.Fatal(err)
		}
		last, _ := log.LastSeq(ctx)
		eventually(t, "the view applies the events", func() bool { return v.Seq() >= last })
	}
	check("empty")
	for i := range 10 {
		appendAll(event(fmt.Sprintf("c%02d", i), calls.Incoming))
	}
	check("ten incoming calls")
	appendAll(event("c03", calls.Established), event("c07", calls.Hold))
	check("two calls changed")
	for _, id := range []string{"c01", "c02", "c04", "c05", "c06"} {
		appendAll(event(id, calls.Terminated))
	}
	check("five calls ended")
	eventually(t, "the ended calls are pruned", func() bool { return len(v.Calls()) == 5 })
	check("pruned")
	if err := log.Erase(ctx, "c03"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the erased call goes", func() bool { _, ok := v.Get("c03"); return !ok })
	check("a call erased")
}
