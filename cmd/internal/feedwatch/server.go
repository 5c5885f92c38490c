package feedwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"switchboard/app/calls"
)

// ServerView is a replica's own view of the calls, what consoles must end
// up holding.
type ServerView struct {
	// Seq is the event-log sequence the view is at.
	Seq   uint64
	Calls map[string]CallState
}

// ReadServerView asks the replica at baseURL for its view (GET /api/calls)
// with client, which must carry a signed-in session; at most 5 s.
func ReadServerView(ctx context.Context, client *http.Client, baseURL string) (ServerView, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/calls", nil)
	if err != nil {
		return ServerView{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return ServerView{}, fmt.Errorf("feedwatch: the server's view: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return ServerView{}, fmt.Errorf("feedwatch: the server's view: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return ServerView{}, fmt.Errorf("feedwatch: GET /api/calls answered %s", resp.Status)
	}
	var v struct {
		Seq   uint64       `json:"seq"`
		Calls []calls.Call `json:"calls"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return ServerView{}, fmt.Errorf("feedwatch: GET /api/calls: %w", err)
	}
	out := ServerView{Seq: v.Seq, Calls: make(map[string]CallState, len(v.Calls))}
	for _, c := range v.Calls {
		out.Calls[c.ID] = CallState{Seq: c.Seq, State: string(c.State)}
	}
	return out, nil
}
