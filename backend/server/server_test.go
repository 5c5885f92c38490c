package server_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

// notification builds a commsNotifications body with one notification.
func notification(id, changeType, resourceData string) string {
	return fmt.Sprintf(`{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification",`+
		`"changeType":%q,"resourceUrl":"/communications/calls/%s","resource":"/app/calls/%s","resourceData":%s}]}`, changeType, id, id, resourceData)
}

func state(s string) string {
	return fmt.Sprintf(`{"@odata.type":"#microsoft.graph.call","state":%q}`, s)
}

const incomingData = `{"@odata.type":"#microsoft.graph.call","state":"incoming","direction":"incoming",` +
	`"source":{"identity":{"user":{"displayName":"John","id":"112f7296-5fa4-42ca-bae8-6a692b15d4b8"}}},` +
	`"targets":[{"identity":{"application":{"displayName":"Calling Bot","id":"2891555a-92ff-42e6-80fa-6e1300c6b5c6"}}}],"requestedModalities":["audio","video"]}`

const endedData = `{"@odata.type":"#microsoft.graph.call","state":"terminated","resultInfo":{"@odata.type":"#microsoft.graph.resultInfo","code":"200","subcode":"5001","message":"The conversation has ended."}}`

func TestSeedNotificationsProduceTheFeed(t *testing.T) {
	h := start(t, options{})
	feed := h.dial(nil)
	if m := feed.next(); m.Type != feedwire.TypeSnapshot || len(m.Calls) != 0 || m.Now.IsZero() {
		t.Fatalf("first message = %+v, want an empty snapshot with the server's clock", m)
	}
	const id = "57dab8b1-894c-409a-b240-bd8beae78896"
	for _, body := range []string{notification(id, "created", incomingData), notification(id, "updated", state("terminating")), notification(id, "deleted", endedData)} {
		if got := h.post(body); got != http.StatusAccepted {
			t.Fatalf("webhook answered %d", got)
		}
	}
	var got []string
	var last calls.Call
	for len(got) < 3 {
		m := feed.next()
		got = append(got, fmt.Sprintf("%s %s", m.Type, m.Call.State))
		last = *m.Call
	}
	if want := []string{"call incoming", "call terminating", "call terminated"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("feed = %v, want %v", got, want)
	}
	if last.Result == nil || *last.Result != (calls.Result{Code: 200, Subcode: 5001, Message: "The conversation has ended."}) || last.Source.DisplayName != "John" {
		t.Fatalf("ended call = %+v", last)
	}

	// Reject, as seed 002 shows it: created, then deleted with no state.
	const rid = "11111111-2222-4333-8444-555555555555"
	h.post(notification(rid, "created", incomingData))
	h.post(notification(rid, "deleted", `{"@odata.type":"#microsoft.graph.call","@odata.id":"/communications/calls/`+rid+`"}`))
	feed.until(rid, func(c calls.Call) bool { return c.State == calls.Incoming })
	c := feed.until(rid, func(c calls.Call) bool { return c.Ended() })
	if c.Result != nil {
		t.Fatalf("rejected call has a result: %+v", c.Result)
	}
}

func TestDuplicatesAndReorderingConverge(t *testing.T) {
	h := start(t, options{})
	const id = "c0ffee00-0000-4000-8000-000000000001"
	inOrder := []string{
		notification(id, "created", incomingData),
		notification(id, "updated", state("establishing")),
		notification(id, "updated", state("established")),
		notification(id, "updated", state("terminating")),
		notification(id, "deleted", endedData),
	}
	// Redelivered at once (0, 4), late (2 after 1, 4 after 3), and an
	// update after the end.
	messy := []string{inOrder[0], inOrder[0], inOrder[2], inOrder[1], inOrder[2], inOrder[4], inOrder[4], inOrder[3], inOrder[4],
		notification(id, "updated", `{"state":"established","subject":"late"}`)}
	const other = "c0ffee00-0000-4000-8000-000000000002"
	for _, body := range inOrder {
		h.post(strings.ReplaceAll(body, id, other))
	}
	for _, body := range messy {
		if got := h.post(body); got != http.StatusAccepted {
			t.Fatalf("webhook answered %d", got)
		}
	}
	waitFor(t, func() bool {
		a, okA := h.srv.View().Get(id)
		b, okB := h.srv.View().Get(other)
		return okA && okB && a.Ended() && b.Ended()
	})
	a, _ := h.srv.View().Get(id)
	b, _ := h.srv.View().Get(other)
	if a.State != b.State || !reflect.DeepEqual(a.Result, b.Result) || a.AnsweredAt.IsZero() != b.AnsweredAt.IsZero() {
		t.Fatalf("messy delivery gave %+v, ordered gave %+v", a, b)
	}
	// A redelivery of the call's latest notification never reached the log.
	recs, err := h.srv.Log().History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject == "late" {
		t.Fatal("a notification after the end changed the call")
	}
	if len(recs) != 8 { // 10 deliveries, of which 2 repeat the latest
		t.Fatalf("history holds %d events, want 8 (immediate redeliveries dropped)", len(recs))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}

// callBodies is a day of many short calls, as notification bodies.
func callBodies(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("5eed0000-0000-4000-8000-%012d", i)
		out = append(out, notification(id, "created", incomingData), notification(id, "updated", state("established")))
		if i%2 == 0 {
			out = append(out, notification(id, "deleted", endedData))
		}
	}
	return out
}

func TestResumeSeesEveryEventOnce(t *testing.T) {
	h := start(t, options{})
	steady := h.dial(nil)
	var want table
	want.apply(t, steady.next())
	cut := h.dial(nil)
	var got table
	got.apply(t, cut.next())

	bodies := callBodies(60)
	for _, b := range bodies[:80] {
		h.post(b)
	}
	// Read part of the stream, then cut the connection mid-stream.
	for i := 0; i < 50; i++ {
		got.apply(t, cut.next())
	}
	cut.conn.CloseNow()
	for _, b := range bodies[80:] {
		h.post(b)
	}
	since := got.seq
	resumed := h.dial(&since)
	if m := resumed.next(); m.Type != feedwire.TypeResume || m.Seq != since {
		t.Fatalf("reconnect answered %+v, want a resume at %d", m, since)
	}
	final, err := h.srv.Log().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for got.seq < final {
		got.apply(t, resumed.next())
	}
	for want.seq < final {
		want.apply(t, steady.next())
	}
	if !reflect.DeepEqual(got.calls, want.calls) {
		t.Fatalf("resumed table differs from the uninterrupted one (%d vs %d calls)", len(got.calls), len(want.calls))
	}

	// A since the server cannot vouch for gets a snapshot, never a silent gap.
	future := final + 1000
	if m := h.dial(&future).next(); m.Type != feedwire.TypeSnapshot || m.Seq != final {
		t.Fatalf("unknown since answered %s at %d, want a snapshot at %d", m.Type, m.Seq, final)
	}
}

func TestRestartKeepsTheSnapshot(t *testing.T) {
	dir := t.TempDir()
	// The simulator knows none of these calls: checking them at start
	// would end them all (TestStartupEndsGhosts covers that).
	noCheck := func(c *server.Config) { c.StartupCheckRate = -1 }
	h := start(t, options{dataDir: dir, tweakCfg: noCheck})
	for _, b := range callBodies(40) {
		h.post(b)
	}
	last, err := h.srv.Log().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Every event applied, not only every call seen: the last end may lag.
	waitFor(t, func() bool { return len(h.srv.View().Calls()) == 40 && h.srv.View().Seq() == last })
	before := h.dial(nil).next()
	h.close()

	h2 := start(t, options{dataDir: dir, tweakCfg: noCheck})
	after := h2.dial(nil).next()
	if after.Seq != before.Seq || !reflect.DeepEqual(after.Calls, before.Calls) {
		t.Fatalf("after a restart the snapshot changed: seq %d→%d, %d→%d calls", before.Seq, after.Seq, len(before.Calls), len(after.Calls))
	}
	// A console that was connected before the restart resumes exactly.
	since := before.Seq
	if m := h2.dial(&since).next(); m.Type != feedwire.TypeResume {
		t.Fatalf("resume after restart answered %s", m.Type)
	}
}

func TestWebhookRefusesBadInput(t *testing.T) {
	h := start(t, options{})
	tests := []struct {
		name, contentType, body string
		want                    int
		says                    string
	}{
		{"malformed", "application/json", `{"value":[`, 400, "not a JSON object"},
		{"not comms", "application/json", `{"@odata.type":"#microsoft.graph.user"}`, 400, "not #microsoft.graph.commsNotifications"},
		{"wrong type", "text/plain", notification("a", "updated", state("hold")), 415, "application/json"},
		{"too large", "application/json", `{"value":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", h.url+"/api/graph/notifications", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			token, _ := h.sim.NotificationToken()
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error struct{ Message string } }
			decodeJSON(t, resp, &e)
			if resp.StatusCode != tt.want || !strings.Contains(e.Error.Message, tt.says) {
				t.Fatalf("got %d %q, want %d saying %q", resp.StatusCode, e.Error.Message, tt.want, tt.says)
			}
		})
	}
	if n := len(h.srv.View().Calls()); n != 0 {
		t.Fatalf("refused notifications recorded %d calls", n)
	}
}

func TestActionsRoundTripThroughGraph(t *testing.T) {
	h := start(t, options{})
	ctx := context.Background()
	feed := h.dial(nil)
	feed.next()

	// Reject with busy: Graph is asked, and its deleted notification ends the call.
	id, err := h.sim.StartIncoming(ctx, graphsim.CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	feed.until(id, func(c calls.Call) bool { return c.State == calls.Incoming })
	if st, msg := h.do("POST", "/api/calls/"+id+"/reject", `{"reason":"Busy"}`); st != http.StatusAccepted {
		t.Fatalf("reject: %d %s", st, msg)
	}
	c := feed.until(id, func(c calls.Call) bool { return c.Ended() })
	if c.EndedBy == "" && c.LastAction == nil {
		c = feed.until(id, func(c calls.Call) bool { return c.EndAction == verbs.Reject })
	}
	if !simSaw(h.sim, "reject", id) {
		t.Fatal("the simulator never received the reject")
	}

	// Answer, then hang up: terminating, then terminated 200/5001.
	id, _ = h.sim.StartIncoming(ctx, graphsim.CallSpec{})
	feed.until(id, func(c calls.Call) bool { return c.State == calls.Incoming })
	if st, msg := h.do("POST", "/api/calls/"+id+"/answer", ""); st != http.StatusAccepted {
		t.Fatalf("answer: %d %s", st, msg)
	}
	feed.until(id, func(c calls.Call) bool { return c.State == calls.Established })
	st, msg := h.do("POST", "/api/calls/"+id+"/reject", `{"reason":"none"}`)
	if st != http.StatusConflict || !strings.Contains(msg, "already answered") {
		t.Fatalf("reject of an established call: %d %q, want 409 saying it was already answered", st, msg)
	}
	if st, msg := h.do("DELETE", "/api/calls/"+id, ""); st != http.StatusNoContent {
		t.Fatalf("hang up: %d %s", st, msg)
	}
	feed.until(id, func(c calls.Call) bool { return c.State == calls.Terminating })
	c = feed.until(id, func(c calls.Call) bool { return c.Ended() })
	if c.Result == nil || c.Result.Code != 200 || c.Result.Subcode != 5001 {
		t.Fatalf("hung-up call ended with %+v", c.Result)
	}
	waitFor(t, func() bool {
		c, _ := h.srv.View().Get(id)
		return c.EndedBy == "alice" && c.EndAction == verbs.HangUp
	})

	// The error paths.
	tests := []struct {
		method, path, body string
		want               int
		says               string
	}{
		{"DELETE", "/api/calls/" + id, "", 409, "already ended"},
		{"POST", "/api/calls/" + id + "/reject", `{"reason":"maybe"}`, 400, `"maybe" is not`},
		{"POST", "/api/calls/" + id + "/reject", `{"reason":`, 400, "not valid JSON"},
		{"POST", "/api/calls/nope/reject", `{"reason":"busy"}`, 404, "no call"},
		{"DELETE", "/api/calls/nope", "", 404, "no call"},
		{"POST", "/api/calls/" + id + "/answer", "", 409, "already ended"},
	}
	for _, tt := range tests {
		if st, msg := h.do(tt.method, tt.path, tt.body); st != tt.want || !strings.Contains(msg, tt.says) {
			t.Errorf("%s %s: %d %q, want %d saying %q", tt.method, tt.path, st, msg, tt.want, tt.says)
		}
	}
}

func simSaw(sim *graphsim.Sim, action, id string) bool {
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, id) && strings.HasSuffix(r.Path, action) {
			return true
		}
	}
	return false
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := jsonDecode(resp.Body, v); err != nil {
		t.Fatalf("decode %s: %v", resp.Request.URL.Path, err)
	}
}
