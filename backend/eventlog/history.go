package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
)

// MaxHistory is the most events History returns for one call. A call with
// more is a runaway; its oldest events are the ones kept.
const MaxHistory = 10_000

// History returns the events of one call still in the log, oldest first.
//
// It reads them one by one from the stream's leader ("the next message on
// this subject at or after this sequence"), so it creates no consumer, costs
// the server nothing once answered, and sees every event already stored,
// whichever replica of the stream is lagging.
func (l *Log) History(ctx context.Context, callID string) ([]Record, error) {
	subject := callSubject(callID)
	var out []Record
	for seq := uint64(1); len(out) < MaxHistory; {
		msg, err := l.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("eventlog: history of %s from %d: %w", callID, seq, err)
		}
		var ev calls.Event
		if err := json.Unmarshal(msg.Data, &ev); err == nil {
			out = append(out, Record{Seq: msg.Sequence, Event: ev})
		}
		seq = msg.Sequence + 1
	}
	return out, nil
}
