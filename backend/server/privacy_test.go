package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
	"switchboard/app/historyquery"
	"switchboard/backend/server"
)

// The number and name of the external caller the privacy tests follow,
// and how they read masked.
const (
	secretNumber = "+14255550123"
	secretDigits = "4255550123"
	secretName   = "Grace Hopper"
	maskedNumber = "•••• 0123"
)

// rawFeed opens the feed as c and returns every byte it carries until it
// holds want (or until the wait is over), and the connection.
func rawFeed(t *testing.T, h *harness, c *http.Client, want string) (*websocket.Conn, []byte) {
	t.Helper()
	conn, resp, err := h.dialAs(c, h.url, nil)
	if err != nil {
		t.Fatalf("feed: %v (%v)", err, resp)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(64 << 20)
	return conn, readUntil(t, conn, want)
}

func readUntil(t *testing.T, conn *websocket.Conn, want string) []byte {
	t.Helper()
	var all []byte
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !bytes.Contains(all, []byte(want)) {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("feed ended before it carried %q (%v); it carried:\n%s", want, err, all)
		}
		all = append(all, data...)
		all = append(all, '\n')
	}
	return all
}

// get reads path as c and returns the status and body.
func get(t *testing.T, h *harness, c *http.Client, path string) (int, []byte) {
	t.Helper()
	resp, err := c.Get(h.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func carriesSecret(b []byte) bool {
	return bytes.Contains(b, []byte(secretDigits)) || bytes.Contains(b, []byte(secretName))
}

// TestViewersNeverReceiveAnUnmaskedNumber: with masking on, nothing a
// viewer's browser receives (the feed's bytes, the REST reads, history
// and its CSV) carries the external caller's number or name; a
// supervisor's does.
func TestViewersNeverReceiveAnUnmaskedNumber(t *testing.T) {
	h := start(t, options{tweakCfg: func(c *server.Config) { c.MaskForViewers = true }})
	const live, ended = "c1111111-2222-4333-8444-555555555555", "d1111111-2222-4333-8444-555555555555"
	h.post(notification(live, "created", phoneCallData(secretNumber, secretName)))
	h.post(notification(ended, "created", phoneCallData(secretNumber, secretName)))
	h.post(notification(ended, "deleted", endedData))
	viewer := h.login("victor")

	_, bytesSeen := rawFeed(t, h, viewer, ended) // the snapshot, or the changes that follow it
	if carriesSecret(bytesSeen) || !strings.Contains(string(bytesSeen), maskedNumber) {
		t.Fatalf("a viewer's feed carried:\n%s", bytesSeen)
	}
	// A change after the viewer connected is masked too.
	conn, _ := rawFeed(t, h, viewer, live)
	h.post(notification(live, "updated", state("established")))
	if b := readUntil(t, conn, "established"); carriesSecret(b) {
		t.Fatalf("a change on a viewer's feed carried:\n%s", b)
	}

	historyPage(t, h, viewer, nil, func(p historyquery.Page) bool { return len(p.Rows) == 1 })
	for _, path := range []string{"/api/calls", "/api/calls/" + live, "/api/calls/" + live + "/events",
		"/api/history", "/api/history.csv", "/api/history/" + ended + "/events", "/api/history?party=" + secretDigits} {
		st, body := get(t, h, viewer, path)
		if st != http.StatusOK || carriesSecret(body) {
			t.Errorf("a viewer's %s answered %d:\n%s", path, st, body)
		}
	}
	// A viewer cannot find the call by the number it may not read.
	if _, body := get(t, h, viewer, "/api/history?party=5550123"); strings.Contains(string(body), ended) {
		t.Errorf("a viewer found the call by its masked digits: %s", body)
	}

	supervisor := h.client // alice
	if _, b := rawFeed(t, h, supervisor, secretNumber); !bytes.Contains(b, []byte(secretName)) {
		t.Errorf("a supervisor's feed lacks the caller's name:\n%s", b)
	}
	for _, path := range []string{"/api/calls/" + live, "/api/history.csv", "/api/history/" + ended + "/events"} {
		if st, body := get(t, h, supervisor, path); st != http.StatusOK || !bytes.Contains(body, []byte(secretDigits)) {
			t.Errorf("a supervisor's %s answered %d without the number:\n%s", path, st, body)
		}
	}
}

// TestAnAdminTurnsMaskingOnForEveryViewer: the flag is off; an admin turns
// masking on in the console: the viewer's open feed is closed, comes back
// masked, and the change is audited.
func TestAnAdminTurnsMaskingOnForEveryViewer(t *testing.T) {
	h := start(t, options{})
	const id = "e1111111-2222-4333-8444-555555555555"
	h.post(notification(id, "created", phoneCallData(secretNumber, secretName)))
	viewer, admin := h.login("victor"), h.login("ada")
	conn, b := rawFeed(t, h, viewer, secretNumber)
	if !carriesSecret(b) {
		t.Fatalf("with masking off a viewer's feed lacks the number:\n%s", b)
	}
	if st, msg := h.doAs(viewer, "PUT", "/api/settings/privacy", `{"maskForViewers":true}`); st != http.StatusForbidden {
		t.Fatalf("a viewer changing the setting: %d %s", st, msg)
	}
	if st, msg := h.doAs(admin, "PUT", "/api/settings/privacy", `{"mask":true}`); st != http.StatusBadRequest {
		t.Fatalf("a malformed setting: %d %s", st, msg)
	}
	if st, msg := h.doAs(admin, "PUT", "/api/settings/privacy", `{"maskForViewers":true}`); st != http.StatusOK {
		t.Fatalf("the admin's change: %d %s", st, msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := conn.Read(ctx)
		if err == nil {
			continue
		}
		if websocket.CloseStatus(err) == -1 || !strings.Contains(err.Error(), feedwire.ReasonRefresh) {
			t.Fatalf("the viewer's feed ended with %v, want the refresh reason", err)
		}
		break
	}
	if _, b := rawFeed(t, h, viewer, maskedNumber); carriesSecret(b) {
		t.Fatalf("after masking was turned on a viewer's feed carried:\n%s", b)
	}
	var entries struct {
		Entries []struct{ Actor, Action, Detail string }
	}
	h.getJSON(admin, "/api/audit", &entries)
	found := false
	for _, e := range entries.Entries {
		found = found || e.Action == "privacy_setting" && e.Actor == "ada" && strings.Contains(e.Detail, "on")
	}
	if !found {
		t.Fatalf("the change is not audited: %+v", entries.Entries)
	}
}
