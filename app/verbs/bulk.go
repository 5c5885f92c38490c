package verbs

import (
	"errors"
	"fmt"
	"strings"
)

// MaxBulk is the most calls one bulk request may name: enough for a
// floor's worth of stuck calls, few enough that Graph, paced, is done
// with them within a request's time.
const MaxBulk = 200

// BulkRequest is the body of a bulk action: the ids of the calls to act on.
type BulkRequest struct {
	Calls []string `json:"calls"`
	// Override takes the action also on calls someone else has claimed
	// (the supervisor was shown who holds them); without it those calls
	// are refused with 409, naming the holder.
	Override bool `json:"override,omitempty"`
}

// BulkOutcome is what came of the action on one call of a bulk request:
// the status the action on that call alone would have answered (204 done,
// 404 unknown call, 409 wrong state, 502 Graph refused or could not be
// reached), and why in words when it failed.
type BulkOutcome struct {
	CallID string `json:"callId"`
	Status int    `json:"status"`
	// Code is the error's code ("not_found", "conflict", "graph_error").
	Code string `json:"code,omitempty"`
	// Message says why it failed, as the single action's refusal would.
	Message string `json:"message,omitempty"`
	// State is the call's state when the request came, when known.
	State string `json:"state,omitempty"`
}

// OK reports whether the action was taken on the call.
func (o BulkOutcome) OK() bool { return o.Status >= 200 && o.Status < 300 }

// BulkResult is the answer to a bulk request: one outcome per call, in
// the order the request named them.
type BulkResult struct {
	Verb     Verb          `json:"verb"`
	Outcomes []BulkOutcome `json:"outcomes"`
}

// Failed counts the calls the action was not taken on.
func (r BulkResult) Failed() int {
	n := 0
	for _, o := range r.Outcomes {
		if !o.OK() {
			n++
		}
	}
	return n
}

// ErrBulk is the error for a bulk request that cannot be taken at all.
var ErrBulk = errors.New("verbs: bad bulk request")

// BulkPattern is the bulk route as net/http's ServeMux reads it, or ""
// for an action taken one call at a time.
func (s Spec) BulkPattern() string {
	if s.Bulk == "" {
		return ""
	}
	return "POST " + s.Bulk
}

// CallIDs checks the request's list and returns its ids trimmed and
// without repeats, in order: an empty list, a blank id or more than
// MaxBulk calls is an error wrapping ErrBulk.
func (r BulkRequest) CallIDs() ([]string, error) {
	if len(r.Calls) == 0 {
		return nil, fmt.Errorf("%w: calls is empty: name at least one call id", ErrBulk)
	}
	seen := make(map[string]bool, len(r.Calls))
	out := make([]string, 0, len(r.Calls))
	for i, id := range r.Calls {
		id = strings.TrimSpace(id)
		if id == "" {
			return nil, fmt.Errorf("%w: call %d of the list is blank", ErrBulk, i+1)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	if len(out) > MaxBulk {
		return nil, fmt.Errorf("%w: %d calls named, at most %d at once", ErrBulk, len(out), MaxBulk)
	}
	return out, nil
}
