package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/historyquery"
)

// historyServer answers GET /api/history with two pages (the second after
// the cursor "more") and GET /api/history/{id}/events, recording the
// queries it was asked.
type historyServer struct {
	mu  sync.Mutex
	got []string
}

func (s *historyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.got = append(s.got, r.URL.RequestURI())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	row := func(id, phone string) historyquery.Row {
		return historyquery.Row{ID: id, Direction: calls.DirectionIncoming, Source: calls.Party{Phone: phone},
			StartedAt: t0.Add(-time.Minute), EndedAt: t0, Category: "normal", Reason: "The conversation has ended.", Code: "200/5001",
			Actors: []string{"alice"}}
	}
	switch {
	case r.URL.Path == "/api/history" && r.URL.Query().Get("cursor") == "":
		json.NewEncoder(w).Encode(historyquery.Page{Rows: []historyquery.Row{row("h1", "+14255550101")}, Next: historyquery.EncodeCursor(9)})
	case r.URL.Path == "/api/history":
		json.NewEncoder(w).Encode(historyquery.Page{Rows: []historyquery.Row{row("h0", "+14255550100")}})
	case r.URL.Path == "/api/history/h0/events":
		json.NewEncoder(w).Encode(map[string]any{
			"call": calls.Call{ID: "h0", State: calls.Terminated, Source: calls.Party{Phone: "+14255550100"}, EndedAt: t0},
			"events": []console.EventEntry{
				{Seq: 3, Event: calls.Event{Kind: calls.KindNotification, CallID: "h0", At: t0, Change: &calls.Change{ChangeType: "created", State: calls.Incoming}}},
			},
		})
	default:
		http.NotFound(w, r)
	}
}

func (s *historyServer) queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func newHistoryFixture(t *testing.T) (*HistoryPage, app.ClientDispatcher, *historyServer) {
	t.Helper()
	srv := &historyServer{}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client, err := console.NewClient(hs.URL, console.HTTPTransport{Client: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHistoryPage(client, time.UTC)
	d := app.NewClientTester(h)
	t.Cleanup(d.Close)
	for range 3 {
		d.Consume()
	}
	return h, d, srv
}

func TestHistoryFormBecomesTheServersQuery(t *testing.T) {
	loc := time.FixedZone("UTC+2", 2*3600)
	q, err := historyForm{From: "2026-11-23T10:00", To: "2026-11-23T12:30", Party: " 425 555 ", Direction: "incoming",
		State: "established", Category: "timeout", Actor: "alice"}.query(loc)
	if err != nil {
		t.Fatal(err)
	}
	if !q.From.Equal(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)) || !q.To.Equal(time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)) ||
		q.Party != "425 555" || q.State != calls.Established || q.Category != "timeout" || q.Actor != "alice" || q.Limit != historyRows {
		t.Fatalf("query %+v", q)
	}
	if _, err := (historyForm{From: "2026-11-23T12:00", To: "2026-11-23T10:00"}).query(loc); err == nil {
		t.Fatal("a range that ends before it starts was accepted")
	}
	if _, err := (historyForm{From: "soon"}).query(loc); err == nil {
		t.Fatal("a malformed time was accepted")
	}
}

func TestHistoryViewSearchesPagesAndShowsACall(t *testing.T) {
	h, d, srv := newHistoryFixture(t)
	html := app.HTMLString(h)
	for _, want := range []string{"+14255550101", "The conversation has ended. (200/5001)", "alice", `id="history-more"`, `href="/api/history.csv"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the first page lacks %q:\n%s", want, html)
		}
	}
	// Filters change the CSV link once searched.
	h.form.Party = "+1 425"
	h.form.Category = "timeout"
	fire(t, d, find(h, map[string]string{"id": "history-filters"})[0], "submit")
	csv := find(h, map[string]string{"id": "history-csv"})[0].attrs["href"]
	if csv != "/api/history.csv?category=timeout&party=%2B1+425" {
		t.Errorf("CSV link %q", csv)
	}
	// Older calls follow the cursor the page gave.
	click(t, d, h, map[string]string{"id": "history-more"})
	if got := len(find(h, map[string]string{"data-action": "history"})); got != 2 {
		t.Fatalf("%d rows after loading older calls, want 2", got)
	}
	if q := srv.queries(); len(q) != 3 || !strings.Contains(q[2], "cursor="+historyquery.EncodeCursor(9)) || !strings.Contains(q[2], "party=%2B1+425") {
		t.Fatalf("queries %q", q)
	}
	if len(find(h, map[string]string{"id": "history-more"})) != 0 {
		t.Error("the last page still offers older calls")
	}
	// A row's History button opens that call's whole history.
	click(t, d, h, map[string]string{"data-action": "history", "data-call-id": "h0"})
	detail := find(h, map[string]string{"id": "history-detail"})
	if len(detail) != 1 || !strings.Contains(app.HTMLString(detail[0].ui), "incoming call") {
		t.Fatalf("the call's history is not shown: %v", detail)
	}
	click(t, d, h, map[string]string{"id": "history-detail-close"})
	if len(find(h, map[string]string{"id": "history-detail"})) != 0 {
		t.Error("the call's history did not close")
	}
}

func TestAdminTurnsMaskingOnAndBack(t *testing.T) {
	f := newFixture(t, console.Admin)
	for range 4 { // the user, then the panel it shows, then the setting
		f.disp.Consume()
	}
	box := func() element {
		t.Helper()
		found := find(f.page, map[string]string{"id": "privacy-mask"})
		if len(found) != 1 {
			t.Fatalf("%d privacy checkboxes for an admin", len(found))
		}
		return found[0]
	}
	if box().attrs["disabled"] == "true" {
		t.Fatal("the setting did not load")
	}
	fire(t, f.disp, box(), "change")
	if box().attrs["checked"] != "true" || !strings.Contains(f.html(), "chosen by alice") {
		t.Fatalf("after turning masking on:\n%s", app.HTMLString(find(f.page, map[string]string{"id": "privacy"})[0].ui))
	}
	click(t, f.disp, f.page, map[string]string{"id": "privacy-default"})
	if box().attrs["checked"] == "true" || !strings.Contains(f.html(), "default (off)") {
		t.Fatalf("after going back to the default:\n%s", f.html())
	}
	want := []string{`PUT /api/settings/privacy {"maskForViewers":true}`, `PUT /api/settings/privacy {"maskForViewers":null}`}
	if got := f.api.actions(); !slices.Equal(got, want) {
		t.Fatalf("the server was asked %q, want %q", got, want)
	}
	viewer := newFixture(t, console.Viewer)
	for range 4 {
		viewer.disp.Consume()
	}
	if len(find(viewer.page, map[string]string{"id": "privacy"})) != 0 {
		t.Fatal("a viewer is offered the privacy setting")
	}
}
