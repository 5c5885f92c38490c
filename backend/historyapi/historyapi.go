// Package historyapi serves call history beyond the live view's hour,
// for as long as the event log keeps a call's events:
//
//   - GET /api/history: a page of ended calls matching the filters of
//     package historyquery, newest ended first, with the cursor of the
//     next page;
//   - GET /api/history.csv (or /api/history?format=csv): every matching
//     call as CSV, streamed as it is read and cut at a maximum row count,
//     which the last line and a trailer say;
//   - GET /api/history/{id}/events: an ended call and its full history.
//
// Queries read the archive's time index, never the whole event log.
// Deleted conversations are gone from the archive, so they never appear.
package historyapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
	"switchboard/app/privacy"
	"switchboard/backend/apierror"
	"switchboard/backend/archive"
	"switchboard/backend/eventlog"
)

// Index is the archive history reads.
type Index interface {
	Scan(ctx context.Context, q historyquery.Query, opts archive.ScanOptions, emit func(historyquery.Row) bool) (uint64, error)
	Get(ctx context.Context, id string) (calls.Call, bool, error)
}

// Log reads a call's events.
type Log interface {
	History(ctx context.Context, callID string) ([]eventlog.Record, error)
}

// Defaults of API's bounds.
const (
	DefaultMaxCSVRows  = 100_000
	DefaultMaxPageScan = 20_000
	DefaultMaxCSVScan  = 2_000_000
)

// TruncatedTrailer is the trailer of a CSV answer: "true" when rows were
// left out because the answer reached its bound.
const TruncatedTrailer = "Switchboard-Truncated"

// API serves the history endpoints. Zero bounds take the defaults.
type API struct {
	Index Index
	Log   Log
	// Masked, if set, tells whether the reader of r reads external parties
	// masked (package privacy): rows, calls, events and CSV cells are
	// masked for such readers, and their number or name filter finds only
	// what they can read, so it cannot probe a masked number.
	Masked func(r *http.Request) bool
	// MaxCSVRows bounds the rows of one CSV answer.
	MaxCSVRows int
	// MaxPageScan bounds the index entries one page reads; a page that
	// reaches it returns fewer rows and a cursor to go on.
	MaxPageScan int
	// MaxCSVScan bounds the index entries one CSV answer reads.
	MaxCSVScan int
	Logger     *slog.Logger
}

// Routes registers the endpoints on mux, each behind guard (the role that
// may read history).
func (a *API) Routes(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("GET /api/history", guard(http.HandlerFunc(a.list)))
	mux.Handle("GET /api/history.csv", guard(http.HandlerFunc(a.csvList)))
	mux.Handle("GET /api/history/{id}/events", guard(http.HandlerFunc(a.events)))
}

func (a *API) query(w http.ResponseWriter, r *http.Request) (historyquery.Query, bool) {
	q, err := historyquery.Parse(r.URL.Query())
	if err != nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", err.Error())
		return historyquery.Query{}, false
	}
	return q, true
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
	case "csv":
		a.csvList(w, r)
		return
	default:
		apierror.Write(w, http.StatusBadRequest, "bad_request", fmt.Sprintf(`"format" must be "json" or "csv", not %q`, f))
		return
	}
	q, ok := a.query(w, r)
	if !ok {
		return
	}
	mask, scanQ := a.masker(r, q)
	limit := q.PageSize()
	rows := make([]historyquery.Row, 0, min(limit, 64))
	next, err := a.Index.Scan(r.Context(), scanQ, archive.ScanOptions{MaxScan: or(a.MaxPageScan, DefaultMaxPageScan)},
		func(row historyquery.Row) bool {
			row, ok := mask.row(row)
			if !ok {
				return true
			}
			if len(rows) == limit {
				return false
			}
			rows = append(rows, row)
			return true
		})
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	page := historyquery.Page{Rows: rows}
	if next != 0 {
		page.Next = historyquery.EncodeCursor(next)
	}
	apierror.JSON(w, http.StatusOK, page)
}

func (a *API) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the reader went away
	}
	a.logger().Error("read call history", "err", err)
	apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "history could not be read; retry")
}

// csvFlushEvery is how many rows a CSV answer writes between flushes.
const csvFlushEvery = 256

// csvList streams every matching row as CSV. The status and header row go
// out with the first flush; an error before it is a 503, an error after it
// ends the file with a line that says so.
func (a *API) csvList(w http.ResponseWriter, r *http.Request) {
	q, ok := a.query(w, r)
	if !ok {
		return
	}
	mask, scanQ := a.masker(r, q)
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="switchboard-history.csv"`)
	h.Set("Cache-Control", "no-store")
	h.Set("Trailer", TruncatedTrailer)
	maxRows := or(a.MaxCSVRows, DefaultMaxCSVRows)
	out := &csvOut{w: w, cw: csv.NewWriter(w)}
	out.write(csvHeader)
	rows, cut := 0, false
	next, err := a.Index.Scan(r.Context(), scanQ, archive.ScanOptions{MaxScan: or(a.MaxCSVScan, DefaultMaxCSVScan)},
		func(row historyquery.Row) bool {
			row, ok := mask.row(row)
			if !ok {
				return true
			}
			if rows == maxRows {
				cut = true
				return false
			}
			out.write(csvRecord(row))
			if rows++; rows%csvFlushEvery == 0 {
				out.flush()
			}
			return true
		})
	switch {
	case err != nil && !out.flushed:
		h.Del("Trailer")
		h.Del("Content-Disposition")
		a.unavailable(w, r, err)
		return
	case err != nil:
		a.logger().Error("read call history for CSV", "err", err, "rows", rows)
		out.write([]string{"# stopped: history could not be read further; the rows above are incomplete"})
		cut = true
	case cut:
		out.write([]string{fmt.Sprintf("# cut at %d rows: more calls matched; narrow the time range or the filters", maxRows)})
	case next != 0:
		cut = true
		out.write([]string{"# stopped: the time range holds too many calls to read at once; narrow it"})
	}
	out.flush()
	h.Set(TruncatedTrailer, strconv.FormatBool(cut))
}

type csvOut struct {
	w       http.ResponseWriter
	cw      *csv.Writer
	flushed bool
}

func (o *csvOut) write(rec []string) { _ = o.cw.Write(rec) }

func (o *csvOut) flush() {
	o.cw.Flush()
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
	o.flushed = true
}

// csvHeader names the CSV columns.
var csvHeader = []string{"ended_at", "started_at", "answered_at", "duration_seconds", "direction",
	"caller_name", "caller_number", "caller_id", "targets", "subject", "states_reached",
	"reason_category", "reason", "code", "ended_by", "end_action", "acted_by", "call_id", "chain_id"}

func csvRecord(r historyquery.Row) []string {
	var targets, states []string
	for _, t := range r.Targets {
		targets = append(targets, partyText(t))
	}
	for _, s := range r.Reached {
		states = append(states, string(s))
	}
	rec := []string{csvTime(r.EndedAt), csvTime(r.StartedAt), csvTime(r.AnsweredAt),
		strconv.FormatInt(int64(r.Duration()/time.Second), 10), r.Direction,
		r.Source.DisplayName, r.Source.Phone, r.Source.ID, strings.Join(targets, "; "), r.Subject,
		strings.Join(states, " "), string(r.Category), r.Reason, r.Code, r.EndedBy, r.EndAction,
		strings.Join(r.Actors, "; "), r.ID, r.ChainID}
	for i, cell := range rec {
		rec[i] = SafeCell(cell)
	}
	return rec
}

func partyText(p calls.Party) string {
	switch {
	case p.DisplayName != "" && p.Phone != "":
		return p.DisplayName + " (" + p.Phone + ")"
	case p.Phone != "":
		return p.Phone
	case p.DisplayName != "":
		return p.DisplayName
	default:
		return p.ID
	}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// SafeCell neutralises a cell a spreadsheet would run as a formula: one
// starting with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which spreadsheets show as text. A number such as
// +14255550100 reads '+14255550100.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// eventsBody is the answer of GET /api/history/{id}/events.
type eventsBody struct {
	Call   calls.Call           `json:"call"`
	Events []historyEventRecord `json:"events"`
}

type historyEventRecord struct {
	Seq   uint64      `json:"seq"`
	Event calls.Event `json:"event"`
}

func (a *API) events(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, ok, err := a.Index.Get(r.Context(), id)
	if err == nil && !ok && calls.CanonicalID(id) != id {
		c, ok, err = a.Index.Get(r.Context(), calls.CanonicalID(id))
	}
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if !ok {
		apierror.Write(w, http.StatusNotFound, "not_found",
			fmt.Sprintf("no ended call %q in history: it has not ended, was deleted, or is older than the log keeps", id))
		return
	}
	recs, err := a.Log.History(r.Context(), c.ID)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	masked := a.Masked != nil && a.Masked(r)
	if masked {
		c = privacy.Call(c)
	}
	body := eventsBody{Call: c, Events: make([]historyEventRecord, len(recs))}
	for i, rec := range recs {
		body.Events[i] = historyEventRecord{Seq: rec.Seq, Event: rec.Event}
		if masked {
			body.Events[i].Event = privacy.Event(rec.Event)
		}
	}
	apierror.JSON(w, http.StatusOK, body)
}

// rowMask is how a reader reads rows: masked or not, and for a masked
// reader, the number or name filter applied to what they can read.
type rowMask struct {
	masked bool
	party  historyquery.Query
}

// masker is r's rowMask, and the query the index is asked: without the
// number or name filter for a masked reader (rowMask applies it).
func (a *API) masker(r *http.Request, q historyquery.Query) (rowMask, historyquery.Query) {
	if a.Masked == nil || !a.Masked(r) {
		return rowMask{}, q
	}
	m := rowMask{masked: true, party: historyquery.Query{Party: q.Party}}
	q.Party = ""
	return m, q
}

// row masks r for the reader and says whether it still answers the query.
func (m rowMask) row(r historyquery.Row) (historyquery.Row, bool) {
	if !m.masked {
		return r, true
	}
	r = privacy.Row(r)
	return r, m.party.Match(r)
}

func or(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func (a *API) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
