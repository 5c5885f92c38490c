package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

func TestViewerMayNotAct(t *testing.T) {
	h := start(t, options{})
	id, err := h.sim.StartIncoming(context.Background(), graphsim.CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, ok := h.srv.View().Get(id); return ok })
	viewer := h.login("victor")
	var list struct{ Calls []any }
	if st := h.getJSON(viewer, "/api/calls", &list); st != http.StatusOK || len(list.Calls) != 1 {
		t.Fatalf("a viewer could not see the calls: %d", st)
	}
	for _, a := range []struct{ method, path, body string }{
		{"POST", "/api/calls/" + id + "/reject", `{"reason":"busy"}`},
		{"POST", "/api/calls/" + id + "/answer", ""},
		{"DELETE", "/api/calls/" + id, ""},
		{"POST", "/api/calls/bulk/hangup", `{"calls":["` + id + `"]}`},
		{"DELETE", "/api/records/" + id, ""},
		{"GET", "/api/audit", ""},
	} {
		if st, msg := h.doAs(viewer, a.method, a.path, a.body); st != http.StatusForbidden || msg == "" {
			t.Errorf("viewer %s %s: %d %q, want 403 with a reason", a.method, a.path, st, msg)
		}
		if st, _ := h.doAs(http.DefaultClient, a.method, a.path, a.body); st != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: %d, want 401", a.method, a.path, st)
		}
	}
	for _, r := range h.sim.Requests() {
		if r.CallID == id && r.Method != "GET" {
			t.Fatalf("Graph was asked to act for a viewer: %s %s", r.Method, r.Path)
		}
	}
	// A supervisor may, and the audit trail shows who did.
	if st, msg := h.do("POST", "/api/calls/"+id+"/reject", `{"reason":"forbidden"}`); st != http.StatusAccepted {
		t.Fatalf("supervisor reject: %d %s", st, msg)
	}
	var trail struct {
		Entries []struct{ Actor, Action, Target, Outcome string }
	}
	if st := h.getJSON(h.login("ada"), "/api/audit?target="+id, &trail); st != http.StatusOK {
		t.Fatalf("admin audit: %d", st)
	}
	if len(trail.Entries) != 1 || trail.Entries[0].Actor != "alice" || trail.Entries[0].Action != "reject" || trail.Entries[0].Outcome != "ok" {
		t.Fatalf("audit trail: %+v", trail.Entries)
	}
}

func TestForgedNotificationsAreRefused(t *testing.T) {
	h := start(t, options{})
	other, err := graphsim.New(graphsim.Config{CallbackURL: h.url, TenantID: "tenant-1", ClientID: "client-1", ClientSecret: "x", AppID: "client-1"})
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.NotificationToken() // right claims, somebody else's key
	wrongTenant := mustSim(t, "tenant-2", "client-1")
	wrongAudience := mustSim(t, "tenant-1", "someone-else")
	body := notification("f0f0f0f0-0000-4000-8000-000000000001", "created", incomingData)
	for name, token := range map[string]string{"none": "", "garbage": "not.a.jwt", "forged": forged, "wrong tenant": wrongTenant, "wrong audience": wrongAudience} {
		if st := h.postWithToken(body, token); st != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", name, st)
		}
	}
	if n, _ := h.srv.Log().LastSeq(context.Background()); n != 0 {
		t.Fatalf("refused notifications reached the log: last seq %d", n)
	}
	if st := h.post(body); st != http.StatusAccepted {
		t.Fatalf("a correctly signed notification: %d", st)
	}
}

// mustSim returns a notification token signed with a simulator's own key for
// the given tenant and audience. Its key is unknown to the server under test.
func mustSim(t *testing.T, tenant, app string) string {
	t.Helper()
	s, err := graphsim.New(graphsim.Config{CallbackURL: "http://127.0.0.1:1/", TenantID: tenant, ClientID: "c", ClientSecret: "x", AppID: app})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.NotificationToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestFeedChecksOriginAndSession(t *testing.T) {
	h := start(t, options{})
	if _, resp, err := h.dialAs(h.client, "https://evil.example", nil); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a feed from another origin: %v %v, want 403", err, resp)
	}
	if _, resp, err := h.dialAs(http.DefaultClient, h.url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a feed without a session: %v %v, want 401", err, resp)
	}
}

func TestLogoutClosesFeedsOnEveryReplica(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	natsAddr := ln.Addr().String()
	ln.Close()
	a := start(t, options{natsListen: natsAddr})
	// Behind a load balancer both replicas have one public URL; here each
	// has its own, so b accepts a's origin.
	b := start(t, options{natsURL: "nats://" + natsAddr, tweakCfg: func(c *server.Config) { c.AllowedOrigins = []string{a.url} }})
	// One session, used on both replicas (a load balancer may send the
	// browser anywhere).
	alice := a.login("alice")
	connA, _, err := a.dialAs(alice, a.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	connB, _, err := b.dialAs(alice, a.url, nil) // the page's origin is replica a's public URL
	if err != nil {
		t.Fatalf("replica b refused replica a's session: %v", err)
	}
	if st, _ := a.doAs(alice, "POST", "/auth/logout", ""); st >= 400 {
		t.Fatalf("logout: %d", st)
	}
	for name, conn := range map[string]*websocket.Conn{"a": connA, "b": connB} {
		if reason := closeReason(conn); reason != feedwire.ReasonLoggedOut {
			t.Errorf("replica %s closed the feed with %q, want %q", name, reason, feedwire.ReasonLoggedOut)
		}
	}
	if st, _ := b.doAs(alice, "GET", "/api/calls", ""); st != http.StatusUnauthorized {
		t.Fatalf("replica b still honours the ended session: %d", st)
	}
}

// closeReason reads until the server closes the connection.
func closeReason(conn *websocket.Conn) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := conn.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Reason
		}
		return fmt.Sprintf("no close frame: %v", err)
	}
}

func TestIdleSessionExpiryClosesTheFeed(t *testing.T) {
	h := start(t, options{tweakCfg: func(c *server.Config) { c.IdleTimeout = 2 * time.Second }})
	conn, _, err := h.dialAs(h.client, h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reason := closeReason(conn); reason != feedwire.ReasonLoggedOut {
		t.Fatalf("an expired session's feed closed with %q", reason)
	}
}
