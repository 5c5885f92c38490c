package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/alerts"
	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// apiServer is a loopback server answering the console's REST API the way
// the contract says. It records every request; fail makes a route answer
// an error in the contract's shape.
type apiServer struct {
	role console.Role

	mu     sync.Mutex
	got    []string
	fail   map[string]apiFailure
	events map[string][]console.EventEntry
	// bulkFail are the outcomes of the calls a bulk action fails on; the
	// others succeed. held are the claims others hold, by call id.
	bulkFail map[string]verbs.BulkOutcome
	held     map[string]feedwire.Claim
}

type apiFailure struct {
	status  int
	code    string
	message string
}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	query := ""
	if r.URL.RawQuery != "" {
		query = "?" + r.URL.RawQuery
	}
	s.got = append(s.got, strings.TrimSpace(key+query+" "+string(body)))
	f, failing := s.fail[key]
	events := s.events[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/calls/"), "/events")]
	held, claimed := s.held[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/calls/"), "/claim")]
	bulkFail := s.bulkFail
	s.mu.Unlock()
	if failing {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, f.code, f.message)
		return
	}
	switch {
	case key == "GET /api/me":
		json.NewEncoder(w).Encode(console.User{Name: "alice", Email: "alice@example.com", Role: s.role})
	case strings.HasSuffix(key, "/events"):
		json.NewEncoder(w).Encode(map[string]any{"events": events})
	case key == "POST /api/calls/bulk/hangup":
		var req verbs.BulkRequest
		json.Unmarshal(body, &req)
		res := verbs.BulkResult{Verb: verbs.HangUp}
		for _, id := range req.Calls {
			o, failed := bulkFail[id]
			if !failed {
				o = verbs.BulkOutcome{CallID: id, Status: http.StatusNoContent}
			}
			res.Outcomes = append(res.Outcomes, o)
		}
		json.NewEncoder(w).Encode(res)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/claim") && claimed:
		w.WriteHeader(http.StatusConflict)
		json.NewEncoder(w).Encode(map[string]any{"claim": held, "error": map[string]string{"code": "claimed", "message": held.Doing()}})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/claim"):
		w.WriteHeader(http.StatusCreated)
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/calls/"), "/claim")
		json.NewEncoder(w).Encode(map[string]any{"claim": feedwire.Claim{CallID: id, Holder: "alice", Since: t0, Until: t0.Add(30 * time.Second)}})
	case key == "GET /api/alert-rules":
		json.NewEncoder(w).Encode(alerts.Document{Revision: 4, UpdatedBy: "ada", UpdatedAt: t0,
			Rules: []alerts.Rule{{ID: "ring", Kind: alerts.Ringing, Seconds: 30, Words: "Ringing over 30 s"}}})
	case key == "PUT /api/alert-rules":
		var doc alerts.Document
		json.Unmarshal(body, &doc)
		doc.Revision++
		doc.UpdatedBy = "alice"
		json.NewEncoder(w).Encode(doc)
	case key == "GET /api/settings/privacy":
		json.NewEncoder(w).Encode(console.Privacy{})
	case key == "PUT /api/settings/privacy":
		var in struct{ MaskForViewers *bool }
		json.Unmarshal(body, &in)
		out := console.Privacy{}
		if in.MaskForViewers != nil {
			out.MaskForViewers, out.Chosen = *in.MaskForViewers, &console.PrivacyChoice{MaskForViewers: *in.MaskForViewers, By: "alice"}
		}
		json.NewEncoder(w).Encode(out)
	case key == "GET /api/audit":
		json.NewEncoder(w).Encode(map[string]any{"entries": []console.AuditEntry{{At: t0, Actor: "bob", Action: "hangup", Target: "c1", Outcome: "ok"}}})
	case r.Method == "POST":
		w.WriteHeader(http.StatusAccepted)
	case r.Method == "DELETE":
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// actions is what the server was asked, /api/me and history reads and
// claims aside.
func (s *apiServer) actions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, g := range s.got {
		if !strings.HasPrefix(g, "GET ") && !isClaim(g) {
			out = append(out, g)
		}
	}
	return out
}

// claims is what the server was asked about claims.
func (s *apiServer) claims() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, g := range s.got {
		if isClaim(g) {
			out = append(out, g)
		}
	}
	return out
}

func isClaim(request string) bool {
	method, rest, _ := strings.Cut(request, " ")
	path, _, _ := strings.Cut(rest, " ")
	return (method == "POST" || method == "DELETE") && strings.HasSuffix(path, "/claim")
}

// probeRecorder keeps what the page told its probe.
type probeRecorder struct {
	seq  uint64
	rows []map[string]uint64
}

func (p *probeRecorder) Rendered(seq, received uint64, state console.State, rows map[string]uint64) {
	p.seq = seq
	p.rows = append(p.rows, rows)
}

type fixture struct {
	t     *testing.T
	api   *apiServer
	page  *Page
	disp  app.ClientDispatcher
	probe *probeRecorder
	seq   uint64
}

// newFixture mounts a page whose REST API is a real loopback server and
// whose feed the test drives through the page's inbox.
func newFixture(t *testing.T, role console.Role) *fixture {
	t.Helper()
	api := &apiServer{role: role, fail: map[string]apiFailure{}, events: map[string][]console.EventEntry{}}
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	client, err := console.NewClient(hs.URL, console.HTTPTransport{Client: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	probe := &probeRecorder{}
	now := func() time.Time { return t0 }
	page := NewPage(&Env{API: client, Inbox: console.NewInbox(now), Now: now, Probe: probe})
	disp := app.NewClientTester(page)
	t.Cleanup(disp.Close)
	f := &fixture{t: t, api: api, page: page, disp: disp, probe: probe}
	return f
}

// feed sends messages through the inbox and flushes them, as the page's
// loop does after the websocket delivered them.
func (f *fixture) feed(msgs ...feedwire.Message) {
	f.t.Helper()
	for _, m := range msgs {
		if err := f.page.env.Inbox.Put(m); err != nil {
			f.t.Fatalf("inbox: %v", err)
		}
	}
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: f.page.Flush})
	f.disp.Consume()
}

// snapshot replaces the view with cs, marking the feed live.
func (f *fixture) snapshot(cs ...calls.Call) {
	f.t.Helper()
	f.seq += 10
	f.page.conn = console.Status{State: console.Live}
	f.feed(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: f.seq, Now: t0, Calls: cs})
}

// update sends the new state of one call.
func (f *fixture) update(c calls.Call) {
	f.t.Helper()
	f.seq++
	c.Seq = f.seq
	f.feed(feedwire.Message{Type: feedwire.TypeCall, Seq: f.seq, Call: &c})
}

func (f *fixture) html() string { return app.HTMLString(f.page) }

func call(id string, state calls.State, started time.Time) calls.Call {
	return calls.Call{
		ID: id, State: state, Direction: calls.DirectionIncoming, StartedAt: started, UpdatedAt: started,
		Source:     calls.Party{Kind: "phone", ID: "+15550" + id, Phone: "+15550" + id},
		Targets:    []calls.Party{{Kind: "application", ID: "bot-1", DisplayName: "Front desk"}},
		Modalities: []string{"audio"}, Subject: "subject " + id,
	}
}

func endedCall(id string, code, subcode int) calls.Call {
	c := call(id, calls.Terminated, t0.Add(-5*time.Minute))
	c.AnsweredAt = t0.Add(-4 * time.Minute)
	c.EndedAt = t0.Add(-time.Minute)
	c.Result = &calls.Result{Code: code, Subcode: subcode}
	return c
}
