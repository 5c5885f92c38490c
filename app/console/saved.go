package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// SavedFormat is the version of Saved's encoding. A saved view of another
// format is ignored, never misread.
const SavedFormat = 1

// Saved is the console's last view as the browser keeps it between loads:
// the calls shown, the feed sequence and epoch they are at, the server's
// clock, and who was signed in. A reload without the server (offline, or
// the server down) shows it, marked stale, and the feed then resumes from
// its sequence (?since=) instead of starting over. It is personal data:
// the console deletes it at logout.
type Saved struct {
	Format int    `json:"format"`
	Seq    uint64 `json:"seq"`
	Epoch  string `json:"epoch"`
	// ServerNow is the server's clock when the view was saved, and SavedAt
	// the local clock at that moment.
	ServerNow time.Time `json:"serverNow"`
	SavedAt   time.Time `json:"savedAt"`
	User      User      `json:"user"`
	// Calls are the live calls and the most recently ended ones.
	Calls []calls.Call `json:"calls"`
}

// ErrNoSavedView reports a saved view that is missing, of another format,
// or empty.
var ErrNoSavedView = errors.New("console: no saved view")

// ErrSavedTooLarge reports a view too large to keep in the browser's
// storage (about 5 MB a site): a console of tens of thousands of calls is
// not saved rather than spend seconds of the page's thread on a copy the
// browser refuses.
var ErrSavedTooLarge = errors.New("console: the view is too large to save")

// SavedMaxBytes is the most call JSON Save keeps.
const SavedMaxBytes = 4 << 20

// Save is what the store shows now, for the browser to keep: every live
// call and at most maxEnded ended ones, most recent first. A store that
// never received a view (sequence 0) saves nothing, and a view of more
// than SavedMaxBytes of calls is ErrSavedTooLarge, found before anything
// is decoded.
func (s *Store) Save(user User, maxEnded int) (Saved, error) {
	if s.seq == 0 {
		return Saved{}, ErrNoSavedView
	}
	slots := append(slices.Clone(s.live), s.ended[:min(len(s.ended), max(maxEnded, 0))]...)
	size := 0
	for _, i := range slots {
		if size += len(s.rawOf(&s.entries[i])); size > SavedMaxBytes {
			return Saved{}, fmt.Errorf("%w: %d calls, over %d bytes", ErrSavedTooLarge, len(slots), SavedMaxBytes)
		}
	}
	sv := Saved{Format: SavedFormat, Seq: s.seq, Epoch: s.epoch, ServerNow: s.Now(), SavedAt: s.opts.Now(), User: user}
	sv.Calls = make([]calls.Call, 0, len(slots))
	for _, i := range slots {
		var c calls.Call
		if err := json.Unmarshal(s.rawOf(&s.entries[i]), &c); err != nil {
			return Saved{}, fmt.Errorf("console: save call %s: %w", s.idOf(&s.entries[i]), err)
		}
		sv.Calls = append(sv.Calls, c)
	}
	return sv, nil
}

// Encode is the saved view in JSON.
func (sv Saved) Encode() ([]byte, error) {
	data, err := json.Marshal(sv)
	if err != nil {
		return nil, fmt.Errorf("console: encode the saved view: %w", err)
	}
	return data, nil
}

// DecodeSaved reads a saved view. Anything that is not one of this format
// is ErrNoSavedView (or a decoding error): the console then starts empty.
func DecodeSaved(data []byte) (Saved, error) {
	var sv Saved
	if err := json.Unmarshal(data, &sv); err != nil {
		return Saved{}, fmt.Errorf("console: decode the saved view: %w", err)
	}
	if sv.Format != SavedFormat || sv.Seq == 0 {
		return Saved{}, ErrNoSavedView
	}
	return sv, nil
}

// Snapshot is the saved view as the snapshot it was made from, with the
// server's clock carried forward to the local clock's now: durations keep
// running on an offline reload.
func (sv Saved) Snapshot(localNow time.Time) feedwire.Message {
	now := sv.ServerNow
	if !sv.SavedAt.IsZero() && localNow.After(sv.SavedAt) {
		now = now.Add(localNow.Sub(sv.SavedAt))
	}
	return feedwire.Message{Type: feedwire.TypeSnapshot, Seq: sv.Seq, Epoch: sv.Epoch, Now: now, Calls: sv.Calls}
}
