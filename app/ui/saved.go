package ui

import (
	"errors"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
)

// SavedViews keeps the console's last view between loads, for a reload
// without the server (offline, or the server down).
type SavedViews interface {
	// Load returns the saved view, or an error when there is none.
	Load() ([]byte, error)
	// Save replaces it.
	Save(data []byte) error
	// Clear deletes it (at logout: it is personal data).
	Clear()
}

// savedViewKey is the local-storage key of the saved view.
const savedViewKey = "switchboard.view"

// errNothingSaved reports an empty local storage.
var errNothingSaved = errors.New("ui: no view saved in this browser")

// localSaved keeps the view in the browser's local storage.
type localSaved struct{}

func (localSaved) storage() app.Value { return app.Window().Get("localStorage") }

func (s localSaved) Load() (data []byte, err error) {
	defer func() {
		if recover() != nil { // storage denied (private mode, policy)
			data, err = nil, errNothingSaved
		}
	}()
	v := s.storage().Call("getItem", savedViewKey)
	if !v.Truthy() {
		return nil, errNothingSaved
	}
	return []byte(v.String()), nil
}

func (s localSaved) Save(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil { // full (QuotaExceededError) or denied
			err = errors.New("ui: the browser refused to keep the view")
		}
	}()
	s.storage().Call("setItem", savedViewKey, string(data))
	return nil
}

func (s localSaved) Clear() {
	defer func() { _ = recover() }()
	s.storage().Call("removeItem", savedViewKey)
}

// restore shows the view an earlier load saved, marked stale until the
// feed brings a fresh one, and lets the feed resume from its sequence. It
// does so once, and not when the feed already brought a view. The view
// is decoded in a task of its own, then applied on the UI goroutine.
func (p *Page) restore(ctx app.Context) {
	saved, inbox, now := p.env.Saved, p.env.Inbox, p.localNow()
	if saved == nil || p.restoring || inbox.Seq() > 0 {
		return
	}
	p.restoring = true
	ctx.Async(func() {
		sv, err := loadSaved(saved)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil && p.userKnown && sv.User.Name != p.user.Name {
				saved.Clear() // another person's view: not for this one's eyes
				err = errNothingSaved
			}
			if err == nil && inbox.Restore(sv.Snapshot(now)) {
				if !p.userKnown {
					p.user, p.userKnown = sv.User, sv.User.Name != ""
				}
				p.restored = true
				p.Flush(ctx)
			}
		})
	})
}

// loadSaved reads and decodes the saved view; a broken one is deleted.
func loadSaved(saved SavedViews) (console.Saved, error) {
	data, err := saved.Load()
	if err != nil {
		return console.Saved{}, err
	}
	sv, err := console.DecodeSaved(data)
	if err != nil {
		saved.Clear()
	}
	return sv, err
}

func (p *Page) localNow() time.Time {
	if p.env != nil && p.env.Now != nil {
		return p.env.Now()
	}
	return time.Now()
}

// maybeSave saves the view when it changed and the last save is old
// enough; a big store is saved less often, as encoding it takes a while.
func (p *Page) maybeSave(ctx app.Context) {
	if p.env == nil || p.env.Saved == nil || !p.dirty || p.leaving || !p.userKnown || p.restored {
		return
	}
	every := saveEvery * time.Duration(1+p.store.LiveLen()/200)
	if now := p.localNow(); now.Sub(p.saved) < every {
		return
	} else {
		p.saved = now
	}
	for _, ended := range []int{savedEnded, 0} {
		sv, err := p.store.Save(p.user, ended)
		if errors.Is(err, console.ErrSavedTooLarge) {
			continue // without ended calls, it may fit
		}
		if err != nil {
			return
		}
		data, err := sv.Encode()
		if err == nil {
			err = p.env.Saved.Save(data)
		}
		if err == nil {
			p.dirty = false
			return
		}
		app.Log("switchboard: saving the view for offline use: " + err.Error())
	}
	// Too large even without ended calls: an older view kept would be
	// shown as this one on an offline reload.
	p.env.Saved.Clear()
	p.dirty = false
}

// forget deletes the saved view: the person left, or another signed in.
func (p *Page) forget() {
	if p.env != nil && p.env.Saved != nil {
		p.env.Saved.Clear()
	}
	p.dirty = false
}

// botOf finds the bot's own identity among the shown calls: the
// application that incoming calls target or outgoing calls come from.
// prev is kept when no call names it.
func botOf(s *console.Store, prev calls.Party) calls.Party {
	shown, _ := s.View(console.Filter{}, 0, liveRows)
	ended, _ := s.View(console.Filter{Ended: true}, 0, endedRows)
	for _, c := range append(shown, ended...) {
		for _, p := range c.Parties() {
			if isApplication(p) {
				return p
			}
		}
	}
	return prev
}

func isApplication(p calls.Party) bool {
	return p.Kind == "application" || p.Kind == "applicationInstance"
}

// isBot reports whether p is the bot the console serves.
func isBot(p, bot calls.Party) bool {
	return bot.ID != "" && p.ID == bot.ID && isApplication(p)
}
