package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"switchboard/app/calls"
)

// apiServer is a loopback server answering the console's REST calls the way
// the contract says, recording what it was asked.
type apiServer struct {
	mu   sync.Mutex
	got  []string // "METHOD path body"
	fail map[string]int
}

func (s *apiServer) handler() http.Handler {
	mux := http.NewServeMux()
	record := func(r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		s.mu.Unlock()
	}
	reply := func(w http.ResponseWriter, r *http.Request, ok int, body any) {
		record(r)
		if status := s.fail[r.Method+" "+r.URL.Path]; status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"error":{"code":"conflict","message":"the call was already answered"}}`))
			return
		}
		if body == nil {
			w.WriteHeader(ok)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ok)
		json.NewEncoder(w).Encode(body)
	}
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		reply(w, r, 200, User{Name: "alice", Email: "alice@example.com", Role: Supervisor})
	})
	mux.HandleFunc("POST /api/calls/{id}/reject", func(w http.ResponseWriter, r *http.Request) { reply(w, r, 202, nil) })
	mux.HandleFunc("POST /api/calls/{id}/answer", func(w http.ResponseWriter, r *http.Request) { reply(w, r, 202, nil) })
	mux.HandleFunc("DELETE /api/calls/{id}", func(w http.ResponseWriter, r *http.Request) { reply(w, r, 204, nil) })
	mux.HandleFunc("DELETE /api/records/{id}", func(w http.ResponseWriter, r *http.Request) { reply(w, r, 204, nil) })
	mux.HandleFunc("GET /api/calls/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		reply(w, r, 200, map[string]any{"events": []EventEntry{{Seq: 3, Event: calls.Event{Kind: calls.KindNotification, CallID: r.PathValue("id"), At: t0}}}})
	})
	mux.HandleFunc("GET /api/audit", func(w http.ResponseWriter, r *http.Request) {
		reply(w, r, 200, map[string]any{"entries": []AuditEntry{{At: t0, Actor: "alice", Action: "hangup", Target: "c1", Outcome: "ok"}}})
	})
	mux.HandleFunc("POST /auth/logout", func(w http.ResponseWriter, r *http.Request) { reply(w, r, 204, nil) })
	return mux
}

func (s *apiServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func newAPI(t *testing.T, fail map[string]int) (*Client, *apiServer) {
	t.Helper()
	s := &apiServer{fail: fail}
	hs := httptest.NewServer(s.handler())
	t.Cleanup(hs.Close)
	c, err := NewClient(hs.URL+"/any/page?x=1", HTTPTransport{Client: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestClientRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name string
		call func(c *Client) error
		want string
	}{
		{"reject", func(c *Client) error { return c.Reject(ctx, "c/1", RejectBusy) }, `POST /api/calls/c%2F1/reject {"reason":"busy"}`},
		{"answer", func(c *Client) error { return c.Answer(ctx, "c1") }, "POST /api/calls/c1/answer "},
		{"hang up", func(c *Client) error { return c.HangUp(ctx, "c1") }, "DELETE /api/calls/c1 "},
		{"delete record", func(c *Client) error { return c.DeleteRecord(ctx, "c1") }, "DELETE /api/records/c1 "},
		{"logout", func(c *Client) error { _, err := c.Logout(ctx); return err }, "POST /auth/logout "},
		{"me", func(c *Client) error {
			u, err := c.Me(ctx)
			if err == nil && (u.Name != "alice" || u.Role != Supervisor || !u.Role.CanAct() || u.Role.IsAdmin()) {
				t.Errorf("Me = %+v", u)
			}
			return err
		}, "GET /api/me "},
		{"events", func(c *Client) error {
			evs, err := c.Events(ctx, "c9")
			if err == nil && (len(evs) != 1 || evs[0].Seq != 3 || evs[0].Event.CallID != "c9") {
				t.Errorf("Events = %+v", evs)
			}
			return err
		}, "GET /api/calls/c9/events "},
		{"audit", func(c *Client) error {
			es, err := c.Audit(ctx, 100)
			if err == nil && (len(es) != 1 || es[0].Actor != "alice") {
				t.Errorf("Audit = %+v", es)
			}
			return err
		}, "GET /api/audit?limit=100 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := newAPI(t, nil)
			if err := tt.call(c); err != nil {
				t.Fatalf("err = %v", err)
			}
			if got := s.requests(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("requests = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientErrorsInWords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _ := newAPI(t, map[string]int{"POST /api/calls/c1/answer": http.StatusConflict, "GET /api/me": http.StatusUnauthorized})
	err := c.Answer(ctx, "c1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 409 || ae.Code != "conflict" || err.Error() != "the call was already answered" {
		t.Errorf("Answer = %#v, want the server's message", err)
	}
	if _, err := c.Me(ctx); !IsUnauthorized(err) {
		t.Errorf("Me = %v, want unauthorized", err)
	}
	if err := c.Reject(ctx, "c1", "Later"); err == nil {
		t.Errorf("Reject with a bad reason was sent")
	}
	if err := (&APIError{Status: 502}).Error(); err != "the server answered 502 Bad Gateway" {
		t.Errorf("bare 502 reads %q", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	base := hs.URL
	hs.Close() // nothing listens there any more
	c, err := NewClient(base, HTTPTransport{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.HangUp(ctx, "c1"); err == nil || IsUnauthorized(err) {
		t.Errorf("HangUp to a closed server = %v", err)
	}
}

func TestNewClientNeedsAnOrigin(t *testing.T) {
	for _, base := range []string{"", "ws://x", "/relative", "http://"} {
		if _, err := NewClient(base, HTTPTransport{}); err == nil {
			t.Errorf("NewClient(%q) accepted", base)
		}
	}
}
