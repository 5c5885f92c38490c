package reqbody

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve runs h on a real loopback server.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// echo reads the body within 300 ms and at most 16 bytes, answering 408,
// 413 or the body.
func echo(w http.ResponseWriter, r *http.Request) {
	data, err := Read(w, r, 16, 300*time.Millisecond)
	switch {
	case errors.Is(err, ErrTooSlow):
		Abandon(w)
		http.Error(w, err.Error(), http.StatusRequestTimeout)
	case errors.Is(err, ErrTooLarge):
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		w.Write(data)
	}
}

// slowPost sends a POST's headers announcing n bytes, then one byte every
// gap, and returns the connection and a reader of the answer.
func slowPost(t *testing.T, addr string, n int, gap time.Duration, header string) (net.Conn, *bufio.Reader, chan struct{}) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n", n, header)
	stop := make(chan struct{})
	go func() {
		for range n {
			select {
			case <-stop:
				return
			case <-time.After(gap):
			}
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop) })
	return conn, bufio.NewReader(conn), stop
}

func TestBodyWithinLimits(t *testing.T) {
	addr := serve(t, echo)
	res, err := http.Post("http://"+addr, "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
	res, err = http.Post("http://"+addr, "text/plain", strings.NewReader(strings.Repeat("x", 17)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over the limit: %d", res.StatusCode)
	}
}

// A body trickling in is cut at its deadline with 408, and the connection
// is closed rather than kept waiting for the rest.
func TestSlowBodyIsCut(t *testing.T) {
	addr := serve(t, echo)
	start := time.Now()
	conn, rd, _ := slowPost(t, addr, 10, 100*time.Millisecond, "")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !res.Close {
		t.Fatalf("status %d, close %v; want 408 and close", res.StatusCode, res.Close)
	}
	if took < 300*time.Millisecond || took > 900*time.Millisecond {
		t.Errorf("408 after %v, want about 300ms", took)
	}
	if _, err := rd.ReadByte(); err == nil {
		t.Error("the connection stayed open after the 408")
	}
}

// A request refused unread is answered at once, and its connection closed,
// however slowly its body comes.
func TestAbandonAnswersWithoutTheBody(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		Abandon(w)
		http.Error(w, "bad token", http.StatusUnauthorized)
	})
	start := time.Now()
	conn, rd, _ := slowPost(t, addr, 100, 200*time.Millisecond, "Authorization: Bearer forged\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", res.StatusCode)
	}
	if _, err := rd.ReadByte(); err == nil {
		t.Fatal("the connection stayed open after the refusal")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refused and closed after %v; the body takes 20s", took)
	}
}

// Once the body is read, the deadline no longer applies (net/http lifts it
// when the body ends): a handler may take longer to answer, and the
// connection is kept for the next request.
func TestDeadlineLiftedAfterTheBody(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if _, err := Read(w, r, 16, 100*time.Millisecond); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(300 * time.Millisecond)
		if err := r.Context().Err(); err != nil {
			http.Error(w, "request cancelled: "+err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "done")
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	for i := range 2 {
		fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
		res, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("request %d on the same connection: %v", i+1, err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(body) != "done" {
			t.Fatalf("request %d: %d %q", i+1, res.StatusCode, body)
		}
	}
}

func TestClassify(t *testing.T) {
	if Classify(nil) != nil {
		t.Error("nil classified")
	}
	other := errors.New("other")
	if Classify(other) != other {
		t.Error("another error changed")
	}
	if err := Classify(fmt.Errorf("x: %w", ErrTooSlow)); !errors.Is(err, ErrTooSlow) {
		t.Error("ErrTooSlow lost")
	}
}
