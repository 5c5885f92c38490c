package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"switchboard/cmd/internal/traffic"
)

// historyRead is one GET /api/calls/{id}/events compared with the event
// log.
type historyRead struct {
	Replica int
	CallID  string
	// Got is how many events the replica answered (-1: no answer, Err
	// says why); Want how many the event log holds for the call.
	Got, Want int
	Err       string
}

// Wrong reports whether the answer was not the call's whole history.
func (h historyRead) Wrong() bool { return h.Got != h.Want }

// historySample is how many of a phase's calls have their history read
// from each replica at the check.
const historySample = 20

// readHistories reads the history of up to historySample calls first
// sent in [from, to) from every replica.
func (e *env) readHistories(ctx context.Context, recs []traffic.Record, from, to time.Time, logged map[string]int) []historyRead {
	var ids []string
	seen := map[string]bool{}
	for _, r := range recs {
		if within(r.Sent, from, to) && !seen[r.CallID] && logged[r.CallID] > 0 {
			seen[r.CallID] = true
			ids = append(ids, r.CallID)
		}
	}
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:min(len(ids), historySample)]
	var out []historyRead
	for _, id := range ids {
		for i := range e.plan.Replicas {
			h := historyRead{Replica: i, CallID: id, Want: logged[id]}
			n, err := e.history(ctx, i, id)
			h.Got = n
			if err != nil {
				h.Got, h.Err = -1, err.Error()
			}
			out = append(out, h)
		}
	}
	return out
}

// history asks replica i for call id's events and counts them.
func (e *env) history(ctx context.Context, i int, id string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := e.plan.Replicas[i].LocalURL() + "/api/calls/" + url.PathEscape(id) + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	client := &http.Client{Jar: e.viewer, Transport: e.http.Transport}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("answered %s", resp.Status)
	}
	var body struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return 0, fmt.Errorf("history: %w", err)
	}
	return len(body.Events), nil
}
