// Package masking decides who sees external parties masked (package
// app/privacy says how): with masking on, viewers read external numbers
// with their last digits only and external names as "External caller";
// supervisors and admins always read them in full. There is no unmask
// action, so there is no unmasked read to record: the audit records who
// turned masking on or off.
//
// The setting starts from the server's flag (--mask-for-viewers) and an
// admin may change it in the console; the admin's choice is kept in a
// key-value bucket every replica watches, and overrides the flag until an
// admin clears it.
package masking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/backend/apierror"
	"switchboard/backend/audit"
	"switchboard/backend/auth"
)

// Bucket holds Switchboard's settings an admin changes in the console.
const Bucket = "SWITCHBOARD_SETTINGS"

// key is the privacy setting's key in Bucket.
const key = "privacy"

// AuditAction is the audit entry's action when an admin changes the
// setting.
const AuditAction = "privacy_setting"

// Options configure the setting.
type Options struct {
	// Default is the flag's value: whether viewers see external parties
	// masked while no admin has chosen.
	Default  bool
	Replicas int
	// Audit, if set, records every change.
	Audit audit.Recorder
	// OnChange, if set, is called with the new value each time it changes
	// (on this replica or another): the feed refreshes viewers' consoles.
	OnChange func(on bool)
	Logger   *slog.Logger
}

// Setting is the privacy setting, shared by replicas.
type Setting struct {
	kv   jetstream.KeyValue
	opts Options
	on   atomic.Bool
	// mu orders the changes this replica sees.
	mu     sync.Mutex
	chosen *Choice
}

// Choice is an admin's choice, as stored and as GET /api/settings/privacy
// reports it.
type Choice struct {
	MaskForViewers bool      `json:"maskForViewers"`
	By             string    `json:"by,omitempty"`
	At             time.Time `json:"at,omitzero"`
}

// Open binds the bucket and reads the current choice, so the first
// request served is already masked as it must be.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Setting, error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Switchboard: settings an admin changes in the console",
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		History:     1,
		MaxBytes:    1 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("masking: bucket %s: %w", Bucket, err)
	}
	s := &Setting{kv: kv, opts: opts}
	s.on.Store(opts.Default)
	entry, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, fmt.Errorf("masking: read the setting: %w", err)
	default:
		s.apply(entry.Value())
	}
	return s, nil
}

// On reports whether viewers see external parties masked.
func (s *Setting) On() bool { return s.on.Load() }

// Masks reports whether role reads external parties masked.
func (s *Setting) Masks(role auth.Role) bool {
	return s.On() && !role.Allows(auth.Supervisor)
}

// For reports whether the signed-in reader of r reads external parties
// masked. A request with no user (never served by the guarded routes) is
// masked whenever masking is on.
func (s *Setting) For(r *http.Request) bool {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		return s.On()
	}
	return s.Masks(u.Role)
}

// apply takes a stored value (nil or empty: no choice, the flag rules).
func (s *Setting) apply(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *Choice
	if len(data) > 0 {
		c = new(Choice)
		if err := json.Unmarshal(data, c); err != nil {
			s.opts.Logger.Warn("masking: the stored setting is unreadable; the flag rules", "err", err)
			c = nil
		}
	}
	s.chosen = c
	on := s.opts.Default
	if c != nil {
		on = c.MaskForViewers
	}
	if s.on.Swap(on) != on && s.opts.OnChange != nil {
		s.opts.OnChange(on)
	}
}

// Run follows the setting as any replica changes it, until ctx ends.
func (s *Setting) Run(ctx context.Context) {
	wait := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := s.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		s.opts.Logger.Warn("masking: watching the setting; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (s *Setting) watch(ctx context.Context) error {
	w, err := s.kv.Watch(ctx, key)
	if err != nil {
		return fmt.Errorf("masking: watch: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case entry, ok := <-w.Updates():
			if !ok {
				return errors.New("masking: the watch ended")
			}
			switch {
			case entry == nil: // caught up
			case entry.Operation() != jetstream.KeyValuePut:
				s.apply(nil)
			default:
				s.apply(entry.Value())
			}
		}
	}
}

// Set stores an admin's choice; every replica follows it.
func (s *Setting) Set(ctx context.Context, on bool, by string) error {
	data, _ := json.Marshal(Choice{MaskForViewers: on, By: by, At: time.Now().UTC()})
	if _, err := s.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("masking: store the setting: %w", err)
	}
	s.apply(data)
	return nil
}

// Clear forgets the admin's choice: the flag rules again.
func (s *Setting) Clear(ctx context.Context) error {
	if err := s.kv.Purge(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("masking: clear the setting: %w", err)
	}
	s.apply(nil)
	return nil
}

// State is what GET /api/settings/privacy answers.
type State struct {
	// MaskForViewers is the setting in force.
	MaskForViewers bool `json:"maskForViewers"`
	// Default is the flag's value; Chosen the admin's choice, if any.
	Default bool    `json:"default"`
	Chosen  *Choice `json:"chosen,omitempty"`
}

func (s *Setting) state() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{MaskForViewers: s.On(), Default: s.opts.Default}
	if s.chosen != nil {
		c := *s.chosen
		st.Chosen = &c
	}
	return st
}

// maxBody bounds PUT's body.
const maxBody = 4 << 10

// Routes mounts GET /api/settings/privacy (every role: a console says
// whether it shows numbers masked) and PUT (admins: {"maskForViewers":
// true|false}, or null to go back to the flag). guard wraps a handler
// with the role it needs.
func (s *Setting) Routes(mux *http.ServeMux, guard func(need auth.Role, h http.Handler) http.Handler) {
	mux.Handle("GET /api/settings/privacy", guard(auth.Viewer, http.HandlerFunc(s.get)))
	mux.Handle("PUT /api/settings/privacy", guard(auth.Admin, http.HandlerFunc(s.put)))
}

func (s *Setting) get(w http.ResponseWriter, _ *http.Request) {
	apierror.JSON(w, http.StatusOK, s.state())
}

func (s *Setting) put(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
		apierror.Write(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", "the body could not be read, or is larger than 4 KiB")
		return
	}
	var body struct {
		MaskForViewers *bool `json:"maskForViewers"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || json.Unmarshal(data, &body) != nil {
		apierror.Write(w, http.StatusBadRequest, "bad_request", `the body must be {"maskForViewers": true, false or null}`)
		return
	}
	if _, ok := raw["maskForViewers"]; !ok {
		apierror.Write(w, http.StatusBadRequest, "bad_request", `the body must say "maskForViewers": true, false or null`)
		return
	}
	actor := ""
	if u, ok := auth.UserFrom(r.Context()); ok {
		actor = u.Name
	}
	detail := "back to the server's default"
	if body.MaskForViewers == nil {
		err = s.Clear(r.Context())
	} else {
		detail = "mask external numbers and names for viewers: " + onOff(*body.MaskForViewers)
		err = s.Set(r.Context(), *body.MaskForViewers, actor)
	}
	outcome := audit.OutcomeOK
	if err != nil {
		outcome = err.Error()
	}
	if s.opts.Audit != nil {
		if aerr := s.opts.Audit.Record(r.Context(), audit.Entry{At: time.Now().UTC(), Actor: actor, Action: AuditAction,
			Outcome: outcome, Detail: detail}); aerr != nil {
			s.opts.Logger.Error("masking: audit the setting's change", "err", aerr)
		}
	}
	if err != nil {
		s.opts.Logger.Error("masking: change the setting", "err", err)
		apierror.Write(w, http.StatusServiceUnavailable, "unavailable", "the setting could not be stored; retry")
		return
	}
	apierror.JSON(w, http.StatusOK, s.state())
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
