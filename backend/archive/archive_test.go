package archive_test

import (
	"context"
	"fmt"
	"testing"

	"switchboard/app/calls"
	"switchboard/backend/archive"
	"switchboard/backend/natstest"
)

func ended(id, chain, phone string) calls.Call {
	return calls.Call{ID: id, ChainID: chain, State: calls.Terminated, Source: calls.Party{Phone: phone},
		Targets: []calls.Party{{ID: "bot-app"}}}
}

func TestFindByEveryIdentifierAndDelete(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, natstest.JetStream(t), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	one, two := ended("call-1", "chain-1", "+15551230001"), ended("call-2", "chain-2", "+15551230001")
	one.MeetingID, one.MyParticipantID = "meeting-1", "participant-1"
	for _, c := range []calls.Call{one, two, one} { // archiving again lists a call once
		if err := a.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		kind  archive.Kind
		value string
		want  int
	}{
		{archive.ByChain, "chain-1", 1},
		{archive.ByChain, "CHAIN-1", 1}, // identifiers compare without case
		{archive.ByMeeting, "meeting-1", 1},
		{archive.ByParticipant, "participant-1", 1},
		{archive.ByParty, "+15551230001", 2},
		{archive.ByParty, "bot-app", 2},
		{archive.ByChain, "unknown", 0},
	}
	for _, tt := range tests {
		got, err := a.Find(ctx, tt.kind, tt.value)
		if err != nil || len(got) != tt.want {
			t.Errorf("find %s %q: %d calls (%v), want %d", tt.kind, tt.value, len(got), err, tt.want)
		}
	}
	if err := a.Delete(ctx, "call-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Get(ctx, "call-1"); ok {
		t.Fatal("a deleted call is still archived")
	}
	if got, _ := a.Find(ctx, archive.ByParty, "+15551230001"); len(got) != 1 || got[0].ID != "call-2" {
		t.Fatalf("after the deletion the number finds %v", got)
	}
	if got, _ := a.Find(ctx, archive.ByChain, "chain-1"); len(got) != 0 {
		t.Fatalf("the deleted call's chain still finds %v", got)
	}
	if err := a.Delete(ctx, "never-archived"); err != nil {
		t.Fatalf("deleting an unknown call: %v", err)
	}
}

func TestABusyNumberKeepsItsNewestCalls(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, natstest.JetStream(t), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 205 {
		if err := a.Put(ctx, ended(fmt.Sprintf("busy-%03d", i), "", "+15550000000")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.Find(ctx, archive.ByParty, "+15550000000")
	if err != nil || len(got) != 200 || got[199].ID != "busy-204" || got[0].ID != "busy-005" {
		t.Fatalf("a busy number lists %d calls (%v)", len(got), err)
	}
}
