package verba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/backend/audit"
)

// DeletedBucket is the NATS KV bucket remembering the identifiers of the
// calls DeleteCall deleted or marked (hashed, with the call id and key
// name), so that deleting a call again succeeds instead of finding nothing.
const DeletedBucket = "verba_deleted"

// Messages of a successful DeleteCall. Deleting an ended call says nothing
// more than code 0, exactly as the recording platform does.
const (
	msgMarked         = "the call is in progress: marked for deletion, it is deleted when it ends"
	msgAlreadyMarked  = "the call is in progress and already marked for deletion; it is deleted when it ends"
	msgAlreadyDeleted = "the call was already deleted"
)

// tombstone is what DeletedBucket holds per identifier.
type tombstone struct {
	CallID string    `json:"callId"`
	Key    string    `json:"key"`
	At     time.Time `json:"at"`
}

// deleteCall finds the call the lookup names and deletes it (ended), marks
// it (ongoing), or arms the deletion of the extension's next call.
func (s *Service) deleteCall(ctx context.Context, l lookup, c caller) (envelope, error) {
	all, err := s.store.Calls(ctx)
	if err != nil {
		return envelope{}, fmt.Errorf("verba: read calls: %w", err)
	}
	if all, err = s.withPast(ctx, all, l); err != nil {
		return envelope{}, err
	}
	detail := "DeleteCall by " + l.by
	if l.by == paramExtension {
		detail += " with status " + l.status.String()
	}
	if c.user != "" {
		detail += ", token of API user " + c.user
	}
	f, err := find(all, l)
	if isNotFound(err) && l.by != paramExtension {
		return s.deleteAgain(ctx, l, c, detail, err)
	}
	if err != nil {
		return envelope{}, err
	}
	if f.arm {
		return s.armNext(ctx, l.value, c, detail)
	}
	msg, err := s.act(ctx, f.call, c, detail)
	return envelope{Message: msg}, err
}

// withPast adds the ended calls beyond the live history that match l, when
// the store keeps them; a call both places hold is listed once.
func (s *Service) withPast(ctx context.Context, all []calls.Call, l lookup) ([]calls.Call, error) {
	past, ok := s.store.(PastCalls)
	if !ok || (l.by == paramExtension && !l.status.has(statusLast)) {
		return all, nil
	}
	more, err := past.PastCalls(ctx, l.by, l.value)
	if err != nil {
		return nil, fmt.Errorf("verba: read past calls: %w", err)
	}
	seen := make(map[string]bool, len(all))
	for _, c := range all {
		seen[c.ID] = true
	}
	for _, c := range more {
		if !seen[c.ID] {
			all, seen[c.ID] = append(all, c), true
		}
	}
	return all, nil
}

func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status == http.StatusNotFound
}

// deleteAgain answers a lookup that matched no call: success if the
// identifier belongs to a call deleted before, notFound otherwise.
func (s *Service) deleteAgain(ctx context.Context, l lookup, c caller, detail string, notFound error) (envelope, error) {
	e, err := s.deleted.Get(ctx, tombstoneKey(l.by, l.value))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return envelope{}, notFound
	}
	if err != nil {
		return envelope{}, fmt.Errorf("verba: read deleted calls: %w", err)
	}
	var t tombstone
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return envelope{}, fmt.Errorf("verba: deleted call record: %w", err)
	}
	s.record(ctx, c, audit.ActionDelete, t.CallID, audit.OutcomeOK, detail+"; already deleted")
	return envelope{Message: msgAlreadyDeleted}, nil
}

// act deletes an ended call now, or marks a live one for deletion when it
// ends, remembers its identifiers and records the audit entry. It returns
// the success message.
func (s *Service) act(ctx context.Context, call calls.Call, c caller, detail string) (string, error) {
	if err := s.remember(ctx, call, c.key.Name); err != nil {
		return "", err
	}
	action, msg := audit.ActionDelete, ""
	var err error
	if call.Ended() {
		err = s.store.Erase(ctx, call.ID)
	} else {
		action, msg = audit.ActionMark, msgMarked
		if call.MarkedForDeletion {
			msg = msgAlreadyMarked
		}
		err = s.store.MarkForDeletion(ctx, call.ID)
	}
	outcome := audit.OutcomeOK
	if err != nil {
		outcome = err.Error()
	}
	s.record(ctx, c, action, call.ID, outcome, detail)
	if err != nil {
		return "", fmt.Errorf("verba: %s %s: %w", action, call.ID, err)
	}
	return msg, nil
}

// remember writes a tombstone for every identifier of the call.
func (s *Service) remember(ctx context.Context, call calls.Call, keyName string) error {
	data, err := json.Marshal(tombstone{CallID: call.ID, Key: keyName, At: s.now()})
	if err != nil {
		return fmt.Errorf("verba: tombstone: %w", err)
	}
	for _, param := range identifiers() {
		v := identifier(call, param)
		if v == "" {
			continue
		}
		if _, err := s.deleted.Put(ctx, tombstoneKey(param, v), data); err != nil {
			return fmt.Errorf("verba: remember deleted call: %w", err)
		}
	}
	return nil
}

// tombstoneKey is the bucket key of an identifier: its kind and its hash
// (identifiers may hold characters keys cannot).
func tombstoneKey(param, value string) string {
	return param + "." + sha256Hex(strings.ToLower(value))
}
