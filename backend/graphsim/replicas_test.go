package graphsim

import (
	"net/http"
	"strings"
	"testing"
)

// replicaHarness is a Sim whose webhook is two receivers, a and b, listed
// as the webhook's replicas.
func replicaHarness(t *testing.T, edit func(a, b *receiver)) (*harness, *receiver, *receiver) {
	t.Helper()
	a, b := newReceiver(t), newReceiver(t)
	if edit != nil {
		edit(a, b)
	}
	h := newHarness(t, func(c *Config) {
		c.CallbackURL = ""
		c.CallbackURLs = []string{a.url(), b.url()}
	})
	return h, a, b
}

// accepted counts the POSTs r took (answered 2xx), draining them.
func accepted(r *receiver) int {
	n := 0
	for {
		select {
		case <-r.posts:
			n++
		default:
			return n
		}
	}
}

func TestReplicasTakeTurns(t *testing.T) {
	h, a, b := replicaHarness(t, nil)
	const calls = 6
	for range calls {
		// StartIncoming returns once its one notification is delivered, so
		// deliveries do not overlap and the turns are exact.
		if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err != nil {
			t.Fatal(err)
		}
	}
	if na, nb := accepted(a), accepted(b); na != calls/2 || nb != calls/2 {
		t.Fatalf("replica a took %d, b took %d; want %d each", na, nb, calls/2)
	}
}

func TestReplicaFailover(t *testing.T) {
	tests := []struct {
		name string
		// down makes replica a unable to take notifications.
		down func(a *receiver)
		// aTries is how many POSTs a gets for 4 notifications.
		aTries int64
	}{
		// Every notification tries a once, in turn first or after b: a
		// load balancer that has not yet noticed.
		{"503", func(a *receiver) { a.status = func(int64) int { return http.StatusServiceUnavailable } }, 2},
		{"429", func(a *receiver) { a.status = func(int64) int { return http.StatusTooManyRequests } }, 2},
		{"down", func(a *receiver) { a.srv.Close() }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, a, b := replicaHarness(t, func(a, _ *receiver) { tt.down(a) })
			for range 4 {
				if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err != nil {
					t.Fatal(err)
				}
			}
			if nb := accepted(b); nb != 4 {
				t.Fatalf("replica b took %d of 4 notifications", nb)
			}
			if n := a.count.Load(); n != tt.aTries {
				t.Fatalf("replica a was tried %d times, want %d", n, tt.aTries)
			}
			if accepted(a) != 0 {
				t.Fatal("the failing replica took a notification")
			}
		})
	}
}

func TestReplicaFinalRefusalIsNotRetriedElsewhere(t *testing.T) {
	h, a, b := replicaHarness(t, func(a, b *receiver) {
		a.status = func(int64) int { return http.StatusUnauthorized }
		b.status = func(int64) int { return http.StatusUnauthorized }
	})
	if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err != nil {
		t.Fatal(err)
	}
	if n := a.count.Load() + b.count.Load(); n != 1 {
		t.Fatalf("a 401 was posted %d times in all, want once: it is final", n)
	}
}

func TestEveryReplicaDownRetriesEachRound(t *testing.T) {
	h, a, b := replicaHarness(t, func(a, b *receiver) {
		a.status = func(int64) int { return http.StatusBadGateway }
		b.status = func(int64) int { return http.StatusServiceUnavailable }
	})
	if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err != nil {
		t.Fatal(err)
	}
	if na, nb := a.count.Load(), b.count.Load(); na != 1+maxDeliveryRetries || nb != 1+maxDeliveryRetries {
		t.Fatalf("a was tried %d times, b %d; want %d each (every replica in each round)", na, nb, 1+maxDeliveryRetries)
	}
}

func TestCallbackURIOfAReplicaSpreadsLaterNotifications(t *testing.T) {
	h, a, b := replicaHarness(t, nil)
	id, err := h.sim.StartIncoming(testCtx(t), CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	// The bot answers through replica b and gives b's own URL, as each
	// replica does: later notifications still go to either.
	body := `{"callbackUri":"` + b.url() + `","mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig"}}`
	if st, resp := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/answer", body); st != 202 {
		t.Fatalf("answer: %d %s", st, resp)
	}
	if err := h.sim.Hold(testCtx(t), id, true); err != nil {
		t.Fatal(err)
	}
	// created, establishing, established, hold: two each.
	if na, nb := accepted(a), accepted(b); na != 2 || nb != 2 {
		t.Fatalf("replica a took %d, b took %d; want 2 each", na, nb)
	}

	// A callbackUri outside the replicas gets the call's notifications alone.
	other := newReceiver(t)
	id = h.incoming2(t, a, b)
	body = `{"callbackUri":"` + other.url() + `","mediaConfig":{"@odata.type":"#microsoft.graph.appHostedMediaConfig"}}`
	if st, resp := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/answer", body); st != 202 {
		t.Fatalf("answer: %d %s", st, resp)
	}
	for _, want := range []string{"establishing", "established"} {
		if n := other.nextCall(t, id); n.state(t) != want {
			t.Fatalf("callback got %q, want %q", n.state(t), want)
		}
	}
	if accepted(a)+accepted(b) != 0 {
		t.Fatal("a notification for another callbackUri went to a replica")
	}
}

// incoming2 starts an incoming call and drains its created notification
// from whichever replica took it.
func (h *harness) incoming2(t *testing.T, a, b *receiver) string {
	t.Helper()
	id, err := h.sim.StartIncoming(testCtx(t), CallSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if accepted(a)+accepted(b) != 1 {
		t.Fatal("the created notification was not delivered once")
	}
	return id
}

func TestCallbackURLsConfig(t *testing.T) {
	base := Config{TenantID: "t", ClientID: "c", ClientSecret: "s", AppID: "a"}
	tests := []struct {
		name  string
		edit  func(*Config)
		fails string
		first string
	}{
		{"first is the default callback", func(c *Config) { c.CallbackURLs = []string{"http://127.0.0.1:1/a", "http://127.0.0.1:2/b"} }, "", "http://127.0.0.1:1/a"},
		{"callback among them", func(c *Config) {
			c.CallbackURL, c.CallbackURLs = "http://127.0.0.1:2/b", []string{"http://127.0.0.1:1/a", "http://127.0.0.1:2/b"}
		}, "", "http://127.0.0.1:2/b"},
		{"callback not among them", func(c *Config) {
			c.CallbackURL, c.CallbackURLs = "http://127.0.0.1:3/c", []string{"http://127.0.0.1:1/a"}
		}, "is not one of CallbackURLs", ""},
		{"relative replica", func(c *Config) { c.CallbackURLs = []string{"http://127.0.0.1:1/a", "/b"} }, "CallbackURLs[1]", ""},
		{"listed twice", func(c *Config) { c.CallbackURLs = []string{"http://127.0.0.1:1/a", "http://127.0.0.1:1/a"} }, "twice", ""},
		{"none at all", func(*Config) {}, "CallbackURL is required", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			got, err := c.withDefaults()
			if tt.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fails) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.fails)
				}
				return
			}
			if err != nil || got.CallbackURL != tt.first {
				t.Fatalf("CallbackURL = %q, err = %v; want %q", got.CallbackURL, err, tt.first)
			}
		})
	}
}
