package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"switchboard/backend/graphsim"
	"switchboard/backend/server"
)

// TestAlertsThroughTheServer: only admins read and change the rules, only
// supervisors acknowledge; a call left ringing past a rule's threshold
// gets its alert from the running replica.
func TestAlertsThroughTheServer(t *testing.T) {
	h := start(t, options{tweakCfg: func(c *server.Config) { c.AlertEvery = 100 * time.Millisecond }})
	viewer, admin := h.login("victor"), h.login("ada")
	rules := `{"rules":[{"id":"ring","kind":"ringing","seconds":1}]}`
	for _, a := range []struct {
		c            *http.Client
		method, path string
		body         string
		want         int
	}{
		{viewer, "GET", "/api/alert-rules", "", http.StatusForbidden},
		{h.client, "GET", "/api/alert-rules", "", http.StatusForbidden},
		{h.client, "PUT", "/api/alert-rules", rules, http.StatusForbidden},
		{viewer, "POST", "/api/calls/x/alerts/ring/acknowledge", "", http.StatusForbidden},
		{http.DefaultClient, "PUT", "/api/alert-rules", rules, http.StatusUnauthorized},
		{admin, "PUT", "/api/alert-rules", `{"rules":[{"kind":"ringing"}]}`, http.StatusBadRequest},
		{admin, "PUT", "/api/alert-rules", rules, http.StatusOK},
		{admin, "GET", "/api/alert-rules", "", http.StatusOK},
	} {
		if st, msg := h.doAs(a.c, a.method, a.path, a.body); st != a.want {
			t.Fatalf("%s %s: %d %q, want %d", a.method, a.path, st, msg, a.want)
		}
	}
	id, err := h.sim.StartIncoming(context.Background(), graphsim.CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		c, _ := h.srv.View().Get(id)
		_, ok := c.Alert("ring")
		return ok
	})
	if st, msg := h.do("POST", "/api/calls/"+id+"/alerts/ring/acknowledge", ""); st != http.StatusNoContent {
		t.Fatalf("a supervisor's acknowledgement: %d %q", st, msg)
	}
	waitFor(t, func() bool {
		c, _ := h.srv.View().Get(id)
		a, _ := c.Alert("ring")
		return a.AckedBy == "alice"
	})
}
