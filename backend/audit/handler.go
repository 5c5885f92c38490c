package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchboard/backend/apierror"
)

// ListResponse is the JSON answer of GET /api/audit.
type ListResponse struct {
	// Entries are the matching entries, newest first.
	Entries []Entry `json:"entries"`
}

// Handler serves GET /api/audit?limit=&since=&actor=&target= as a
// ListResponse. since is an RFC 3339 time or a Go duration counted back from
// now ("24h"); limit defaults to DefaultLimit. Bad parameters get 400.
//
// The handler checks no identity: mount it behind the admin role check.
func (l *Log) Handler() http.Handler {
	return http.HandlerFunc(l.serveList)
}

func (l *Log) serveList(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		apierror.Write(w, http.StatusMethodNotAllowed, "method_not_allowed", "the audit trail is read with GET")
		return
	}
	q, err := parseQuery(r.URL.Query(), l.now())
	if err != nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	entries, err := l.List(r.Context(), q)
	if errors.Is(err, ErrBadQuery) {
		apierror.Write(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err != nil {
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the audit trail cannot be read now: "+err.Error())
		return
	}
	body, err := json.Marshal(ListResponse{Entries: entries})
	if err != nil {
		apierror.Write(w, http.StatusInternalServerError, "error", "encode the audit trail: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

// parseQuery reads a Query from URL parameters.
func parseQuery(v url.Values, now time.Time) (Query, error) {
	var q Query
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > MaxLimit {
			return q, fmt.Errorf("limit %q must be a number from 1 to %d", s, MaxLimit)
		}
		q.Limit = n
	}
	if s := v.Get("since"); s != "" {
		since, err := parseSince(s, now)
		if err != nil {
			return q, err
		}
		q.Since = since
	}
	q.Actor = v.Get("actor")
	q.Target = v.Get("target")
	return q, nil
}

// parseSince reads an RFC 3339 time, or a positive duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("since %q must be an RFC 3339 time (2006-01-02T15:04:05Z) or a duration back from now (24h)", s)
}
