package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"switchboard/backend/apierror"
	"switchboard/backend/natstest"
)

func openLog(t *testing.T) *Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := Open(ctx, natstest.JetStream(t), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// seed records entries e0..e(n-1), one minute apart from t0, by actors
// alice and victor in turn, about calls call-0..call-2 in turn.
func seed(t *testing.T, l *Log, n int) []Entry {
	t.Helper()
	ctx := context.Background()
	var all []Entry
	for i := range n {
		e := Entry{
			At:      t0.Add(time.Duration(i) * time.Minute),
			Actor:   []string{"alice", "victor"}[i%2],
			Action:  ActionReject,
			Target:  fmt.Sprintf("call-%d", i%3),
			Outcome: OutcomeOK,
			Detail:  fmt.Sprintf("e%d", i),
		}
		if err := l.Record(ctx, e); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
		all = append(all, e)
	}
	return all
}

func details(es []Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Detail)
	}
	return strings.Join(s, " ")
}

func TestListOrderAndFilters(t *testing.T) {
	l := openLog(t)
	seed(t, l, 7)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"all newest first", Query{}, "e6 e5 e4 e3 e2 e1 e0"},
		{"limit", Query{Limit: 3}, "e6 e5 e4"},
		{"actor", Query{Actor: "victor"}, "e5 e3 e1"},
		{"target", Query{Target: "call-1"}, "e4 e1"},
		{"actor and target", Query{Actor: "alice", Target: "call-0"}, "e6 e0"},
		{"since", Query{Since: t0.Add(4 * time.Minute)}, "e6 e5 e4"},
		{"since and actor and limit", Query{Since: t0.Add(time.Minute), Actor: "alice", Limit: 2}, "e6 e4"},
		{"no match", Query{Actor: "nobody"}, ""},
		{"since after all", Query{Since: t0.Add(time.Hour)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.List(context.Background(), tt.q)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if details(got) != tt.want {
				t.Errorf("List(%+v) = %q, want %q", tt.q, details(got), tt.want)
			}
		})
	}
}

func TestListEmptyAndBadQueries(t *testing.T) {
	l := openLog(t)
	got, err := l.List(context.Background(), Query{})
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("List on an empty trail = %v, %v; want an empty list", got, err)
	}
	for _, q := range []Query{{Limit: -1}, {Limit: MaxLimit + 1}} {
		if _, err := l.List(context.Background(), q); err == nil {
			t.Errorf("List(%+v) succeeded, want an error", q)
		}
	}
}

// TestListAcrossWindows reads a trail longer than one read window, with a
// filter whose matches are all in the oldest window.
func TestListAcrossWindows(t *testing.T) {
	l := openLog(t)
	ctx := context.Background()
	const n = 700
	for i := range n {
		actor := "alice"
		if i < 5 {
			actor = "early"
		}
		if err := l.Record(ctx, Entry{Actor: actor, Action: ActionAnswer, Outcome: OutcomeOK, Detail: fmt.Sprint(i)}); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	got, err := l.List(ctx, Query{Actor: "early", Limit: 10})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := "4 3 2 1 0"; details(got) != want {
		t.Errorf("early entries = %q, want %q", details(got), want)
	}
	got, err = l.List(ctx, Query{Limit: MaxLimit})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != n || got[0].Detail != fmt.Sprint(n-1) || got[n-1].Detail != "0" {
		t.Errorf("List all: %d entries from %q to %q, want %d from %d to 0", len(got), got[0].Detail, got[len(got)-1].Detail, n, n-1)
	}
}

func TestRecordValidatesAndStamps(t *testing.T) {
	l := openLog(t)
	ctx := context.Background()
	bad := []Entry{
		{Action: ActionLogin, Outcome: OutcomeOK},
		{Actor: "alice", Outcome: OutcomeOK},
		{Actor: "alice", Action: ActionLogin},
		{Actor: " ", Action: ActionLogin, Outcome: OutcomeOK},
	}
	for _, e := range bad {
		if err := l.Record(ctx, e); err == nil {
			t.Errorf("Record(%+v) succeeded, want an error", e)
		}
	}
	before := time.Now().Add(-time.Second)
	if err := l.Record(ctx, Entry{Actor: "ada", Action: ActionDelete, Target: "call-9", Outcome: OutcomeOK}); err != nil {
		t.Fatalf("Record: %v", err)
	}
	got, err := l.List(ctx, Query{})
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %v, %v; want one entry", got, err)
	}
	if got[0].At.Before(before) || got[0].At.After(time.Now().Add(time.Second)) {
		t.Errorf("At = %v, want about now", got[0].At)
	}
}

// TestSharedTrail checks that two Logs on the same JetStream (two
// replicas) read and write one trail.
func TestSharedTrail(t *testing.T) {
	js := natstest.JetStream(t)
	ctx := context.Background()
	a, err := Open(ctx, js, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, js, Options{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Record(ctx, Entry{Actor: "alice", Action: ActionLogin, Outcome: OutcomeOK, Detail: "from a"}); err != nil {
		t.Fatal(err)
	}
	got, err := b.List(ctx, Query{})
	if err != nil || details(got) != "from a" {
		t.Fatalf("b.List = %q, %v; want the entry recorded through a", details(got), err)
	}
}

func TestHandler(t *testing.T) {
	l := openLog(t)
	seed(t, l, 5)
	l.now = func() time.Time { return t0.Add(4*time.Minute + 30*time.Second) }
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name, method, query string
		status              int
		want                string // details, for 200
	}{
		{"all", "GET", "", 200, "e4 e3 e2 e1 e0"},
		{"limit", "GET", "limit=2", 200, "e4 e3"},
		{"actor", "GET", "actor=alice", 200, "e4 e2 e0"},
		{"target", "GET", "target=call-0", 200, "e3 e0"},
		{"since rfc3339", "GET", "since=" + t0.Add(3*time.Minute).Format(time.RFC3339), 200, "e4 e3"},
		{"since duration", "GET", "since=100s", 200, "e4 e3"},
		{"bad limit", "GET", "limit=many", 400, ""},
		{"zero limit", "GET", "limit=0", 400, ""},
		{"limit too high", "GET", "limit=1001", 400, ""},
		{"bad since", "GET", "since=yesterday", 400, ""},
		{"negative since", "GET", "since=-1h", 400, ""},
		{"post", "POST", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/api/audit?"+tt.query, nil)
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status != 200 {
				var body apierror.Body
				if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Error.Message == "" {
					t.Errorf("error body %+v, %v; want a JSON error with a message", body, err)
				}
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body ListResponse
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if details(body.Entries) != tt.want {
				t.Errorf("entries %q, want %q", details(body.Entries), tt.want)
			}
		})
	}
}
