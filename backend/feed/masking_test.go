package feed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// secretView holds one call from an external number.
type secretView struct{}

func (v *secretView) EncodedSnapshot() (uint64, [][]byte, uint64) {
	return 1, [][]byte{[]byte(`{"id":"s","source":{"kind":"phone","phone":"+14255550123"}}`)}, 1
}

func (v *secretView) MaskedSnapshot() (uint64, [][]byte, uint64) {
	return 1, [][]byte{[]byte(`{"id":"s","source":{"kind":"phone","phone":"•••• 0123"}}`)}, 1
}

func secretMsg(seq uint64) feedwire.Message {
	return feedwire.Message{Type: feedwire.TypeCall, Seq: seq,
		Call: &calls.Call{ID: "s", Seq: seq, Source: calls.Party{Kind: "phone", ID: "+14255550123", Phone: "+14255550123"}}}
}

// rawRead reads frames from c until their bytes hold want.
func rawRead(t *testing.T, c *websocket.Conn, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var all strings.Builder
	for !strings.Contains(all.String(), want) {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v; got so far:\n%s", err, all.String())
		}
		all.Write(data)
		all.WriteByte('\n')
	}
	return all.String()
}

// TestViewersReadMaskedAndOthersInFull: a viewer's console (redacted)
// gets the masked snapshot and masked changes, including changes published
// before masking was on; a supervisor's gets everything; turning masking
// off sends viewers back for a fresh view.
func TestViewersReadMaskedAndOthersInFull(t *testing.T) {
	view := &secretView{}
	h := NewHub(view, Options{Redacted: func(r *http.Request) bool { return r.URL.Query().Get("role") == "viewer" }})
	h.CaughtUp()
	h.Reset(1)
	srv := httptest.NewServer(h.Handler(nil))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	h.Publish(2, []feedwire.Message{secretMsg(2)}) // before masking: no masked copy yet
	h.SetMasking(true)
	viewer, other := dial(t, url+"?role=viewer&since=1"), dial(t, url+"?role=supervisor&since=1")
	viewer2 := dial(t, url+"?role=viewer")
	waitClients(t, h, 3)
	h.Publish(3, []feedwire.Message{secretMsg(3)})

	for name, c := range map[string]*websocket.Conn{"viewer": viewer, "second viewer": viewer2} {
		got := rawRead(t, c, `"seq":3`)
		if strings.Contains(got, "4255550123") || !strings.Contains(got, "•••• 0123") {
			t.Errorf("the %s read:\n%s", name, got)
		}
		if strings.Contains(got, `"type":"resume"`) {
			t.Errorf("the %s resumed from a view held before masking was on:\n%s", name, got)
		}
	}
	if got := rawRead(t, other, `"seq":3`); !strings.Contains(got, "+14255550123") || !strings.Contains(got, `"type":"resume"`) {
		t.Errorf("the supervisor read:\n%s", got)
	}

	h.SetMasking(false)
	for _, c := range []*websocket.Conn{viewer, viewer2} {
		if _, ce := readUntilClose(t, c, 0); ce.Reason != feedwire.ReasonRefresh {
			t.Errorf("a viewer's feed closed with %q, want the refresh reason", ce.Reason)
		}
	}
	waitClients(t, h, 1) // the supervisor's stays
	if got := rawRead(t, dial(t, url+"?role=viewer&since=3"), "+14255550123"); !strings.Contains(got, `"type":"snapshot"`) {
		t.Errorf("a viewer coming back after masking went off did not get a fresh view:\n%s", got)
	}
}
