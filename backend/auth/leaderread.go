package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// leaderReadTimeout bounds a read from the leader when the caller set no
// deadline (JetStream's default for its API).
const leaderReadTimeout = 5 * time.Second

// errAbsent says a key has no value: never written, deleted or purged.
var errAbsent = errors.New("auth: no such key")

// leaderEntry is a key's value as the bucket's stream leader has it.
type leaderEntry struct {
	value    []byte
	revision uint64
}

// leaderGet reads key from the key-value bucket by asking the bucket
// stream's leader, not any replica of it.
//
// Buckets allow direct reads, which any replica of a clustered bucket may
// answer, and a replica a moment behind answers that a key written a
// moment ago does not exist, or that one deleted a moment ago still does.
// A browser redirected back from the identity provider within milliseconds
// of starting its sign-in, or sending its first request with the session
// it was just given, meets exactly that on a cluster ("sign-in was not
// started in this browser", 401 right after signing in); and a session
// ended or revoked must end on every replica at once. So sign-ins and
// sessions are read from the leader: one request, as a direct read is.
func leaderGet(ctx context.Context, nc *nats.Conn, bucket, key string) (leaderEntry, error) {
	if _, ok := ctx.Deadline(); !ok {
		// As JetStream's own reads: a leader being elected does not hold
		// a request forever.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, leaderReadTimeout)
		defer cancel()
	}
	req, _ := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{"$KV." + bucket + "." + key})
	msg, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+bucket, req)
	if err != nil {
		return leaderEntry{}, fmt.Errorf("auth: read %s from the leader: %w", bucket, err)
	}
	var resp struct {
		Message *struct {
			Seq    uint64    `json:"seq"`
			Header []byte    `json:"hdrs"`
			Data   []byte    `json:"data"`
			Time   time.Time `json:"time"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return leaderEntry{}, fmt.Errorf("auth: read %s from the leader: %w", bucket, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrCode == int(jetstream.JSErrCodeMessageNotFound) {
			return leaderEntry{}, errAbsent
		}
		return leaderEntry{}, fmt.Errorf("auth: read %s from the leader: %s (%d)", bucket, resp.Error.Description, resp.Error.ErrCode)
	}
	if resp.Message == nil {
		return leaderEntry{}, fmt.Errorf("auth: read %s from the leader: an answer without a message", bucket)
	}
	if len(resp.Message.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(resp.Message.Header)
		if err != nil {
			return leaderEntry{}, fmt.Errorf("auth: read %s from the leader: headers: %w", bucket, err)
		}
		if op := h.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			return leaderEntry{}, errAbsent
		}
	}
	return leaderEntry{value: resp.Message.Data, revision: resp.Message.Seq}, nil
}
