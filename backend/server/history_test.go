package server_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/app/historyquery"
)

// phoneCallData is an incoming call from a phone number.
func phoneCallData(number, name string) string {
	return `{"@odata.type":"#microsoft.graph.call","state":"incoming","direction":"incoming",` +
		`"source":{"identity":{"phone":{"id":"` + number + `","displayName":"` + name + `"}}},` +
		`"targets":[{"identity":{"application":{"displayName":"Calling Bot","id":"2891555a-92ff-42e6-80fa-6e1300c6b5c6"}}}]}`
}

// historyPage reads GET /api/history?query as c until cond holds (the
// writer archives ended calls a few times a second).
func historyPage(t *testing.T, h *harness, c *http.Client, query url.Values, cond func(historyquery.Page) bool) historyquery.Page {
	t.Helper()
	var page historyquery.Page
	for range 100 {
		page = historyquery.Page{}
		if st := h.getJSON(c, "/api/history?"+query.Encode(), &page); st != http.StatusOK {
			t.Fatalf("GET /api/history?%s answered %d", query.Encode(), st)
		}
		if cond(page) {
			return page
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("history never showed what was expected; last page %+v", page)
	return page
}

func TestHistoryFindsEndedCallsForViewersAndForgetsDeletedOnes(t *testing.T) {
	h := start(t, options{})
	const kept, erased = "a1111111-2222-4333-8444-555555555555", "b1111111-2222-4333-8444-555555555555"
	for _, c := range []struct{ id, number, name string }{{kept, "+14255550123", "Grace Hopper"}, {erased, "+14255550199", "Alan Turing"}} {
		h.post(notification(c.id, "created", phoneCallData(c.number, c.name)))
		h.post(notification(c.id, "deleted", endedData))
	}
	viewer := h.login("victor")
	byNumber := url.Values{"party": {"425 555 0123"}, "state": {"incoming"}, "category": {"normal"}}
	page := historyPage(t, h, viewer, byNumber, func(p historyquery.Page) bool { return len(p.Rows) == 1 })
	if r := page.Rows[0]; r.ID != kept || r.Source.DisplayName != "Grace Hopper" || r.Code != "200/5001" {
		t.Fatalf("history by number = %+v", r)
	}
	all := historyPage(t, h, viewer, url.Values{}, func(p historyquery.Page) bool { return len(p.Rows) == 2 })
	if all.Rows[0].ID != erased {
		t.Fatalf("history is not newest first: %s then %s", all.Rows[0].ID, all.Rows[1].ID)
	}

	resp, err := viewer.Get(h.url + "/api/history.csv?party=grace")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(recs) != 2 || !strings.Contains(strings.Join(recs[1], ","), "'+14255550123") {
		t.Fatalf("CSV: %d %v %q", resp.StatusCode, err, recs)
	}
	if st, msg := h.doAs(viewer, "GET", "/api/history/"+kept+"/events", ""); st != http.StatusOK {
		t.Fatalf("a viewer reading an ended call's events: %d %s", st, msg)
	}
	if st, msg := h.doAs(viewer, "GET", "/api/history?from=yesterday", ""); st != http.StatusBadRequest || !strings.Contains(msg, "RFC 3339") {
		t.Fatalf("a malformed time answered %d %q", st, msg)
	}

	admin := h.login("ada")
	if st, msg := h.doAs(admin, "DELETE", "/api/records/"+erased, ""); st != http.StatusNoContent {
		t.Fatalf("delete the conversation: %d %s", st, msg)
	}
	historyPage(t, h, viewer, url.Values{}, func(p historyquery.Page) bool { return len(p.Rows) == 1 && p.Rows[0].ID == kept })
	if st, _ := h.doAs(viewer, "GET", "/api/history/"+erased+"/events", ""); st != http.StatusNotFound {
		t.Fatalf("a deleted conversation's history answered %d", st)
	}
	resp, err = viewer.Get(h.url + "/api/history.csv?party=turing")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "Turing") || strings.Contains(string(body), "0199") {
		t.Fatalf("the CSV still holds the deleted conversation:\n%s", body)
	}

	anonymous := &http.Client{}
	resp, err = anonymous.Get(h.url + "/api/history")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("history without a session answered %d", resp.StatusCode)
	}
}
