package logread

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/backend/natstest"
)

func TestReadEverythingAfter(t *testing.T) {
	js := natstest.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"ev.*"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1200 {
		ev := calls.Event{Kind: calls.KindNotification, CallID: "c", Change: &calls.Change{Subject: string(rune('a' + i%26))}}
		data, _ := json.Marshal(ev)
		if _, err := js.Publish(ctx, "ev.x", data); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted events are skipped, at the end too.
	for _, seq := range []uint64{5, 1199, 1200} {
		if err := s.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	got, last, err := Read(ctx, js, "EVENTS", 0)
	if err != nil || last != 1200 || len(got) != 1197 {
		t.Fatalf("Read: %d events, last %d, %v; want 1197, 1200", len(got), last, err)
	}
	if got[4].Seq != 6 || got[0].Event.Change.Subject != "a" || got[0].Subject != "ev.x" {
		t.Fatalf("events %+v %+v", got[0], got[4])
	}
	got, _, err = Read(ctx, js, "EVENTS", 1000)
	if err != nil || len(got) != 198 || got[0].Seq != 1001 {
		t.Fatalf("after 1000: %d events from %v, %v", len(got), got[0].Seq, err)
	}
	if got, _, err := Read(ctx, js, "EVENTS", 1200); err != nil || len(got) != 0 {
		t.Fatalf("after the end: %d events, %v", len(got), err)
	}
}
