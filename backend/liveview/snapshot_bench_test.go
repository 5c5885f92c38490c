package liveview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"switchboard/app/calls"
	"switchboard/app/feedwire"
)

// benchView is a view of n live calls shaped like a contact centre's:
// each with its parties, modalities, ids and the states it went through.
func benchView(n int) *View {
	v := &View{calls: make(map[string]calls.Call, n), enc: make(map[string]encodedCall), opts: Options{Logger: slog.Default()}.withDefaults()}
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("b3c40000-0007-4000-8000-%012d", i)
		at := start.Add(time.Duration(i) * time.Millisecond)
		v.calls[id] = calls.Call{ID: id, State: calls.Established, Direction: "incoming",
			Source:     calls.Party{Kind: "phone", ID: fmt.Sprintf("+1425555%04d", i%10000), Phone: fmt.Sprintf("+1425555%04d", i%10000)},
			Targets:    []calls.Party{{Kind: "application", ID: "5b0a0000-0000-4000-8000-0000000000b0", DisplayName: "Calling Bot"}},
			Modalities: []string{"audio"}, Subject: fmt.Sprintf("call %d", i),
			ChainID: fmt.Sprintf("c4a10000-0007-4000-8000-%012d", i), MyParticipantID: fmt.Sprintf("d0e10000-0007-4000-8000-%012d", i),
			StartedAt: at, AnsweredAt: at, UpdatedAt: at, StateSince: at,
			Reached: []calls.State{calls.Incoming, calls.Established}, Seq: uint64(i + 1)}
	}
	v.seq, v.version = uint64(n), 1
	return v
}

// BenchmarkEncodedSnapshot is the snapshot a console connecting under load
// waits for: 50,000 live calls, of which changed were changed by events
// since the last snapshot (10,000 is five seconds of W4's load). Warm, the
// events' goroutine encoded them as it applied them (not timed: it is paid
// once per event, not per console); cold, the snapshot encodes them.
func BenchmarkEncodedSnapshot(b *testing.B) {
	for _, tc := range []struct {
		changed int
		warm    bool
	}{{0, true}, {10000, true}, {10000, false}} {
		changed := tc.changed
		b.Run(fmt.Sprintf("changed=%d/warm=%t", changed, tc.warm), func(b *testing.B) {
			v := benchView(50000)
			v.EncodedSnapshot()
			ids := make([]string, 0, len(v.calls))
			for id := range v.calls {
				ids = append(ids, id)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				for j := range changed {
					c := v.calls[ids[(i*changed+j)%len(ids)]]
					v.seq++
					c.Seq, c.State = v.seq, calls.Hold
					v.calls[c.ID] = c
					if tc.warm {
						v.encode([]feedwire.Message{{Type: feedwire.TypeCall, Seq: c.Seq, Call: &c}})
					}
				}
				v.version++
				b.StartTimer()
				_, list, _ := v.EncodedSnapshot()
				b.SetBytes(int64(jsonSize(list)))
			}
		})
	}
}

// jsonSize is the size of a snapshot as a JSON array.
func jsonSize(list [][]byte) int {
	n := 2 + max(len(list)-1, 0)
	for _, data := range list {
		n += len(data)
	}
	return n
}

// TestASnapshotIsTheKeptJSON: a snapshot refers to every call's kept JSON
// instead of copying it: what it allocates is a small part of the view's
// size (a joined snapshot allocated all of it, 36 MB for 50,000 calls,
// for every console connecting under load). A call an event changed
// after it keeps its new JSON, and the next snapshot has it.
func TestASnapshotIsTheKeptJSON(t *testing.T) {
	v := benchView(500)
	v.EncodedSnapshot() // encodes the calls, as events would have
	v.version++
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, list, _ := v.EncodedSnapshot()
	runtime.ReadMemStats(&after)
	if alloc, size := after.TotalAlloc-before.TotalAlloc, jsonSize(list); alloc > uint64(size/8) {
		t.Fatalf("a snapshot of %d bytes of JSON allocated %d bytes: it copies the calls' JSON", size, alloc)
	}
	for _, data := range list {
		var c calls.Call
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		if e := v.enc[c.ID]; unsafe.SliceData(e.data) != unsafe.SliceData(data) {
			t.Fatalf("call %s's JSON in the snapshot is a copy of the kept JSON", c.ID)
		}
	}
	c := v.calls["b3c40000-0007-4000-8000-000000000007"]
	v.seq++
	c.Seq, c.State = v.seq, calls.Hold
	v.calls[c.ID] = c
	v.version++
	v.encode([]feedwire.Message{{Type: feedwire.TypeCall, Seq: c.Seq, Call: &c}})
	_, list, _ = v.EncodedSnapshot()
	if e := v.enc[c.ID]; e.seq != c.Seq || !slices.ContainsFunc(list, func(b []byte) bool { return bytes.Equal(b, e.data) }) || !bytes.Contains(e.data, []byte(`"state":"hold"`)) {
		t.Fatalf("the changed call's kept JSON (seq %d) is not its new JSON in the next snapshot", e.seq)
	}
}

// TestAnEventWaitsForAChunkNotTheWholeView: while a whole-view read
// gathers the calls, an event (a writer of the view) gets the view at the
// end of the chunk it arrived in, not after the last call.
func TestAnEventWaitsForAChunkNotTheWholeView(t *testing.T) {
	v := benchView(3 * gatherChunk)
	applied := make(chan struct{})
	seen := 0
	got := v.gather(nil, func(calls.Call) bool {
		seen++
		switch seen {
		case 1:
			go func() {
				v.mu.Lock()
				v.seq++
				v.mu.Unlock()
				close(applied)
			}()
			waitForWriter(t, &v.mu)
		case gatherChunk + 1:
			select {
			case <-applied:
			case <-time.After(5 * time.Second):
				t.Fatal("the event still waits after a chunk of the view was gathered")
			}
		}
		return true
	})
	if len(got) != 3*gatherChunk {
		t.Fatalf("gathered %d calls, want %d", len(got), 3*gatherChunk)
	}
}

// waitForWriter waits until a writer waits for mu, which the caller holds
// for reading: from then on no reader may take it.
func waitForWriter(t *testing.T, mu *sync.RWMutex) {
	t.Helper()
	for range 5000 {
		if !mu.TryRLock() {
			return
		}
		mu.RUnlock()
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the writer never asked for the view")
}

// TestEachLiveGivesEveryLiveCallAChunkAtATime: EachLive hands over every
// live call once and no ended one, in chunks it copies into one reused
// buffer (not a copy of the whole view), and the view is free while fn
// runs.
func TestEachLiveGivesEveryLiveCallAChunkAtATime(t *testing.T) {
	v := benchView(20 * gatherChunk)
	c := v.calls["b3c40000-0007-4000-8000-000000000007"]
	c.State, c.EndedAt = calls.Terminated, c.StartedAt.Add(time.Minute)
	v.calls[c.ID] = c
	seen := map[string]int{}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v.EachLive(func(chunk []calls.Call) {
		if len(chunk) > gatherChunk {
			t.Errorf("a chunk of %d calls, want at most %d", len(chunk), gatherChunk)
		}
		if !v.mu.TryLock() {
			t.Fatal("the view is locked while fn runs")
		}
		v.mu.Unlock()
		for _, c := range chunk {
			seen[c.ID]++
		}
	})
	runtime.ReadMemStats(&after)
	if len(seen) != 20*gatherChunk-1 || seen[c.ID] != 0 {
		t.Fatalf("EachLive gave %d calls (the ended one %d times), want %d live ones", len(seen), seen[c.ID], 20*gatherChunk-1)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("call %s given %d times", id, n)
		}
	}
	whole := uint64(len(v.calls)) * uint64(unsafe.Sizeof(calls.Call{}))
	if got := after.TotalAlloc - before.TotalAlloc; got > whole/4 {
		t.Errorf("EachLive allocated %d bytes for a view of %d: a copy of it", got, whole)
	}
}

// TestAWholeViewReadCopiesIntoWhatItIsGiven: Unordered into a slice with
// room allocates nothing (the alert round reads the view so every second).
func TestAWholeViewReadCopiesIntoWhatItIsGiven(t *testing.T) {
	v := benchView(2 * gatherChunk)
	dst := v.Unordered(nil)
	if allocs := testing.AllocsPerRun(5, func() { dst = v.Unordered(dst[:0]) }); allocs >= 1 {
		t.Errorf("Unordered into a slice with room allocated %.0f times for %d calls", allocs, len(dst))
	}
}
