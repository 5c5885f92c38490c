package feed

import (
	"bytes"
	"encoding/json"
	"time"

	"switchboard/app/feedwire"
)

// snapshot is a snapshot ready to send: its calls already encoded (shared
// by every console that connects while the view does not change), the
// rest encoded per console, so each gets the server's clock of its own
// moment.
type snapshot struct {
	Seq   uint64
	calls []byte // the encoded calls array; nil when there are none
	// masked says the calls are masked (for a redacted console).
	masked bool
}

// snapshotFor takes the view's encoded snapshot, masked or not.
func (h *Hub) snapshotFor(masked bool) *snapshot {
	if !masked {
		seq, calls, _ := h.view.EncodedSnapshot()
		return &snapshot{Seq: seq, calls: calls}
	}
	ms, ok := h.view.(MaskedSnapshotter)
	if !ok {
		seq, _, _ := h.view.EncodedSnapshot()
		return &snapshot{Seq: seq, masked: true} // nothing it may read
	}
	seq, calls, _ := ms.MaskedSnapshot()
	return &snapshot{Seq: seq, calls: calls, masked: true}
}

// parts is the snapshot message in three parts, written as one websocket
// message: the header with this console's clock, the calls every console
// of the version shares (never copied), and the closing brace.
func (s *snapshot) parts(epoch string) [][]byte {
	head, _ := json.Marshal(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: s.Seq, Now: time.Now().UTC(), Epoch: epoch})
	if len(s.calls) == 0 || bytes.Equal(s.calls, []byte("null")) || bytes.Equal(s.calls, []byte("[]")) {
		return [][]byte{head}
	}
	head = append(head[:len(head)-1], `,"calls":`...) // without the closing brace
	return [][]byte{head, s.calls, []byte("}")}
}
