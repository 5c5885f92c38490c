package profiling_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/backend/profiling"
)

func TestListenRefusesAddressesOthersReach(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0", "10.0.0.1:6060"} {
		ln, err := profiling.Listen(addr)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%q) listened; want a refusal", addr)
			continue
		}
		if !errors.Is(err, profiling.ErrNotLoopback) {
			t.Errorf("Listen(%q) = %v; want ErrNotLoopback", addr, err)
		}
	}
	if _, err := profiling.Listen("127.0.0.1"); err == nil || errors.Is(err, profiling.ErrNotLoopback) {
		t.Errorf("Listen without a port = %v; want an address error", err)
	}
}

func TestServeAnswersProfilesOnLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := profiling.Listen(addr)
		if err != nil {
			t.Fatalf("Listen(%q): %v", addr, err)
		}
		if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
			t.Errorf("Listen(%q) listens on %s", addr, ln.Addr())
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- profiling.Serve(ctx, ln) }()
		base := "http://" + ln.Addr().String()
		for path, want := range map[string]int{"/debug/pprof/": 200, "/debug/pprof/goroutine?debug=1": 200, "/metrics": 404, "/": 404} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
			}
			if path == "/debug/pprof/goroutine?debug=1" && !strings.Contains(string(body), "goroutine profile:") {
				t.Errorf("GET %s: no goroutine profile in %.200q", path, body)
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve after its context ended: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after its context ended")
		}
	}
}
