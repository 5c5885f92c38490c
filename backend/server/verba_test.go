package server_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
	"switchboard/backend/verba"
)

// deleteCall calls the recording platform's API and returns the response code.
func (h *harness) deleteCall(key string, params url.Values) (int, string) {
	h.t.Helper()
	params.Set("action", "DeleteCall")
	params.Set("apiKey", key)
	resp, err := http.Get(h.url + "/verba/api?" + params.Encode())
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var env struct {
		Response struct {
			Code         int    `xml:"code,attr"`
			ErrorMessage string `xml:"ErrorMessage"`
		}
	}
	if err := xml.Unmarshal(data, &env); err != nil {
		h.t.Fatalf("DeleteCall answered %d with %q: %v", resp.StatusCode, data, err)
	}
	return env.Response.Code, env.Response.ErrorMessage
}

func TestDeleteCallErasesEverywhere(t *testing.T) {
	plain, key, err := verba.NewKey("crm", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	withKey := func(c *server.Config) { c.VerbaKeys = []verba.Key{key} }
	h := start(t, options{dataDir: dir, tweakCfg: withKey})
	ctx := context.Background()
	feed := h.dial(nil)
	var tb table
	tb.apply(t, feed.next())

	// An ended conversation is deleted now and leaves every console.
	ended, _ := h.sim.StartIncoming(ctx, graphsim.CallSpec{})
	h.sim.Establish(ctx, ended)
	h.sim.RemoteHangUp(ctx, ended, 200, 4097)
	kept, _ := h.sim.StartIncoming(ctx, graphsim.CallSpec{})
	waitFor(t, func() bool { c, _ := h.srv.View().Get(ended); _, ok := h.srv.View().Get(kept); return c.Ended() && ok })
	if code, msg := h.deleteCall(plain, url.Values{"callID": {ended}}); code != 0 {
		t.Fatalf("DeleteCall: code %d %s", code, msg)
	}
	for {
		m := feed.next()
		tb.apply(t, m)
		if m.Type == feedwire.TypeRemoved && m.CallID == ended {
			break
		}
	}
	since := tb.seq
	resumed := h.dial(&since)
	if m := resumed.next(); m.Type != feedwire.TypeResume {
		t.Fatalf("reconnect answered %s", m.Type)
	}
	if _, ok := h.srv.View().Get(ended); ok {
		t.Fatal("the deleted call is still in the view")
	}
	if recs, _ := h.srv.Log().History(ctx, ended); len(recs) != 0 {
		t.Fatalf("the event log still holds %d events of the deleted call", len(recs))
	}
	if code, _ := h.deleteCall(plain, url.Values{"callID": {ended}}); code != 0 {
		t.Fatal("deleting twice is an error")
	}

	// An ongoing one is marked, then deleted when the other side hangs up.
	if code, msg := h.deleteCall(plain, url.Values{"callID": {kept}}); code != 0 {
		t.Fatalf("DeleteCall of an ongoing call: code %d %s", code, msg)
	}
	feed.until(kept, func(c calls.Call) bool { return c.MarkedForDeletion })
	h.sim.RemoteHangUp(ctx, kept, 200, 4097)
	for {
		m := feed.next()
		if m.Type == feedwire.TypeRemoved && m.CallID == kept {
			break
		}
	}

	// After a restart neither comes back.
	h.close()
	h2 := start(t, options{dataDir: dir, tweakCfg: withKey})
	snap := h2.dial(nil).next()
	for _, c := range snap.Calls {
		if c.ID == ended || c.ID == kept {
			t.Fatalf("deleted call %s is back after a restart", c.ID)
		}
	}
	if code, _ := h2.deleteCall(plain, url.Values{"callID": {"no-such-call"}}); code == 0 {
		t.Fatal("an unknown call was deleted")
	}
}

// TestDeleteCallFindsCallsBeyondTheHistory: a call gone from the consoles'
// history (an hour by default; here a moment) is still found by DeleteCall
// while its events are stored, by its id, its chain id or a party's number,
// and deleting it leaves nothing: not in the log, the archive, or a resumed
// feed.
func TestDeleteCallFindsCallsBeyondTheHistory(t *testing.T) {
	plain, key, err := verba.NewKey("crm", false)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, options{tweakCfg: func(c *server.Config) {
		c.VerbaKeys = []verba.Key{key}
		c.History = 300 * time.Millisecond
	}})
	ctx := context.Background()
	feed := h.dial(nil)
	var tb table
	tb.apply(t, feed.next())
	var ids []string
	for range 3 {
		id, _ := h.sim.StartIncoming(ctx, graphsim.CallSpec{})
		h.sim.Establish(ctx, id)
		h.sim.RemoteHangUp(ctx, id, 200, 4097)
		ids = append(ids, id)
	}
	byID, byChain, byNumber := ids[0], ids[1], ids[2]
	for _, id := range ids {
		feed.until(id, func(c calls.Call) bool { return c.Ended() })
	}
	chain, number := callOf(t, h, byChain).ChainID, callOf(t, h, byNumber).Source
	waitFor(t, func() bool { return len(h.srv.View().Calls()) == 0 }) // all pruned from the history
	for _, q := range []url.Values{{"callID": {byID}}, {"platformCallID": {chain}},
		{"extension": {partyNumber(number)}, "status": {"last"}}} {
		if code, msg := h.deleteCall(plain, q); code != 0 {
			t.Fatalf("DeleteCall %v of a call beyond the history: code %d %s", q, code, msg)
		}
	}
	for _, id := range ids {
		if recs, _ := h.srv.Log().History(ctx, id); len(recs) != 0 {
			t.Errorf("the log still holds %d events of %s", len(recs), id)
		}
	}
	since := uint64(0)
	resumed := h.dial(&since)
	deadline := time.After(3 * time.Second)
	for {
		select {
		case m := <-resumed.msgs:
			if m.Call != nil && slices.Contains(ids, m.Call.ID) {
				t.Fatalf("a resumed feed carries a deleted call: %+v", m)
			}
			for _, c := range m.Calls {
				if slices.Contains(ids, c.ID) {
					t.Fatalf("a snapshot carries a deleted call: %s", c.ID)
				}
			}
			continue
		case <-deadline:
		}
		break
	}
}

// callOf reads a call from the view, failing the test if it is not there.
func callOf(t *testing.T, h *harness, id string) calls.Call {
	t.Helper()
	c, ok := h.srv.View().Get(id)
	if !ok {
		t.Fatalf("call %s not in the view", id)
	}
	return c
}

// partyNumber is a party's phone number, or its user id.
func partyNumber(p calls.Party) string {
	if p.Phone != "" {
		return p.Phone
	}
	return p.ID
}
