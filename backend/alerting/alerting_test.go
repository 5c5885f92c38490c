package alerting_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"switchboard/app/alerts"
	"switchboard/app/calls"
	"switchboard/app/feedwire"
	"switchboard/app/reasons"
	"switchboard/backend/alerting"
	"switchboard/backend/audit"
	"switchboard/backend/eventlog"
	"switchboard/backend/liveview"
	"switchboard/backend/metrics"
	"switchboard/backend/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestRulesStore(t *testing.T) {
	ctx := context.Background()
	rules, err := alerting.OpenRules(ctx, natstest.JetStream(t), alerting.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := rules.Load(ctx)
	if err != nil || doc.Rules == nil || len(doc.Rules) != 0 || doc.Revision != 0 {
		t.Fatalf("fresh bucket: %+v, %v; want no rules at revision 0", doc, err)
	}
	if err := alerts.Validate(alerting.DemoRules()); err != nil {
		t.Fatalf("the demo's rules: %v", err)
	}
	if seeded, err := rules.Seed(ctx, alerting.DemoRules(), "switchboard", time.Now()); !seeded || err != nil {
		t.Fatalf("Seed on a fresh bucket: %v, %v", seeded, err)
	}
	if doc, err := rules.Load(ctx); err != nil || len(doc.Rules) != len(alerting.DemoRules()) || doc.UpdatedBy != "switchboard" {
		t.Fatalf("seeded rules: %+v, %v", doc, err)
	}
	set := alerts.Normalize([]alerts.Rule{{Kind: alerts.Ringing, Seconds: 30}})
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	first, err := rules.Save(ctx, set, "ada", at, 0)
	if err != nil || first.Revision == 0 {
		t.Fatalf("Save: %+v, %v", first, err)
	}
	if _, err := rules.Save(ctx, nil, "bob", at, first.Revision+7); !errors.Is(err, alerting.ErrConflict) {
		t.Fatalf("save at a stale revision: %v, want ErrConflict", err)
	}
	if seeded, err := rules.Seed(ctx, alerting.DemoRules(), "switchboard", time.Now()); seeded || err != nil {
		t.Fatalf("Seed over stored rules: %v, %v", seeded, err)
	}
	second, err := rules.Save(ctx, nil, "bob", at, first.Revision)
	if err != nil || second.Revision <= first.Revision {
		t.Fatalf("save at the current revision: %+v, %v", second, err)
	}
	if _, err := rules.Save(ctx, set, "carol", at, first.Revision); !errors.Is(err, alerting.ErrConflict) {
		t.Fatalf("save at the revision before the last: %v, want ErrConflict", err)
	}
	doc, err = rules.Load(ctx)
	if err != nil || len(doc.Rules) != 0 || doc.UpdatedBy != "bob" || doc.Revision != second.Revision || !doc.UpdatedAt.Equal(at) {
		t.Fatalf("Load after saves: %+v, %v", doc, err)
	}
}

// stack is one NATS server with the event log, the audit trail, the rules,
// and replicas: each a live view with its watcher, as the server runs them.
type stack struct {
	t     *testing.T
	ns    *server.Server
	log   *eventlog.Log
	audit *audit.Log
	rules *alerting.Rules
}

func newStack(t *testing.T) *stack {
	ns := natstest.Server(t)
	js := natstest.Connect(t, ns)
	ctx := context.Background()
	log, err := eventlog.Open(ctx, js, eventlog.Options{WriterLeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(ctx, js, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := alerting.OpenRules(ctx, js, alerting.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &stack{t: t, ns: ns, log: log, audit: trail, rules: rules}
}

type nopPublisher struct{}

func (nopPublisher) Reset(uint64)                       {}
func (nopPublisher) Publish(uint64, []feedwire.Message) {}
func (nopPublisher) CaughtUp()                          {}

type replica struct {
	view    *liveview.View
	metrics *metrics.Metrics
	api     *httptest.Server
}

// replica starts a view and its watcher on a connection of their own.
func (s *stack) replica(name string) *replica {
	t := s.t
	ctx, cancel := context.WithCancel(context.Background())
	js := natstest.Connect(t, s.ns)
	log, err := eventlog.Open(ctx, js, eventlog.Options{WriterLeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := alerting.OpenRules(ctx, js, alerting.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(prometheus.NewRegistry())
	view := liveview.New(log, nopPublisher{}, liveview.Options{Owner: name, SaveEvery: 50 * time.Millisecond, Logger: quiet})
	w := &alerting.Watcher{Rules: rules, View: view, Log: log, Every: 50 * time.Millisecond, Metrics: m, Logger: quiet}
	done := make(chan struct{}, 2)
	go func() { view.Run(ctx); done <- struct{}{} }()
	go func() { w.Run(ctx); done <- struct{}{} }()
	mux := http.NewServeMux()
	api := &alerting.API{Rules: rules, View: view, Log: log, Audit: s.audit, Metrics: m, Logger: quiet,
		Actor: func(r *http.Request) string { return r.Header.Get("X-Test-User") }}
	api.Routes(mux, nil)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); cancel(); <-done; <-done })
	return &replica{view: view, metrics: m, api: srv}
}

func (s *stack) notify(id string, st calls.State, result *calls.Result) {
	s.t.Helper()
	ch := &calls.Change{ChangeType: "updated", Resource: calls.ResourceCall, State: st, Result: result}
	if st == calls.Terminated {
		ch.ChangeType = "deleted"
	}
	if _, err := s.log.Append(context.Background(), []eventlog.Entry{{Event: calls.Event{Kind: calls.KindNotification, CallID: id, At: time.Now().UTC(), Change: ch}}}); err != nil {
		s.t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 400 {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("not within 10s: %s", what)
}

func do(t *testing.T, method, url, user, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Test-User", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestRulesAPI(t *testing.T) {
	s := newStack(t)
	r := s.replica("a")
	url := r.api.URL + "/api/alert-rules"
	if code, body := do(t, "GET", url, "ada", ""); code != 200 || !strings.Contains(body, `"rules":[]`) {
		t.Fatalf("GET with nothing stored: %d %s", code, body)
	}
	code, body := do(t, "PUT", url, "ada", `{"rules":[{"kind":"ringing","seconds":30},{"id":"fails","kind":"failures","count":3,"category":"timeout","minutes":10,"words":"Timeouts piling up"}]}`)
	if code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	var doc alerts.Document
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	want := []alerts.Rule{
		{ID: "ringing-1", Kind: alerts.Ringing, Seconds: 30, Words: "Ringing over 30 s"},
		{ID: "fails", Kind: alerts.Failures, Count: 3, Category: reasons.Timeout, Minutes: 10, Words: "Timeouts piling up"},
	}
	if len(doc.Rules) != 2 || doc.Rules[0] != want[0] || doc.Rules[1] != want[1] || doc.UpdatedBy != "ada" || doc.Revision == 0 {
		t.Fatalf("stored %+v", doc)
	}
	if code, got := do(t, "GET", url, "ada", ""); code != 200 || !strings.Contains(got, `"id":"ringing-1"`) || !strings.Contains(got, `"updatedBy":"ada"`) {
		t.Fatalf("GET after PUT: %d %s", code, got)
	}
	entries, err := s.audit.List(context.Background(), audit.Query{Actor: "ada"})
	if err != nil || len(entries) != 1 || entries[0].Action != alerting.ActionRules || entries[0].Outcome != audit.OutcomeOK ||
		entries[0].Detail != "2 rules: ringing-1 (Ringing over 30 s), fails (Timeouts piling up)" {
		t.Fatalf("audit: %+v, %v", entries, err)
	}

	stale := `{"revision":1,"rules":[]}`
	if doc.Revision == 1 {
		stale = `{"revision":99,"rules":[]}`
	}
	bad := []struct {
		name, contentType, body string
		code                    int
		says                    string
	}{
		{"not JSON", "application/json", `{"rules":`, 400, "not the alert rules' JSON"},
		{"unknown field", "application/json", `{"rules":[{"kind":"ringing","secs":30}]}`, 400, `unknown field "secs"`},
		{"two values", "application/json", `{"rules":[]} {}`, 400, "more than one JSON value"},
		{"no rules", "application/json", `{}`, 400, `no "rules"`},
		{"invalid rule", "application/json", `{"rules":[{"kind":"hold","seconds":0}]}`, 400, "rule 1 (hold-1): seconds must be between 1 and 86400, not 0"},
		{"unknown category", "application/json", `{"rules":[{"kind":"failures","count":1,"minutes":5,"category":"x"}]}`, 400, `the category "x" is not one of`},
		{"form", "application/x-www-form-urlencoded", `rules=`, 415, "Content-Type must be application/json"},
		{"too big", "application/json", `{"rules":[],"x":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "larger than 64 KiB"},
		{"stale revision", "application/json", stale, 409, "changed by someone else"},
	}
	for _, b := range bad {
		req, _ := http.NewRequest("PUT", url, strings.NewReader(b.body))
		req.Header.Set("Content-Type", b.contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if err != nil || resp.StatusCode != b.code || !strings.Contains(e.Error.Message, b.says) {
			t.Errorf("%s: %d %+v (%v), want %d saying %q", b.name, resp.StatusCode, e, err, b.code, b.says)
		}
	}
	if code, got := do(t, "GET", url, "ada", ""); code != 200 || !strings.Contains(got, `"id":"fails"`) {
		t.Fatalf("a refused PUT changed the rules: %s", got)
	}
}

// TestAlertsRaiseAcknowledgeClear runs two replicas: the writer raises an
// alert on a call ringing past its threshold, once; a supervisor
// acknowledges it on the other replica; the end of the call clears it; the
// call's history holds each event once, and /metrics counts them.
func TestAlertsRaiseAcknowledgeClear(t *testing.T) {
	s := newStack(t)
	a, b := s.replica("a"), s.replica("b")
	ctx := context.Background()
	if _, err := s.rules.Save(ctx, alerts.Normalize([]alerts.Rule{{ID: "ring", Kind: alerts.Ringing, Seconds: 1}}), "ada", time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	s.notify("c1", calls.Incoming, nil)
	s.notify("c2", calls.Incoming, nil)
	s.notify("c2", calls.Establishing, nil) // answered before its threshold
	for _, r := range []*replica{a, b} {
		eventually(t, "the alert on every replica", func() bool {
			c, _ := r.view.Get("c1")
			_, ok := c.Alert("ring")
			return ok
		})
	}
	eventually(t, "the active alerts gauge at 1 on every replica", func() bool {
		return value(a.metrics.ActiveAlertsGauge) == 1 && value(b.metrics.ActiveAlertsGauge) == 1
	})
	if c, _ := a.view.Get("c2"); len(c.Alerts) != 0 {
		t.Fatalf("a call answered in time alerted: %+v", c.Alerts)
	}
	c, _ := a.view.Get("c1")
	if al, _ := c.Alert("ring"); al.Words != "Ringing over 1 s" || !strings.HasPrefix(al.Detail, "incoming for ") {
		t.Fatalf("alert %+v", al)
	}

	ack := "/api/calls/c1/alerts/ring/acknowledge"
	if code, body := do(t, "POST", b.api.URL+"/api/calls/nope/alerts/ring/acknowledge", "bob", ""); code != 404 {
		t.Fatalf("acknowledge on an unknown call: %d %s", code, body)
	}
	if code, body := do(t, "POST", b.api.URL+"/api/calls/c2/alerts/ring/acknowledge", "bob", ""); code != 409 || !strings.Contains(body, "no alert") {
		t.Fatalf("acknowledge with no alert: %d %s", code, body)
	}
	if code, body := do(t, "POST", b.api.URL+ack, "bob", ""); code != 204 {
		t.Fatalf("acknowledge: %d %s", code, body)
	}
	eventually(t, "the acknowledgement in the views", func() bool {
		c, _ := a.view.Get("c1")
		al, _ := c.Alert("ring")
		return al.AckedBy == "bob"
	})
	if code, body := do(t, "POST", a.api.URL+ack, "carol", ""); code != 409 || !strings.Contains(body, "bob acknowledged this alert already") {
		t.Fatalf("second acknowledgement: %d %s", code, body)
	}
	s.notify("c1", calls.Terminated, &calls.Result{Code: 408, Subcode: 1106})
	eventually(t, "the alert cleared", func() bool {
		c, _ := a.view.Get("c1")
		return c.Ended() && len(c.Alerts) == 0
	})

	recs, err := s.log.History(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		if n := rec.Event.Alert; n != nil {
			got = append(got, string(n.Op)+" "+n.Actor)
		}
	}
	if strings.Join(got, ",") != "raised ,acknowledged bob,cleared " {
		t.Fatalf("alert events of the call: %q", got)
	}
	raised := value(a.metrics.Alerts.WithLabelValues("ring", "raised")) + value(b.metrics.Alerts.WithLabelValues("ring", "raised"))
	cleared := value(a.metrics.Alerts.WithLabelValues("ring", "cleared")) + value(b.metrics.Alerts.WithLabelValues("ring", "cleared"))
	acked := value(b.metrics.Alerts.WithLabelValues("ring", "acknowledged"))
	if raised != 1 || cleared != 1 || acked != 1 {
		t.Fatalf("metrics: raised %v cleared %v acknowledged %v, want 1 each", raised, cleared, acked)
	}
	eventually(t, "the active alerts gauge back to 0", func() bool {
		return value(a.metrics.ActiveAlertsGauge) == 0 && value(b.metrics.ActiveAlertsGauge) == 0
	})
	// The refused second acknowledgement acted on nothing: like a refused
	// action, it is not in the trail.
	entries, err := s.audit.List(ctx, audit.Query{Target: "c1"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit of c1: %+v, %v", entries, err)
	}
	if e := entries[0]; e.Action != alerting.ActionAcknowledge || e.Detail != "ring (Ringing over 1 s)" || e.Actor != "bob" || e.Outcome != audit.OutcomeOK {
		t.Fatalf("audit entry %+v", e)
	}
}

// value reads one counter or gauge.
func value(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(err)
	}
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}
