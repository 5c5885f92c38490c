package historyquery_test

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
	"switchboard/app/reasons"
)

func TestParseReadsEveryFilter(t *testing.T) {
	v := url.Values{"from": {"2026-11-23T10:00:00Z"}, "to": {"2026-11-23T12:00:00+02:00"}, "party": {" +1 425 "},
		"direction": {"Incoming"}, "state": {"ESTABLISHED"}, "category": {"timeout"}, "actor": {"alice"}, "limit": {"500"},
		"cursor": {historyquery.EncodeCursor(42)}}
	q, err := historyquery.Parse(v)
	if err != nil {
		t.Fatal(err)
	}
	want := historyquery.Query{From: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Party: "+1 425", Direction: calls.DirectionIncoming, State: calls.Established, Category: reasons.Timeout, Actor: "alice",
		Limit: 500, Cursor: historyquery.EncodeCursor(42)}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("parsed %+v\nwant   %+v", q, want)
	}
	again, err := historyquery.Parse(q.Values())
	if err != nil || !reflect.DeepEqual(again, q) {
		t.Fatalf("Values does not round-trip: %+v (%v)", again, err)
	}
	if q, err := historyquery.Parse(url.Values{}); err != nil || q.PageSize() != historyquery.DefaultLimit || q.Filtered() {
		t.Fatalf("empty query: %+v %v", q, err)
	}
}

func TestParseSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		param, value, says string
	}{
		{"from", "yesterday", "RFC 3339"},
		{"to", "2026-13-01T00:00:00Z", "RFC 3339"},
		{"direction", "sideways", `"direction" must be`},
		{"state", "parked", "call state"},
		{"category", "weird", "reason category"},
		{"limit", "0", "1 to 500"},
		{"limit", "501", "1 to 500"},
		{"limit", "ten", "1 to 500"},
		{"cursor", "not-a-cursor", "cursor"},
		{"cursor", historyquery.EncodeCursor(0), "cursor"},
		{"party", strings.Repeat("x", 201), "longer than"},
		{"actor", strings.Repeat("x", 201), "longer than"},
	}
	for _, tt := range tests {
		_, err := historyquery.Parse(url.Values{tt.param: {tt.value}})
		if !errors.Is(err, historyquery.ErrBadQuery) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s=%q: %v, want an ErrBadQuery saying %q", tt.param, tt.value, err, tt.says)
		}
	}
	_, err := historyquery.Parse(url.Values{"from": {"2026-11-23T12:00:00Z"}, "to": {"2026-11-23T10:00:00Z"}})
	if !errors.Is(err, historyquery.ErrBadQuery) || !strings.Contains(err.Error(), "after") {
		t.Errorf("from after to: %v", err)
	}
}

func TestMatchFindsNumbersAsPeopleWriteThem(t *testing.T) {
	r := historyquery.Row{Source: calls.Party{Phone: "+14255550100", ID: "+14255550100"},
		Targets: []calls.Party{{DisplayName: "Grace Hopper", ID: "user-1"}}}
	for _, party := range []string{"+14255550100", "425 555-0100", "(425) 555 0100", "0100", "grace", "HOPPER", "user-1"} {
		if !(historyquery.Query{Party: party}).Match(r) {
			t.Errorf("%q does not find the call", party)
		}
	}
	for _, party := range []string{"425 555 0199", "turing", "1-800-FLOWERS"} {
		if (historyquery.Query{Party: party}).Match(r) {
			t.Errorf("%q finds the call", party)
		}
	}
}

func TestRowForTellsWhyTheCallEnded(t *testing.T) {
	end := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	c := calls.Call{ID: "c1", State: calls.Terminated, StartedAt: end.Add(-5 * time.Minute), AnsweredAt: end.Add(-4 * time.Minute), EndedAt: end,
		Result: &calls.Result{Code: 408, Subcode: 8537}, Reached: []calls.State{calls.Incoming, calls.Established, calls.Terminated}}
	r := historyquery.RowFor(c)
	if r.Category != reasons.Timeout || r.Code != "408/8537" || r.Duration() != 4*time.Minute || len(r.Reached) != 3 {
		t.Fatalf("row %+v", r)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("from=2026-11-23T10:00:00Z&party=%2B1425&limit=5")
	f.Add("state=hold&category=media&cursor=" + historyquery.EncodeCursor(7))
	f.Add("to=x&direction=%00")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := historyquery.Parse(v)
		if err != nil {
			if !errors.Is(err, historyquery.ErrBadQuery) {
				t.Fatalf("an error that is not ErrBadQuery: %v", err)
			}
			return
		}
		if n := q.PageSize(); n < 1 || n > historyquery.MaxLimit {
			t.Fatalf("page size %d", n)
		}
		again, err := historyquery.Parse(q.Values())
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("%q: Values does not round-trip: %+v / %+v (%v)", raw, q, again, err)
		}
	})
}
