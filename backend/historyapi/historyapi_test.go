package historyapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
	"switchboard/backend/archive"
	"switchboard/backend/eventlog"
	"switchboard/backend/historyapi"
	"switchboard/backend/natstest"
)

// serve runs the history API over an archive of five ended calls (the
// newest, call-4, from a caller whose name is a spreadsheet formula) and
// the event log holding their events.
func serve(t *testing.T, api historyapi.API) string {
	t.Helper()
	ctx := context.Background()
	js := natstest.JetStream(t)
	log, err := eventlog.Open(ctx, js, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, js, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		id := fmt.Sprintf("call-%d", i)
		source := calls.Party{Kind: "phone", ID: fmt.Sprintf("+1425555010%d", i), Phone: fmt.Sprintf("+1425555010%d", i), DisplayName: "Caller " + id}
		if i == 4 {
			source.DisplayName = `=HYPERLINK("http://example.invalid","x")`
		}
		at := time.Now().UTC()
		events := []calls.Event{
			{Kind: calls.KindNotification, CallID: id, At: at, Change: &calls.Change{ChangeType: "created", Resource: calls.ResourceCall,
				State: calls.Incoming, Direction: calls.DirectionIncoming, Source: &source}},
			{Kind: calls.KindNotification, CallID: id, At: at, Change: &calls.Change{ChangeType: "deleted", Resource: calls.ResourceCall,
				Result: &calls.Result{Code: 200, Subcode: 5001}}},
		}
		var c calls.Call
		for _, ev := range events {
			if _, err := log.Append(ctx, []eventlog.Entry{{Event: ev}}); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := log.History(ctx, id)
		if err != nil || len(recs) != 2 {
			t.Fatalf("history of %s: %d events, %v", id, len(recs), err)
		}
		for _, rec := range recs {
			c, _ = calls.Apply(c, rec.Seq, rec.Event)
		}
		if err := a.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	api.Index, api.Log = a, log
	mux := http.NewServeMux()
	api.Routes(mux, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestPagesGoBackInTimeWithTheirCursor(t *testing.T) {
	url := serve(t, historyapi.API{})
	var ids []string
	next := ""
	for range 5 {
		resp, body := get(t, url+"/api/history?limit=2&direction=incoming&cursor="+next)
		var page historyquery.Page
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for _, r := range page.Rows {
			ids = append(ids, r.ID)
		}
		if next = page.Next; next == "" {
			break
		}
	}
	if got := strings.Join(ids, " "); got != "call-4 call-3 call-2 call-1 call-0" {
		t.Fatalf("pages of two: %s", got)
	}
}

func TestMalformedFiltersAreA400(t *testing.T) {
	url := serve(t, historyapi.API{})
	for _, q := range []string{"from=today", "limit=1000", "state=parked", "format=xml", "cursor=zzz"} {
		for _, path := range []string{"/api/history?", "/api/history.csv?"} {
			if path == "/api/history.csv?" && q == "format=xml" {
				continue // the CSV endpoint is CSV whatever it is asked
			}
			resp, body := get(t, url+path+q)
			var e struct {
				Error struct{ Code, Message string }
			}
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
				t.Errorf("%s%s: %d %s", path, q, resp.StatusCode, body)
			}
		}
	}
}

func TestCSVIsSafeAndSaysWhenItIsCut(t *testing.T) {
	url := serve(t, historyapi.API{MaxCSVRows: 3})
	for _, path := range []string{"/api/history.csv", "/api/history?format=csv"} {
		resp, body := get(t, url+path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if _, err := csv.NewReader(strings.NewReader(string(body))).ReadAll(); err == nil {
			t.Fatalf("%s: the CSV has rows of one width, but the cut line should stand apart", path)
		}
		r := csv.NewReader(strings.NewReader(string(body)))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil || len(recs) != 5 {
			t.Fatalf("%s: %d records (%v):\n%s", path, len(recs), err, body)
		}
		if first := recs[1]; first[5] != `'=HYPERLINK("http://example.invalid","x")` || first[6] != "'+14255550104" {
			t.Fatalf("%s: cells not neutralised: %q", path, first)
		}
		if last := recs[4]; !strings.HasPrefix(last[0], "# cut at 3 rows") {
			t.Fatalf("%s: the last line does not say the answer was cut: %q", path, last)
		}
		if resp.Trailer.Get(historyapi.TruncatedTrailer) != "true" {
			t.Fatalf("%s: trailer %v", path, resp.Trailer)
		}
	}
	resp, body := get(t, url+"/api/history.csv?party=0101")
	if resp.Trailer.Get(historyapi.TruncatedTrailer) != "false" || strings.Count(string(body), "\n") != 2 {
		t.Fatalf("a CSV that fits: trailer %v\n%s", resp.Trailer, body)
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{"=1+2": "'=1+2", "+1425": "'+1425", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "\rx": "'\rx", "Grace": "Grace", "": "", "1425": "1425"} {
		if got := historyapi.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnEndedCallsWholeHistory(t *testing.T) {
	url := serve(t, historyapi.API{})
	resp, body := get(t, url+"/api/history/call-2/events")
	var got struct {
		Call   calls.Call
		Events []struct {
			Seq   uint64
			Event calls.Event
		}
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Call.ID != "call-2" || len(got.Events) != 2 ||
		got.Events[0].Event.Change.Source.Phone != "+14255550102" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, url+"/api/history/call-9/events"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown call: %d %s", resp.StatusCode, body)
	}
}
