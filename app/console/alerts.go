package console

import (
	"context"
	"net/url"
	"time"

	"switchboard/app/alerts"
	"switchboard/app/calls"
)

// AlertRules returns the stored alert rules (admins only).
func (c *Client) AlertRules(ctx context.Context) (alerts.Document, error) {
	var doc alerts.Document
	err := c.do(ctx, "GET", "/api/alert-rules", nil, &doc)
	return doc, err
}

// SaveAlertRules stores the rules of doc, on the condition that the stored
// set is still at doc.Revision (admins only), and returns what was stored.
func (c *Client) SaveAlertRules(ctx context.Context, doc alerts.Document) (alerts.Document, error) {
	var saved alerts.Document
	in := alerts.Document{Rules: doc.Rules, Revision: doc.Revision}
	if in.Rules == nil {
		in.Rules = []alerts.Rule{}
	}
	err := c.do(ctx, "PUT", "/api/alert-rules", in, &saved)
	return saved, err
}

// Acknowledge acknowledges the alert of rule on the call id (supervisors).
func (c *Client) Acknowledge(ctx context.Context, id, rule string) error {
	return c.do(ctx, "POST", "/api/calls/"+url.PathEscape(id)+"/alerts/"+url.PathEscape(rule)+"/acknowledge", nil, nil)
}

// AlertWatch tells which of a call's alerts are news to this console: an
// alert is news once, when it first shows, and only if it was raised after
// the console began watching (the alerts a snapshot brings are on the
// rows already; announcing them all at once would drown a screen reader).
// It holds only the calls that carry alerts.
type AlertWatch struct {
	from time.Time
	told map[string]map[string]time.Time // call → rule → the alert's Since
}

// watchMargin lets an alert raised just before the console began watching
// (while the snapshot travelled) still count as news.
const watchMargin = 5 * time.Second

// Reset starts watching afresh at now (the server's clock): after a
// snapshot.
func (w *AlertWatch) Reset(now time.Time) {
	w.from = now.Add(-watchMargin)
	w.told = make(map[string]map[string]time.Time)
}

// News returns the alerts of c that are news, and remembers them.
func (w *AlertWatch) News(c calls.Call) []calls.Alert {
	if w.told == nil {
		w.told = make(map[string]map[string]time.Time)
	}
	if len(c.Alerts) == 0 {
		delete(w.told, c.ID)
		return nil
	}
	before := w.told[c.ID]
	now := make(map[string]time.Time, len(c.Alerts))
	var out []calls.Alert
	for _, a := range c.Alerts {
		now[a.Rule] = a.Since
		if since, ok := before[a.Rule]; ok && since.Equal(a.Since) {
			continue
		}
		if !a.Since.Before(w.from) && a.AckedBy == "" {
			out = append(out, a)
		}
	}
	w.told[c.ID] = now
	return out
}

// Quiet forgets the alerts told of a call that holds none now: what
// News says of such a call, without the call.
func (w *AlertWatch) Quiet(id string) { delete(w.told, id) }

// Gone forgets a call that left the view.
func (w *AlertWatch) Gone(id string) { delete(w.told, id) }
