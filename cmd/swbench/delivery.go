package main

import (
	"context"
	"time"
)

// deliveryCheck is the verdict on what the feed clients of a workload
// received, against what the webhook accepted. Counts are summed over the
// clients.
type deliveryCheck struct {
	Clients int
	// Expected is how many generated notifications each client should have
	// received: every one the webhook accepted.
	Expected int
	// Received counts first receptions, in order; Lost is what is missing
	// (Expected×Clients − Received, when positive).
	Received, Lost int
	// Extra counts receptions of notifications the webhook never accepted
	// (possible only when a POST failed after the server stored it).
	Extra      int
	Repeats    int
	Others     int // changes no notification made (see delivery.Others); not a fault
	Gaps       int
	OutOfOrder int
	Foreign    int
	// IncompleteCalls counts (client, call) pairs whose last step received
	// is not the last step the webhook accepted.
	IncompleteCalls int
	// Head is the server's sequence after the run; SeqBehind counts clients
	// whose last sequence is not Head.
	Head      uint64
	SeqBehind int
	// Dropped counts clients whose feed ended before the bench closed it,
	// and DropReason says why the last one ended.
	Dropped    int
	DropReason string
	// TimedOut is set when the clients had not caught up when the wait for
	// the last notifications ended.
	TimedOut bool
}

// OK reports whether every client received every accepted notification
// exactly once, in order, and caught up with the server.
func (d deliveryCheck) OK() bool {
	return d.Clients > 0 && d.Lost == 0 && d.Extra == 0 && d.Repeats == 0 && d.Gaps == 0 && d.OutOfOrder == 0 &&
		d.Foreign == 0 && d.IncompleteCalls == 0 && d.SeqBehind == 0 && d.Dropped == 0 && !d.TimedOut
}

// waitDelivered waits until every client has received want notifications
// or has ended, for at most timeout; false means it timed out.
func waitDelivered(ctx context.Context, clients []*feedClient, want int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for _, c := range clients {
			if ended, _ := c.ended(); !ended && c.unique.Load() < int64(want) {
				pending++
			}
		}
		if pending == 0 {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkDelivery compares what each stopped client received with acked,
// the last accepted step of every generated call.
func checkDelivery(clients []*feedClient, acked []int32, accepted int, head uint64, timedOut bool) deliveryCheck {
	d := deliveryCheck{Clients: len(clients), Expected: accepted, Head: head, TimedOut: timedOut}
	for _, c := range clients {
		if c.err != nil {
			d.Dropped++
			d.DropReason = describeClose(c.err)
		}
		r := c.rec
		d.Received += r.Unique
		d.Repeats += r.Repeats
		d.Others += r.Others
		d.Gaps += r.Gaps
		d.OutOfOrder += r.OutOfOrder
		d.Foreign += r.Foreign
		if c.lastSeq.Load() < head {
			d.SeqBehind++
		}
		for k, want := range acked {
			got := int32(-1)
			if k < len(r.Last) && r.Last[k] != lastUnknown {
				got = r.Last[k]
			}
			if got != want {
				d.IncompleteCalls++
			}
		}
		if len(r.Last) > len(acked) {
			for _, got := range r.Last[len(acked):] {
				if got >= 0 && got != lastUnknown {
					d.IncompleteCalls++
				}
			}
		}
	}
	if missing := accepted*len(clients) - d.Received; missing > 0 {
		d.Lost = missing
	} else {
		d.Extra = -missing
	}
	return d
}
