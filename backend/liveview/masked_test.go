package liveview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"switchboard/app/calls"
	"switchboard/app/privacy"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
)

// TestMaskedSnapshotIsTheViewMasked: the masked snapshot is the view's
// calls with external parties masked, and viewers connecting while the view
// does not change share one encoding.
func TestMaskedSnapshotIsTheViewMasked(t *testing.T) {
	log := openLog(t)
	v := runView(t, log, liveview.Options{})
	ctx := context.Background()
	ev := event("ext", calls.Incoming)
	ev.Event.Change.Source = &calls.Party{Kind: "phone", ID: "+14255550123", Phone: "+14255550123", DisplayName: "Grace Hopper"}
	if _, err := log.Append(ctx, []eventlog.Entry{ev, event("int", calls.Incoming)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the view applies the events", func() bool { return len(v.Calls()) == 2 })
	seq, list, version := v.MaskedSnapshot()
	got := jsonArray(list)
	var masked []calls.Call
	for _, c := range v.Calls() {
		masked = append(masked, privacy.Call(c))
	}
	want, _ := json.Marshal(masked)
	if !bytes.Equal(got, want) || seq != v.Seq() || bytes.Contains(got, []byte("4255550123")) || bytes.Contains(got, []byte("Grace")) {
		t.Fatalf("masked snapshot at %d:\n%s\nwant at %d:\n%s", seq, got, v.Seq(), want)
	}
	if _, again, after := v.MaskedSnapshot(); after != version || &again[0] != &list[0] {
		t.Fatal("an unchanged view was masked and encoded again")
	}
	if _, plain, _ := v.EncodedSnapshot(); !bytes.Contains(jsonArray(plain), []byte("+14255550123")) {
		t.Fatalf("the plain snapshot lost the number:\n%q", plain)
	}
}
