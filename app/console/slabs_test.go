package console

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// manyCalls returns n live calls with distinct ids and start times.
func manyCalls(n int) []calls.Call {
	cs := make([]calls.Call, n)
	for i := range cs {
		cs[i] = live(fmt.Sprintf("%08d-aaaa-bbbb-cccc-dddddddddddd", i), calls.Established, calls.DirectionIncoming,
			t0.Add(-time.Duration(i)*time.Second))
		cs[i].Subject = fmt.Sprintf("load %d", i)
	}
	return cs
}

// Changes that replace most calls many times over keep each call's bytes
// right, and the slabs hardly larger than what the calls hold: the slabs
// the calls that never change are left in are compacted, and emptied
// ones let go.
func TestSlabsStayRightAndCompact(t *testing.T) {
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	cs := manyCalls(5000)
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1, Now: t0, Calls: cs})
	seq := uint64(1)
	states := []calls.State{calls.Hold, calls.Established}
	for round := range 8 {
		var b Batch
		for i := range cs {
			if i%10 == 0 { // one call in ten never changes
				continue
			}
			seq++
			cs[i].State = states[round%2]
			cs[i].Subject = fmt.Sprintf("load %d round %d", i, round)
			b.Messages = append(b.Messages, callMsg(seq, cs[i]))
		}
		if _, err := s.ApplyBatch(b); err != nil {
			t.Fatal(err)
		}
		held, live := s.slabs.size()
		if held > live+2*slabSize {
			t.Fatalf("round %d: the slabs hold %d bytes for %d bytes of calls", round, held, live)
		}
	}
	for i := range cs {
		got, ok := s.Get(cs[i].ID)
		if !ok || got.Subject != cs[i].Subject || got.State != cs[i].State {
			t.Fatalf("call %s: got %q %s, want %q %s", cs[i].ID, got.Subject, got.State, cs[i].Subject, cs[i].State)
		}
	}
	if n := s.LiveLen(); n != len(cs) {
		t.Fatalf("%d live calls, want %d", n, len(cs))
	}
}

// BenchmarkCollectionOverAFullStore is one garbage collection of a heap
// holding a store of 50,000 calls, on one core as in the browser: what a
// console pays each time the collector runs.
func BenchmarkCollectionOverAFullStore(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := NewStore(Options{Now: (&fixedClock{t0}).Now})
	s.ApplySnapshot(feedwire.Message{Type: feedwire.TypeSnapshot, Seq: 1, Now: t0, Calls: manyCalls(50000)})
	runtime.GC()
	b.ResetTimer()
	for range b.N {
		runtime.GC()
	}
	b.StopTimer()
	runtime.KeepAlive(s)
}

// size is the bytes the slabs hold and the bytes of entries in them.
func (sl *slabs) size() (held, live int) {
	for _, s := range sl.list {
		held += len(s.data)
		live += s.live
	}
	return held, live
}
