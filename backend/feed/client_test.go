package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/app/feedwire"
)

// TestAnIdleFeedCostsOneGoroutine: once its snapshot is written, a
// console that receives nothing is served by one goroutine, its reader.
func TestAnIdleFeedCostsOneGoroutine(t *testing.T) {
	h, url := serveHub(t, Options{WriterLinger: 10 * time.Millisecond})
	const n = 40
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range n {
		c := dial(t, url)
		readMsgs(t, c, 1) // the snapshot
	}
	waitClients(t, h, n)
	after := settledGoroutines(before + n)
	// The test's own client connections run no goroutine while nobody
	// reads them: what is left is the server's.
	if per := float64(after-before) / n; per > 1.1 {
		t.Fatalf("%d idle feeds run %d goroutines: %.2f each, want 1", n, after-before, per)
	}
	// A busy feed gets a writer for a while, and everything still arrives.
	c := dial(t, url)
	readMsgs(t, c, 1)
	h.Publish(1, []feedwire.Message{callMsg(1, 10)})
	if got := readMsgs(t, c, 1); got[0].Seq != 1 {
		t.Fatalf("got %+v", got)
	}
}

// settledGoroutines waits (a little) for the goroutine count to come
// down to want, and returns it.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestABusyFeedIsWrittenInFewFrames: changes that come within the write
// interval of the last frame go out together in the next one.
func TestABusyFeedIsWrittenInFewFrames(t *testing.T) {
	h, url := serveHub(t, Options{WriteInterval: 300 * time.Millisecond})
	c := dial(t, url)
	readMsgs(t, c, 1) // the snapshot: a frame was just written
	for seq := uint64(1); seq <= 5; seq++ {
		h.Publish(seq, []feedwire.Message{callMsg(seq, 10)})
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := feedwire.Decode(data)
	if err != nil || len(msgs) != 5 || msgs[0].Seq != 1 || msgs[4].Seq != 5 {
		t.Fatalf("the next frame holds %+v (%v), want the 5 changes", msgs, err)
	}
}

// TestASnapshotIsOneMessage: a snapshot, written through a buffer of
// openingChunk bytes so that its shared calls are never joined, reaches
// the console as one message, every call whole and in order, even when it
// takes the buffer several times over.
func TestASnapshotIsOneMessage(t *testing.T) {
	const n = 20000 // about 3 MB: three fills of the buffer
	h := NewHub(&bigView{n: n}, Options{})
	h.CaughtUp()
	url := serveHandler(t, h)
	c := dial(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := feedwire.Decode(data)
	if err != nil || len(msgs) != 1 || msgs[0].Type != feedwire.TypeSnapshot || len(msgs[0].Calls) != n {
		t.Fatalf("first message: %d messages (%v)", len(msgs), err)
	}
	if len(data) < 2*openingChunk {
		t.Fatalf("the snapshot is %d bytes: it does not take the buffer twice", len(data))
	}
	for i, c := range msgs[0].Calls {
		if want := fmt.Sprintf("call-%d", i); c.ID != want {
			t.Fatalf("call %d is %q, want %q", i, c.ID, want)
		}
	}
}

// TestAnOpeningReadsAsItsPiecesJoined: whatever the buffer's size, an
// opening's bytes are its head, its items with commas between, and its
// tail.
func TestAnOpeningReadsAsItsPiecesJoined(t *testing.T) {
	items := [][]byte{[]byte(`{"id":"a"}`), []byte(`{}`), []byte(`{"id":"ccc","subject":"x"}`)}
	for _, o := range []*opening{
		{head: []byte(`{"type":"snapshot","calls":[`), items: items, tail: []byte("]}")},
		{head: []byte(`{"type":"snapshot","calls":[`), items: items[:1], tail: []byte("]}")},
		{head: []byte(`{"type":"snapshot"}`)},
	} {
		want := append(bytes.Clone(o.head), bytes.Join(o.items, []byte(","))...)
		want = append(want, o.tail...)
		for _, size := range []int{1, 2, 3, 7, 64, 1 << 20} {
			var got []byte
			cur, buf := &cursor{o: o}, make([]byte, size)
			for i := 0; i < 1000; i++ {
				n := cur.fill(buf)
				if n == 0 {
					break
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("through a buffer of %d: %s, want %s", size, got, want)
			}
		}
	}
}

// TestAConsoleSendingDataIsClosed: the feed is one-way.
func TestAConsoleSendingDataIsClosed(t *testing.T) {
	h, url := serveHub(t, Options{})
	c := dial(t, url)
	readMsgs(t, c, 1)
	waitClients(t, h, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation {
		t.Fatalf("read after sending data: %v, want a policy violation close", err)
	}
	waitClients(t, h, 0)
}

// recordingConn records what is written to it, each Write apart.
type recordingConn struct {
	net.Conn
	writes [][]byte
}

func (r *recordingConn) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func TestGatherWriterSendsWhatItHeldInOrder(t *testing.T) {
	conn := &recordingConn{}
	g := &gatherWriter{conn: conn}
	// Outside a gathered write, writes pass straight through.
	g.Write([]byte("pong"))
	if len(conn.writes) != 1 || string(conn.writes[0]) != "pong" {
		t.Fatalf("writes %q", conn.writes)
	}
	conn.writes = nil
	large := bytes.Repeat([]byte("L"), 4000)
	small := []byte("hdr")
	g.begin()
	g.Write(small)
	small[0] = 'X' // the library reuses its buffers: a small piece must have been copied
	g.Write(large)
	g.Write([]byte("tail"))
	if len(conn.writes) != 0 {
		t.Fatalf("wrote %d times while gathering", len(conn.writes))
	}
	if err := g.end(0); err != nil {
		t.Fatal(err)
	}
	got := bytes.Join(conn.writes, nil)
	want := append(append([]byte("hdr"), large...), "tail"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("sent %d bytes starting %q, want %d starting %q", len(got), got[:8], len(want), want[:8])
	}
	conn.writes = nil
	g.Write([]byte("after"))
	if len(conn.writes) != 1 {
		t.Fatalf("after end, writes are gathered still: %q", conn.writes)
	}
}

// serveHandler serves h's feed without sessions and returns its URL.
func serveHandler(t *testing.T, h *Hub) string {
	t.Helper()
	srv := httptest.NewServer(h.Handler(nil))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestNextChunkSplitsAtSize(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 25)
	pieces := net.Buffers{[]byte("aaaa"), big, []byte("cc")}
	var sizes [][]int
	for len(pieces) > 0 {
		var chunk net.Buffers
		chunk, pieces = nextChunk(pieces, 10)
		var s []int
		for _, p := range chunk {
			s = append(s, len(p))
		}
		sizes = append(sizes, s)
	}
	want := "[[4] [10] [10] [5 2]]"
	if got := fmt.Sprint(sizes); got != want {
		t.Fatalf("chunks %s, want %s", got, want)
	}
}

// TestABusyQueueKeepsItsArray: a console fed frame after frame queues
// into the same array, instead of growing a new one each frame, and what
// a frame leaves behind comes first in the next.
func TestABusyQueueKeepsItsArray(t *testing.T) {
	h := NewHub(nil, Options{})
	c := newClient(h, "s")
	msg := []byte(`{"type":"call"}`)
	cycle := func() {
		for range 40 {
			c.push(msg)
		}
		if b := c.take(h.opts.MaxFrame); b.frame != nil {
			framePool.Put(b.frame)
		}
	}
	cycle() // the array and a pooled frame come to be
	if allocs := testing.AllocsPerRun(50, cycle); allocs >= 1 {
		t.Errorf("a frame of 40 messages allocated %.1f times, want none", allocs)
	}

	for i := range 3 {
		c.push(fmt.Appendf(nil, "m%d", i))
	}
	b := c.take(4) // room for one message
	if string(*b.frame) != "m0" {
		t.Fatalf("first frame %q, want m0", *b.frame)
	}
	c.push([]byte("m3"))
	if b := c.take(1 << 10); string(*b.frame) != "m1\nm2\nm3" {
		t.Fatalf("second frame %q, want what was left, then what came", *b.frame)
	}
}
