package feed

import (
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
	calls [][]byte // each call's JSON, in order
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

// opening is the snapshot message for one console: the header with its
// clock, then the calls every console of the version shares (never copied
// whole: see client.sendOpening).
func (s *snapshot) opening(epoch string) *opening {
	head, _ := json.Marshal(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: s.Seq, Now: time.Now().UTC(), Epoch: epoch})
	if len(s.calls) == 0 {
		return &opening{head: head}
	}
	head = append(head[:len(head)-1], `,"calls":[`...) // without the closing brace
	return &opening{head: head, items: s.calls, tail: []byte("]}")}
}

// opening is a message written as one websocket message from pieces: head,
// then items with a comma between each two, then tail. A snapshot of 50,000
// calls is 36 MB; the pieces let every console's writer send it through a
// buffer of its own size (openingChunk) instead of a joined copy.
type opening struct {
	head  []byte
	items [][]byte
	tail  []byte
}

// comma separates an opening's items.
var comma = []byte{','}

// piece is the message's k-th piece: head, then the items with a comma
// between each two, then tail; false past the last.
func (o *opening) piece(k int) ([]byte, bool) {
	body := max(2*len(o.items)-1, 0) // the items and the commas
	switch {
	case k == 0:
		return o.head, true
	case k <= body && k%2 == 1:
		return o.items[k/2], true
	case k <= body:
		return comma, true
	case k == body+1:
		return o.tail, true
	}
	return nil, false
}

// cursor walks an opening's bytes, a buffer at a time.
type cursor struct {
	o      *opening
	k, off int // the piece, and the bytes of it already taken
}

// fill copies the next bytes of the message into buf and returns how many;
// 0 means the message is all taken.
func (c *cursor) fill(buf []byte) int {
	n := 0
	for n < len(buf) {
		piece, ok := c.o.piece(c.k)
		if !ok {
			break
		}
		k := copy(buf[n:], piece[c.off:])
		n += k
		c.off += k
		if c.off == len(piece) {
			c.k, c.off = c.k+1, 0
		}
	}
	return n
}
