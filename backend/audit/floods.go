package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// FloodOptions tune Floods. Zero values take the defaults.
type FloodOptions struct {
	// Window is how long failures from one address are counted into one
	// entry (default one minute).
	Window time.Duration
	// MaxAddresses bounds the addresses followed one by one in a window
	// (default 256); failures from further addresses are counted together.
	MaxAddresses int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives entries that could not be recorded (default
	// slog.Default()).
	Logger *slog.Logger
}

func (o FloodOptions) withDefaults() FloodOptions {
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.MaxAddresses <= 0 {
		o.MaxAddresses = 256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Failure is one failed or refused request on a public door, for Floods.
type Failure struct {
	// Kind names such failures in the plural, as the aggregated entry says
	// them: "failed DeleteCall requests", "failed sign-ins".
	Kind string
	// From is the client's address, as the rate limits count it (a single
	// address, or an IPv6 /64).
	From netip.Prefix
	// Refused is set when the request was refused unchecked because its
	// address had failed too often (429).
	Refused bool
	// Entry is the request's own entry, recorded as is when it is the first
	// of its kind from its address in a window.
	Entry Entry
}

// Floods records failures on the public doors without letting a flood of
// them flood the trail: per kind and address, the first failure of a window
// is recorded as it is, and the rest are counted into one entry (Action
// ActionFlood, Count) written when the window ends, such as "412 failed
// DeleteCall requests from 192.0.2.7 in the last minute". At most
// MaxAddresses addresses are followed in a window; failures from others
// are counted into one entry per kind. The trail thus grows by a bounded
// number of entries a window, whatever arrives.
//
// Run writes the counts as windows end; without it they are written only
// when the same kind and address fail again. Floods is safe for concurrent
// use.
type Floods struct {
	rec  Recorder
	opts FloodOptions

	mu   sync.Mutex
	open map[floodKey]*flood
	rest map[string]*flood // by kind: failures from addresses beyond MaxAddresses
}

type floodKey struct {
	kind string
	from netip.Prefix
}

// flood counts one kind of failure from one address (or from the rest).
type flood struct {
	kind    string
	from    netip.Prefix
	rest    bool
	start   time.Time
	first   time.Time
	count   int
	refused int
	actor   string
}

func (f *flood) add(fl Failure) {
	f.count++
	if fl.Refused {
		f.refused++
	}
	if f.actor != fl.Entry.Actor {
		f.actor = "several"
	}
}

// NewFloods returns Floods recording to rec.
func NewFloods(rec Recorder, opts FloodOptions) *Floods {
	return &Floods{rec: rec, opts: opts.withDefaults(), open: map[floodKey]*flood{}, rest: map[string]*flood{}}
}

// Window is how long failures are counted into one entry.
func (f *Floods) Window() time.Duration { return f.opts.Window }

// Record counts fl, and records its entry if it is the first of its kind
// from its address in the current window. Errors are logged: a failure to
// audit does not change the answer the request gets.
func (f *Floods) Record(ctx context.Context, fl Failure) {
	now := f.opts.Now()
	f.mu.Lock()
	key := floodKey{fl.Kind, fl.From}
	var ended *flood
	cur := f.open[key]
	if cur != nil && now.Sub(cur.start) >= f.opts.Window {
		ended, cur = cur, nil
		delete(f.open, key)
	}
	first := false
	switch {
	case cur != nil:
		cur.add(fl)
	case len(f.open) < f.opts.MaxAddresses:
		f.open[key] = &flood{kind: fl.Kind, from: fl.From, start: now, first: now, count: 1, actor: fl.Entry.Actor,
			refused: b2i(fl.Refused)}
		first = true
	default:
		r := f.rest[fl.Kind]
		if r == nil {
			r = &flood{kind: fl.Kind, rest: true, start: now, actor: fl.Entry.Actor}
			f.rest[fl.Kind] = r
		}
		r.add(fl)
	}
	f.mu.Unlock()
	if ended != nil {
		f.write(ctx, ended, now)
	}
	if first {
		e := fl.Entry
		if e.At.IsZero() {
			e.At = now
		}
		f.record(ctx, e)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Flush writes the counts of the windows that have ended; with all, of
// every window, ended or not.
func (f *Floods) Flush(ctx context.Context, all bool) {
	now := f.opts.Now()
	var done []*flood
	f.mu.Lock()
	for k, fl := range f.open {
		if all || now.Sub(fl.start) >= f.opts.Window {
			done = append(done, fl)
			delete(f.open, k)
		}
	}
	for k, fl := range f.rest {
		if all || now.Sub(fl.start) >= f.opts.Window {
			done = append(done, fl)
			delete(f.rest, k)
		}
	}
	f.mu.Unlock()
	for _, fl := range done {
		f.write(ctx, fl, now)
	}
}

// Run flushes every quarter window until ctx ends, then flushes every
// window still open, so a shutdown loses no count.
func (f *Floods) Run(ctx context.Context) {
	t := time.NewTicker(f.opts.Window / 4)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.Flush(ctx, false)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			f.Flush(fctx, true)
			cancel()
			return
		}
	}
}

// write records the count of fl, unless it is only the first failure,
// recorded already.
func (f *Floods) write(ctx context.Context, fl *flood, now time.Time) {
	if !fl.rest && fl.count < 2 {
		return
	}
	from := "from " + addrString(fl.from)
	remote := addrString(fl.from)
	detail := fmt.Sprintf("the first, at %s, is recorded on its own", fl.first.UTC().Format(time.RFC3339))
	if fl.rest {
		from = "from other addresses"
		remote = ""
		detail = fmt.Sprintf("beyond the %d addresses the trail follows one by one in a window", f.opts.MaxAddresses)
	}
	if fl.refused > 0 {
		detail = fmt.Sprintf("%d refused unchecked (429: too many from the address); %s", fl.refused, detail)
	}
	f.record(ctx, Entry{At: now, Actor: fl.actor, Action: ActionFlood, Count: fl.count, Remote: remote, Detail: detail,
		Outcome: fmt.Sprintf("%d %s %s in %s", fl.count, fl.kind, from, windowWords(f.opts.Window))})
}

func (f *Floods) record(ctx context.Context, e Entry) {
	if err := f.rec.Record(ctx, e); err != nil {
		f.opts.Logger.Error("audit: entry not recorded", "action", e.Action, "actor", e.Actor, "outcome", e.Outcome, "err", err)
	}
}

// addrString writes a single address without its /32 or /128.
func addrString(p netip.Prefix) string {
	switch {
	case !p.IsValid():
		return "an unknown address"
	case p.IsSingleIP():
		return p.Addr().String()
	}
	return p.String()
}

// windowWords says a window as "the last minute" or "the last 30s".
func windowWords(w time.Duration) string {
	switch w {
	case time.Minute:
		return "the last minute"
	case time.Hour:
		return "the last hour"
	}
	return "the last " + w.String()
}
