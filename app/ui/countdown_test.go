package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
)

// The page's clock is truncated to the second, so a call that just arrived
// may have started after "now": the countdown must still say 15 s at most.
func TestCountdownNeverExceedsTheDeadline(t *testing.T) {
	tests := []struct {
		name    string
		started time.Time
		want    string
	}{
		{"started after the truncated clock", t0.Add(700 * time.Millisecond), "answer within 15 seconds"},
		{"started on the clock", t0, "answer within 15 seconds"},
		{"started 4.2 s ago", t0.Add(-4200 * time.Millisecond), "answer within 11 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := &Row{Call: call("c1", calls.Incoming, tt.started), Now: t0, CanAct: true}
			d := app.NewClientTester(row)
			defer d.Close()
			if html := app.HTMLString(row); !strings.Contains(html, tt.want) {
				t.Errorf("countdown lacks %q:\n%s", tt.want, html)
			}
		})
	}
}
