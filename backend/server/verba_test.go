package server_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"testing"

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
