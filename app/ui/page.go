package ui

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/alerts"
	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/feedwire"
	"switchboard/app/verbs"
)

// Tunables of the page.
const (
	// flushEvery is the shortest time between two flushes of the inbox: a
	// busy feed is coalesced into at most this many renders a second.
	flushEvery = 50 * time.Millisecond
	// liveRows and endedRows are the page sizes of the two tables.
	liveRows  = 30
	endedRows = 20
	// endedWindow is the window of the summary's "ended" bar.
	endedWindow = time.Hour
	// auditLimit is how many audit entries the admin panel shows.
	auditLimit = 100
	// saveEvery is how often, at most, the view is saved in the browser
	// for offline reloads; savedEnded is how many ended calls go along.
	saveEvery  = 3 * time.Second
	savedEnded = endedRows
)

// API is the REST API the page calls. *console.Client is the real one.
type API interface {
	Me(ctx context.Context) (console.User, error)
	// Act sends an action the way the action contract says.
	Act(ctx context.Context, a console.Act) error
	// Bulk takes one action on many calls at once; with override, also on
	// calls someone else has claimed.
	Bulk(ctx context.Context, verb verbs.Verb, ids []string, override bool) (verbs.BulkResult, error)
	// Claim takes a short claim on a call for an action; it returns the
	// claim held, and whether it is this console's.
	Claim(ctx context.Context, id string, verb verbs.Verb) (feedwire.Claim, bool, error)
	// Release gives this console's claim on a call back.
	Release(ctx context.Context, id string) error
	Events(ctx context.Context, id string) ([]console.EventEntry, error)
	Audit(ctx context.Context, limit int) ([]console.AuditEntry, error)
	Logout(ctx context.Context) (string, error)
	// AlertRules, SaveAlertRules and Acknowledge are the alerts' API.
	AlertRules(ctx context.Context) (alerts.Document, error)
	SaveAlertRules(ctx context.Context, doc alerts.Document) (alerts.Document, error)
	Acknowledge(ctx context.Context, id, rule string) error
}

// Env is what the page needs from outside. In the browser the page builds
// it from its own origin; tests give it loopback servers.
type Env struct {
	API API
	// FeedURL is the feed's websocket URL. Empty: the page runs no feed and
	// no timers (tests put messages in Inbox and flush by hand).
	FeedURL string
	// Saved keeps the last view between loads (the browser's local
	// storage); nil keeps nothing.
	Saved SavedViews
	// Progressive draws the first rows a few at a time, a frame apart, so
	// that no single task of the first load mounts them all (the browser
	// stays responsive while the app starts).
	Progressive bool
	// Inbox receives the feed; it must read the same clock as Now.
	Inbox *console.Inbox
	// Now is the local clock (default time.Now).
	Now func() time.Time
	// Probe receives what was rendered, for browser tests.
	Probe Probe
	// Yield, when set, returns once the browser has had its main thread
	// back (YieldToBrowser): the page calls it between reading the feed
	// and applying it, so the two are separate tasks. Nil does not wait.
	Yield func(context.Context)
}

// browserEnv builds the environment from the page's URL.
func browserEnv() (*Env, error) {
	u := app.Window().URL()
	origin := &url.URL{Scheme: u.Scheme, Host: u.Host}
	api, err := console.NewClient(origin.String(), fetchTransport{})
	if err != nil {
		return nil, err
	}
	ws := &url.URL{Scheme: "ws", Host: u.Host, Path: "/api/feed"}
	if u.Scheme == "https" {
		ws.Scheme = "wss"
	}
	return &Env{API: api, FeedURL: ws.String(), Inbox: console.NewInbox(nil), Probe: newWindowProbe(), Saved: localSaved{}, Progressive: true, Yield: YieldToBrowser}, nil
}

// Op is the state of the action last taken on one call from this console.
type Op struct {
	// Verb is the action.
	Verb verbs.Verb
	// Participant is the participant an action on one participant acts on.
	Participant string
	// InFlight is set while the request is out; its button is disabled.
	InFlight bool
	// Error says in words why it failed; empty when it did not.
	Error string
}

// dialog is the confirmation open for one call, if any: a reason for
// reject, a target for redirect and transfer, a yes for hang up and delete.
type dialog struct {
	Verb   verbs.Verb
	CallID string
	// Opener is the control that opened it, which gets the focus back.
	Opener focusKey
	// Claim is the claim someone else holds on the call, as the server
	// answered when this console asked for one; Override says the
	// supervisor chose to act anyway.
	Claim    feedwire.Claim
	Override bool
}

// detail is what the detail panel shows about the selected call.
type detail struct {
	CallID  string
	Seq     uint64 // the call's sequence the events were fetched for
	Events  []console.EventEntry
	Loading bool
	Error   string
}

// Page is the console: it owns the store, the feed and every piece of
// state, and renders the smaller components from them.
type Page struct {
	app.Compo

	env   *Env
	store *console.Store

	user        console.User
	userKnown   bool
	conn        console.Status
	installable bool
	update      bool
	// leaving is set once the supervisor logs out: the feed the server
	// then closes must not send the page to the sign-in form, racing the
	// logout's own way out through the identity provider.
	leaving bool

	filter      console.Filter
	endedFilter console.Filter
	liveOffset  int
	endedOffset int

	// restored is set while the page shows a view saved by an earlier
	// load, before the feed brought a fresh one: stale, whatever the
	// connection says.
	restored bool
	// saved is when the view was last saved; dirty, that it changed since.
	saved time.Time
	dirty bool
	// focus is the call control that has the keyboard focus, by call and
	// action rather than by position: go-app reuses row elements by
	// position, so a focused element may come to show another call.
	focus focusKey
	// bot is the bot's own identity, shown once in the header.
	bot calls.Party
	// restoring is set once the saved view was asked for.
	restoring bool

	ops    map[string]Op
	dialog dialog
	// bulk is the calls picked for a bulk action, its confirmation and
	// how the last one went.
	bulk bulkState
	// people are everyone with a console open, on any replica; claims are
	// the calls someone is acting on, by call id; held are the calls this
	// console holds a claim on.
	people []feedwire.Person
	claims map[string]feedwire.Claim
	held   map[string]bool
	detail detail
	// recent are the targets this browser redirected or transferred to
	// lately, most recent first.
	recent []string

	auditOpen  bool
	audit      []console.AuditEntry
	auditError string

	// alerting is what the page keeps about threshold alerts.
	alerting alertState

	now      time.Time // the server's clock at the last render, to the second
	rendered []string  // calls whose rows the last flush changed, for the probe

	// mounted is the page's own context, for background work that must
	// outlive the element that started it.
	mounted app.Context
}

// NewPage returns a page that uses env instead of the browser's.
func NewPage(env *Env) *Page {
	return &Page{env: env}
}

// OnInit prepares the state, on the server (prerendering) and the client.
func (p *Page) OnInit() {
	now := time.Now
	if p.env != nil && p.env.Now != nil {
		now = p.env.Now
	}
	p.store = console.NewStore(console.Options{Now: now})
	p.ops = make(map[string]Op)
	p.held = make(map[string]bool)
	p.conn = console.Status{State: console.Connecting}
	p.endedFilter = console.Filter{Ended: true}
}

// OnMount starts the console in the browser: who is signed in, the feed,
// the flush and timer loop.
func (p *Page) OnMount(ctx app.Context) {
	p.mounted = ctx
	if p.env == nil {
		env, err := browserEnv()
		if err != nil {
			p.conn = console.Status{State: console.Offline, Reason: err.Error()}
			return
		}
		p.env = env
	}
	if p.env.Inbox == nil {
		p.env.Inbox = console.NewInbox(p.env.Now)
	}
	p.installable = ctx.IsAppInstallable()
	p.update = ctx.AppUpdateAvailable()
	p.recent = loadRecentTargets(ctx)
	p.initNotifications(ctx)
	p.watchFocus(ctx)
	p.loadUser(ctx)
	if p.env.FeedURL == "" {
		p.restore(ctx)
		return
	}
	p.startFeed(ctx)
	p.startLoop(ctx)
	// The saved view is for when the server does not answer: shown at
	// once when the first connection fails, or after a short wait with no
	// view; an ordinary load shows the live view straight away instead
	// of drawing the saved one first.
	ctx.Async(func() {
		select {
		case <-ctx.Done():
		case <-time.After(restoreAfter):
			ctx.Dispatch(p.restore)
		}
	})
}

// restoreAfter is how long a load waits for the feed's view before it
// shows the saved one.
const restoreAfter = 2 * time.Second

func (p *Page) loadUser(ctx app.Context) {
	api, yield := p.env.API, p.env.Yield
	ctx.Async(func() {
		u, err := api.Me(ctx)
		if yield != nil {
			yield(ctx) // who signed in is drawn in a task of its own
		}
		ctx.Dispatch(func(ctx app.Context) {
			switch {
			case console.IsUnauthorized(err):
				p.forget()
				if !p.leaving {
					goTo(ctx, "/auth/login")
				}
			case err != nil:
				if !p.userKnown { // a restored view names its user already
					p.conn.Reason = "could not load your profile: " + err.Error()
				}
			default:
				if p.userKnown && p.user.Name != u.Name {
					p.forget() // another person's saved view
				}
				p.user, p.userKnown = u, true
			}
		})
	})
}

func (p *Page) startFeed(ctx app.Context) {
	feed := &console.Feed{
		URL:   p.env.FeedURL,
		Inbox: p.env.Inbox,
		OnStatus: func(s console.Status) {
			ctx.Dispatch(func(ctx app.Context) {
				p.conn = s
				switch s.State {
				case console.Live:
					p.restored = false
				case console.Reconnecting, console.Offline:
					p.restore(ctx) // the server does not answer: show the saved view
				}
				p.afterRender(ctx)
			})
		},
		CheckSession: func(cctx context.Context) error {
			_, err := p.env.API.Me(cctx)
			return err
		},
	}
	ctx.Async(func() {
		if err := feed.Run(ctx); errors.Is(err, console.ErrLoggedOut) {
			ctx.Dispatch(func(ctx app.Context) {
				p.forget()
				if !p.leaving {
					goTo(ctx, "/auth/login")
				}
			})
		}
	})
}

// startLoop flushes the inbox when it has something (at most every
// flushEvery) and ticks once a second for timers and retention.
func (p *Page) startLoop(ctx app.Context) {
	ctx.Async(func() {
		flushLoop(ctx, p.env.Inbox, p.env.Yield,
			func() { ctx.Dispatch(p.Flush) },
			func() { ctx.Dispatch(p.Tick) })
	})
}

// flushLoop calls flush when the inbox has something, at most every
// flushEvery, and tick once a second, until ctx is done. Before each flush
// it yields (when yield is set): the browser ends the task that read and
// decoded the feed before the flush applies it, two shorter tasks rather
// than one long one on a big snapshot.
func flushLoop(ctx context.Context, inbox *console.Inbox, yield func(context.Context), flush, tick func()) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-inbox.Ready():
			if yield != nil {
				yield(ctx)
			}
			flush()
			select {
			case <-ctx.Done():
				return
			case <-time.After(flushEvery):
			}
		case <-ticker.C:
			tick()
		}
	}
}

// Flush moves what the inbox gathered into the store and re-renders. It
// runs on the UI goroutine.
func (p *Page) Flush(ctx app.Context) {
	batch := p.env.Inbox.Take()
	changes, err := p.store.ApplyBatch(batch)
	if err != nil {
		app.Log("switchboard: applying the feed: " + err.Error())
	}
	if batch.People != nil {
		p.people = *batch.People
	}
	if batch.Claims != nil {
		p.claims = claimsByCall(*batch.Claims)
	}
	p.noticeAlerts(changes)
	p.store.Prune()
	p.prunePicked()
	p.setNow(ctx)
	p.rendered = p.visibleChanged(changes)
	if changes.Any() {
		p.dirty = true
		p.bot = botOf(p.store, p.bot)
	}
	p.refreshDetail(ctx)
	p.clampOffsets()
	p.afterRender(ctx)
	p.probe(ctx)
}

// Tick advances the timers (durations, countdowns) and drops ended calls
// past the history.
func (p *Page) Tick(ctx app.Context) {
	p.store.Prune()
	p.setNow(ctx)
	p.rendered = nil
	p.clampOffsets()
	p.afterRender(ctx)
	p.maybeSave(ctx)
}

// setNow reads the server's clock, to the second, and tells the rows'
// clocks when it moved.
func (p *Page) setNow(ctx app.Context) {
	now := p.store.Now().Truncate(time.Second)
	if !now.Equal(p.now) {
		p.now = now
		ctx.SetState(nowState, now)
	}
}

// visibleChanged is the changed calls the current windows show.
func (p *Page) visibleChanged(ch console.Changes) []string {
	if !ch.Any() {
		return nil
	}
	rows := p.liveWindow()
	rows = append(rows, p.endedWindow()...)
	var out []string
	for _, c := range rows {
		if ch.Reset || slices.Contains(ch.IDs, c.ID) {
			out = append(out, c.ID)
		}
	}
	return out
}

func (p *Page) clampOffsets() {
	if _, total := p.store.View(p.filter, 0, 0); p.liveOffset >= total {
		p.liveOffset = max(0, (total-1)/liveRows*liveRows)
	}
	if _, total := p.store.View(p.endedFilter, 0, 0); p.endedOffset >= total {
		p.endedOffset = max(0, (total-1)/endedRows*endedRows)
	}
}

// probe tells the browser-test probe what this flush rendered, once the
// DOM has it.
func (p *Page) probe(ctx app.Context) {
	if p.env == nil || p.env.Probe == nil {
		return
	}
	probe, seq, state := p.env.Probe, p.store.Seq(), p.conn.State
	rows := make(map[string]uint64, len(p.rendered))
	for _, id := range p.rendered {
		if c, ok := p.store.Get(id); ok {
			rows[id] = c.Seq
		}
	}
	received := p.env.Inbox.Seq()
	ctx.Defer(func(app.Context) { probe.Rendered(seq, received, state, rows) })
}

func (p *Page) liveWindow() []calls.Call {
	rows, _ := p.store.View(p.filter, p.liveOffset, liveRows)
	return rows
}

func (p *Page) endedWindow() []calls.Call {
	rows, _ := p.store.View(p.endedFilter, p.endedOffset, endedRows)
	return rows
}

// goTo leaves the app for another page of the server (login, logout).
func goTo(ctx app.Context, path string) {
	ctx.Defer(func(app.Context) {
		app.Window().Get("location").Set("href", path)
	})
}

// OnAppUpdate shows the prompt when a newer version was downloaded.
func (p *Page) OnAppUpdate(ctx app.Context) {
	p.update = ctx.AppUpdateAvailable()
}

// OnAppInstallChange shows or hides the install button.
func (p *Page) OnAppInstallChange(ctx app.Context) {
	p.installable = ctx.IsAppInstallable()
}
