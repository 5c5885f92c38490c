package localcluster

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect opens a NATS connection to the plan's nodes that keeps trying
// to reconnect for as long as it lives, for tools that watch the cluster
// through its faults.
func (p *Plan) Connect(name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(p.NATSURL(), nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.Timeout(2*time.Second), nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, nil, fmt.Errorf("localcluster: connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("localcluster: JetStream: %w", err)
	}
	return nc, js, nil
}

// StreamLeader names the node leading stream (its server_name, which is
// the part's name), asking for at most 5 s.
func StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return "", fmt.Errorf("localcluster: stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("localcluster: stream %s info: %w", stream, err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return "", fmt.Errorf("localcluster: stream %s has no leader", stream)
	}
	return info.Cluster.Leader, nil
}
