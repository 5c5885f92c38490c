package verba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/backend/audit"
)

// ArmBucket is the NATS KV bucket of armed "next" deletions, one per
// extension (by hash), shared by every replica.
const ArmBucket = "verba_next"

// NextWindow is how long after a DeleteCall with status next the next call
// of the extension is awaited: the recording platform's "the next call in
// the minute after the request".
const NextWindow = time.Minute

// armRetention is how long the bucket keeps an arm; arms are checked against
// their own window, this only clears the leftovers.
const armRetention = 10 * NextWindow

// ActionArmNext is the audit action of a DeleteCall that armed the deletion
// of an extension's next call. The deletion itself is recorded as
// audit.ActionMark or audit.ActionDelete when the call starts.
const ActionArmNext = "arm_next_deletion"

// armRecord is an armed deletion.
type armRecord struct {
	Extension string    `json:"extension"`
	Key       string    `json:"key"`            // the API key's name
	User      string    `json:"user,omitempty"` // the API user, when a token was used
	ArmedAt   time.Time `json:"armedAt"`
	Until     time.Time `json:"until"`
}

func armKey(ext string) string { return sha256Hex(ext) }

// armNext arms the deletion of the extension's next call. Arming again
// within the window restarts it.
func (s *Service) armNext(ctx context.Context, ext string, c caller, detail string) (envelope, error) {
	now := s.now()
	a := armRecord{Extension: ext, Key: c.key.Name, User: c.user, ArmedAt: now, Until: now.Add(NextWindow)}
	data, err := json.Marshal(a)
	if err != nil {
		return envelope{}, fmt.Errorf("verba: arm record: %w", err)
	}
	if _, err := s.arms.Put(ctx, armKey(ext), data); err != nil {
		return envelope{}, fmt.Errorf("verba: arm next deletion: %w", err)
	}
	s.record(ctx, c, ActionArmNext, "", audit.OutcomeOK, fmt.Sprintf("%s: extension %s, until %s", detail, ext, a.Until.UTC().Format(time.RFC3339)))
	return envelope{Message: fmt.Sprintf("armed: the next call of extension %s starting by %s is deleted",
		quote(ext), a.Until.UTC().Format(time.RFC3339))}, nil
}

// CallStarted tells the service of a call seen for the first time. If a
// DeleteCall with status next is armed for one of its parties and the call
// started within that arm's window, the arm is used up and the call marked
// for deletion (or deleted, if it has already ended). The server calls it
// for every new call; with several replicas, only one uses the arm.
//
// Errors are logged: the call goes on either way.
func (s *Service) CallStarted(ctx context.Context, c calls.Call) {
	started := c.StartedAt
	if started.IsZero() {
		started = s.now()
	}
	for _, ext := range extensions(c) {
		a, ok := s.claim(ctx, ext, started)
		if !ok {
			continue
		}
		who := caller{key: Key{Name: a.Key}, user: a.User}
		detail := "DeleteCall by extension with status next"
		if a.User != "" {
			detail += ", token of API user " + a.User
		}
		if _, err := s.act(ctx, c, who, detail); err != nil {
			s.log.Error("verba: armed deletion failed", "call", c.ID, "key", a.Key, "err", err)
		}
	}
}

// extensions are the phone numbers and ids of the call's parties, each once.
func extensions(c calls.Call) []string {
	var out []string
	seen := map[string]bool{"": true}
	for _, p := range c.Parties() {
		for _, v := range []string{p.Phone, p.ID} {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// claim uses up the arm of ext if a call that started at started falls in
// its window. Deleting the arm at the revision read makes the claim
// exclusive across replicas.
func (s *Service) claim(ctx context.Context, ext string, started time.Time) (armRecord, bool) {
	key := armKey(ext)
	e, err := s.arms.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.log.Error("verba: read armed deletion", "err", err)
		}
		return armRecord{}, false
	}
	var a armRecord
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		s.log.Error("verba: armed deletion record", "err", err)
		return armRecord{}, false
	}
	if started.Before(a.ArmedAt) { // a call older than the request
		return armRecord{}, false
	}
	err = s.arms.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	if started.After(a.Until) || err != nil { // too late (arm cleared), or claimed or re-armed meanwhile
		return armRecord{}, false
	}
	return a, true
}
