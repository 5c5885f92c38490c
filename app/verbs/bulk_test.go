package verbs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"switchboard/app/verbs"
)

func TestBulkRequestCallIDs(t *testing.T) {
	many := make([]string, verbs.MaxBulk+1)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	tests := []struct {
		name  string
		calls []string
		want  []string
		err   string
	}{
		{"empty", nil, nil, "calls is empty"},
		{"blank", []string{"a", "  "}, nil, "call 2 of the list is blank"},
		{"repeats and spaces", []string{" a", "b", "a ", "c", "b"}, []string{"a", "b", "c"}, ""},
		{"at most", many[:verbs.MaxBulk], many[:verbs.MaxBulk], ""},
		{"too many", many, nil, "201 calls named, at most 200"},
		{"too many repeats are fine", append(slices.Clone(many[:verbs.MaxBulk]), many[:verbs.MaxBulk]...), many[:verbs.MaxBulk], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verbs.BulkRequest{Calls: tt.calls}.CallIDs()
			if tt.err != "" {
				if !errors.Is(err, verbs.ErrBulk) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want verbs.ErrBulk saying %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("CallIDs() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestOnlyHangUpIsTakenInBulk(t *testing.T) {
	for _, s := range verbs.All() {
		if (s.Bulk != "") != (s.Verb == verbs.HangUp) {
			t.Errorf("%s: bulk route %q", s.Verb, s.Bulk)
		}
	}
	s, _ := verbs.Lookup(verbs.HangUp)
	if s.BulkPattern() != "POST /api/calls/bulk/hangup" {
		t.Errorf("hang up's bulk pattern is %q", s.BulkPattern())
	}
	if verbs.Doing(verbs.HangUp) != "hanging up" || verbs.Doing(verbs.Transfer) != "transferring" || verbs.Doing("dance") != "acting on it" {
		t.Errorf("Doing: %q %q %q", verbs.Doing(verbs.HangUp), verbs.Doing(verbs.Transfer), verbs.Doing("dance"))
	}
}

// FuzzBulkRequest: whatever a bulk body holds, CallIDs either refuses it
// with verbs.ErrBulk or returns at most verbs.MaxBulk distinct, trimmed, non-blank
// ids, each named by the request, in the order first named.
func FuzzBulkRequest(f *testing.F) {
	f.Add([]byte(`{"calls":["a","b","a"]}`))
	f.Add([]byte(`{"calls":[]}`))
	f.Add([]byte(`{"calls":[" ","x"],"override":true}`))
	f.Add([]byte(`{"calls":"a"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req verbs.BulkRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		ids, err := req.CallIDs()
		if err != nil {
			if !errors.Is(err, verbs.ErrBulk) {
				t.Fatalf("error %v is not verbs.ErrBulk", err)
			}
			return
		}
		if len(ids) == 0 || len(ids) > verbs.MaxBulk {
			t.Fatalf("%d ids accepted", len(ids))
		}
		seen := map[string]bool{}
		next := 0
		for _, id := range ids {
			if id == "" || id != strings.TrimSpace(id) || seen[id] {
				t.Fatalf("id %q: blank, untrimmed or repeated", id)
			}
			seen[id] = true
			for next < len(req.Calls) && strings.TrimSpace(req.Calls[next]) != id {
				next++
			}
			if next == len(req.Calls) {
				t.Fatalf("id %q is not in the request's order %q", id, req.Calls)
			}
		}
	})
}
