package console

import (
	"context"
	"net/url"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
)

// History returns a page of ended calls matching q, newest ended first.
func (c *Client) History(ctx context.Context, q historyquery.Query) (historyquery.Page, error) {
	var page historyquery.Page
	err := c.do(ctx, "GET", HistoryPath(q), nil, &page)
	return page, err
}

// HistoryPath is the path of GET /api/history for q.
func HistoryPath(q historyquery.Query) string {
	return withQuery("/api/history", q)
}

// HistoryCSVPath is the path of the CSV export of every call q matches
// (its limit and cursor aside): a link a browser downloads.
func HistoryCSVPath(q historyquery.Query) string {
	q.Limit, q.Cursor = 0, ""
	return withQuery("/api/history.csv", q)
}

func withQuery(path string, q historyquery.Query) string {
	if v := q.Values(); len(v) > 0 {
		return path + "?" + v.Encode()
	}
	return path
}

// PastCall returns an ended call from history and its whole history.
func (c *Client) PastCall(ctx context.Context, id string) (calls.Call, []EventEntry, error) {
	var body struct {
		Call   calls.Call   `json:"call"`
		Events []EventEntry `json:"events"`
	}
	err := c.do(ctx, "GET", "/api/history/"+url.PathEscape(id)+"/events", nil, &body)
	return body.Call, body.Events, err
}
