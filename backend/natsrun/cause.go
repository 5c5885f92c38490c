package natsrun

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Causes of a failed write, as Cause names them in logs and in the
// switchboard_notifications_refused_total metric.
const (
	// CauseDisconnected: the replica has no connection to NATS.
	CauseDisconnected = "nats_disconnected"
	// CauseNoLeader: NATS answered, but the stream has no leader to store
	// the write (an election in progress, or too few nodes for a quorum).
	CauseNoLeader = "no_stream_leader"
	// CauseTimeout: nobody answered in time (a frozen node, an overloaded
	// cluster).
	CauseTimeout = "timeout"
	// CauseOther: anything else; the log line has the error.
	CauseOther = "other"
)

// Cause names why a JetStream write or request failed, by the errors'
// identities and JetStream's error codes.
func Cause(err error) string {
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrNoServers), errors.Is(err, nats.ErrConnectionDraining):
		return CauseDisconnected
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return CauseNoLeader
	case errors.As(err, &apiErr) && apiErr.Code == 503:
		return CauseNoLeader
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return CauseTimeout
	default:
		return CauseOther
	}
}
