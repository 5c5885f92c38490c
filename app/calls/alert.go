package calls

import (
	"slices"
	"time"
)

// AlertOp says what an alert event did to a call's alert.
type AlertOp string

// The alert events: a rule started or stopped being breached by the call,
// or a supervisor acknowledged the alert.
const (
	AlertRaised       AlertOp = "raised"
	AlertCleared      AlertOp = "cleared"
	AlertAcknowledged AlertOp = "acknowledged"
)

// AlertNote is what an alert event (KindAlert) says. Alert rules live in
// package alerts; a call knows a rule only by its id and its words, copied
// into the event so the call's history reads the same after the rule
// changed or went.
type AlertNote struct {
	Op AlertOp `json:"op"`
	// Rule is the rule's id.
	Rule string `json:"rule"`
	// Words is what a breaching row shows: "Ringing over 30 s".
	Words string `json:"words,omitempty"`
	// Detail says what was measured when the alert was raised ("ringing
	// for 31 s"), or why it cleared ("the call ended").
	Detail string `json:"detail,omitempty"`
	// Actor is who acknowledged the alert.
	Actor string `json:"actor,omitempty"`
}

// Alert is a rule the call breaches now, as the log last said.
type Alert struct {
	Rule   string    `json:"rule"`
	Words  string    `json:"words"`
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
	// AckedBy names the supervisor who acknowledged it, at AckedAt.
	AckedBy string    `json:"ackedBy,omitempty"`
	AckedAt time.Time `json:"ackedAt,omitzero"`
}

// Alert returns the call's active alert of the rule, if any.
func (c Call) Alert(rule string) (Alert, bool) {
	for _, a := range c.Alerts {
		if a.Rule == rule {
			return a, true
		}
	}
	return Alert{}, false
}

// Unacknowledged reports whether one of the call's alerts is not
// acknowledged yet.
func (c Call) Unacknowledged() bool {
	return slices.ContainsFunc(c.Alerts, func(a Alert) bool { return a.AckedBy == "" })
}

// applyAlert folds an alert event: a raise adds the rule's alert (once), a
// clear removes it, an acknowledgement marks it (once, by the first to
// acknowledge). An alert event never moves the call's state and may come
// after the call ended (a clear, or a failure-rate alert raised on an
// ended call).
func applyAlert(c Call, n AlertNote, at time.Time) Call {
	i := slices.IndexFunc(c.Alerts, func(a Alert) bool { return a.Rule == n.Rule })
	switch n.Op {
	case AlertRaised:
		if i < 0 {
			c.Alerts = append(slices.Clone(c.Alerts), Alert{Rule: n.Rule, Words: n.Words, Detail: n.Detail, Since: at})
		}
	case AlertCleared:
		if i >= 0 {
			c.Alerts = slices.Delete(slices.Clone(c.Alerts), i, i+1)
			if len(c.Alerts) == 0 {
				c.Alerts = nil
			}
		}
	case AlertAcknowledged:
		if i >= 0 && c.Alerts[i].AckedBy == "" && n.Actor != "" {
			c.Alerts = slices.Clone(c.Alerts)
			c.Alerts[i].AckedBy, c.Alerts[i].AckedAt = n.Actor, at
		}
	}
	return c
}
