package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"switchboard/backend/audit"
	"switchboard/backend/ratelimit"
)

// Kinds of failures, as the audit trail counts a flood of them.
const (
	kindStarts = "refused sign-in starts"
	kindFailed = "failed sign-ins"
)

// refusal is a sign-in refused for excess before anything is checked.
type refusal struct {
	kind    string
	from    netip.Addr
	status  int // 429, or 503 when the total of sign-ins is the limit
	wait    time.Duration
	reason  string // for the audit trail
	message string // for the page, before "Try again in N seconds."
}

// refuse answers a refusal with a page saying when to try again, and
// audits it (a flood as one entry).
func (a *Auth) refuse(w http.ResponseWriter, r *http.Request, ref refusal) {
	a.failed(r.Context(), r, audit.Failure{Kind: ref.kind, From: ratelimit.Key(ref.from), Refused: true,
		Entry: audit.Entry{Actor: "anonymous", Action: audit.ActionRefused, Outcome: ref.reason, Detail: r.URL.Path}})
	secs := ratelimit.RetryAfter(w, ref.wait)
	renderPage(w, ref.status, page{
		Title:   "Too many sign-ins",
		Message: fmt.Sprintf("%s Try again in %s.", ref.message, seconds(secs)),
		Links:   []link{{"/auth/login", "Try again"}},
	})
}

// refusePending answers a sign-in start refused by the caps on sign-ins in
// progress.
func (a *Auth) refusePending(w http.ResponseWriter, r *http.Request, from netip.Addr, full *pendingFull) {
	ref := refusal{kind: kindStarts, from: from, status: http.StatusTooManyRequests, wait: full.retryAfter, reason: full.Error(),
		message: "Too many sign-ins are in progress from your address: finish one, or wait for them to expire."}
	if !full.perClient {
		ref.status = http.StatusServiceUnavailable
		ref.message = "Switchboard has too many sign-ins in progress right now."
	}
	a.refuse(w, r, ref)
}

// failed records a failed or refused sign-in: through Floods, a flood as
// one entry; without, a failure on its own and a refusal not at all.
func (a *Auth) failed(ctx context.Context, r *http.Request, f audit.Failure) {
	if a.cfg.Floods == nil {
		if !f.Refused {
			a.record(ctx, r, f.Entry)
		}
		return
	}
	f.Entry.Remote = a.cfg.ClientAddr(r).String()
	a.cfg.Floods.Record(context.WithoutCancel(ctx), f)
}

func seconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", n)
}
