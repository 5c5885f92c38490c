package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"switchboard/app/calls"
)

// batch builds one commsNotifications body holding several notifications.
func batch(id string, items ...[2]string) string {
	body := `{"@odata.type":"#microsoft.graph.commsNotifications","value":[`
	for i, it := range items {
		if i > 0 {
			body += ","
		}
		body += fmt.Sprintf(`{"changeType":%q,"resourceUrl":"/communications/calls/%s","resourceData":%s}`, it[0], id, it[1])
	}
	return body + "]}"
}

// TestRedeliveredBodiesAreStoredOnce posts one body with two notifications
// of the same call three times (Graph redelivering it): its two events are
// stored once. A legitimate repeat in bodies of their own (hold, resume,
// hold) is kept.
func TestRedeliveredBodiesAreStoredOnce(t *testing.T) {
	h := start(t, options{})
	const twice = "redeliver-0000-4000-8000-000000000001"
	body := batch(twice, [2]string{"created", incomingData}, [2]string{"updated", state("established")})
	for range 3 {
		if code := h.post(body); code != http.StatusAccepted {
			t.Fatalf("webhook answered %d", code)
		}
	}
	const repeat = "redeliver-0000-4000-8000-000000000002"
	for _, st := range []string{"established", "hold", "established", "hold"} {
		if code := h.post(notification(repeat, "updated", state(st))); code != http.StatusAccepted {
			t.Fatalf("webhook answered %d", code)
		}
	}
	waitFor(t, func() bool { c, _ := h.srv.View().Get(repeat); return c.State == calls.Hold })
	for id, want := range map[string]int{twice: 2, repeat: 4} {
		recs, err := h.srv.Log().History(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != want {
			t.Errorf("call %s has %d events, want %d", id, len(recs), want)
		}
	}
}
