package auth

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/backend/audit"
	"switchboard/backend/clientaddr"
)

// anonymous sends n GETs to path with a client that follows no redirect,
// from the address given in X-Forwarded-For (the test server trusts
// loopback proxies when the env is built so), and counts the statuses.
func (e *env) anonymous(path string, n int, from string) (map[int]int, *http.Response) {
	e.t.Helper()
	c := &http.Client{Transport: e.srv.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	statuses := map[int]int{}
	var last *http.Response
	for range n {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if from != "" {
			req.Header.Set("X-Forwarded-For", from)
		}
		res, err := c.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses[res.StatusCode]++
		last = res
	}
	return statuses, last
}

func (e *env) pendingSignIns() int {
	e.t.Helper()
	keys, err := e.sessions.logins.Keys(context.Background())
	if err != nil && !strings.Contains(err.Error(), "no keys found") {
		e.t.Fatal(err)
	}
	return len(keys)
}

// count returns the trail's entries by action.
func (e *env) count() map[string][]audit.Entry {
	e.t.Helper()
	all, err := e.audit.List(context.Background(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]audit.Entry{}
	for _, en := range all {
		out[en.Action] = append(out[en.Action], en)
	}
	return out
}

// A flood of sign-in starts from one address stores its burst and is
// refused beyond, 429 with Retry-After; the trail holds two entries.
func TestSignInStartsAreLimited(t *testing.T) {
	var floods *audit.Floods
	e := newEnvWith(t, false, func(c *Config) {
		c.Limits.PerMinute, c.Limits.Burst = 6, 5
		floods = audit.NewFloods(c.Audit, audit.FloodOptions{})
		c.Floods = floods
	})
	statuses, last := e.anonymous("/auth/login", 2000, "")
	t.Logf("2000 GET /auth/login: %v", statuses)
	if statuses[http.StatusFound] != 5 || statuses[http.StatusTooManyRequests] != 1995 {
		t.Fatalf("statuses %v; want 5 started and 1995 refused", statuses)
	}
	if ra, _ := strconv.Atoi(last.Header.Get("Retry-After")); ra < 1 || ra > 10 {
		t.Errorf("Retry-After %q, want 1 to 10 s", last.Header.Get("Retry-After"))
	}
	if n := e.pendingSignIns(); n != 5 {
		t.Errorf("%d sign-ins stored, want 5", n)
	}
	floods.Flush(context.Background(), true)
	got := e.count()
	refused, counted := got[audit.ActionRefused], got[audit.ActionFlood]
	if len(refused) != 1 || len(counted) != 1 || counted[0].Count != 1995 ||
		counted[0].Outcome != "1995 refused sign-in starts from 127.0.0.1 in the last minute" {
		t.Fatalf("trail after the flood: refused %+v, counted %+v", refused, counted)
	}
}

// Forged callbacks fail, count against the address and are refused beyond
// its limit; 2000 of them leave two entries in the trail, not 2000.
func TestForgedCallbacksAreLimited(t *testing.T) {
	var floods *audit.Floods
	e := newEnvWith(t, false, func(c *Config) {
		c.Limits.PerMinute, c.Limits.Burst = 6, 5
		floods = audit.NewFloods(c.Audit, audit.FloodOptions{})
		c.Floods = floods
	})
	statuses, last := e.anonymous("/auth/callback?state=x&code=y", 2000, "")
	t.Logf("2000 GET /auth/callback?state=x&code=y: %v", statuses)
	if statuses[http.StatusBadRequest] != 5 || statuses[http.StatusTooManyRequests] != 1995 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("statuses %v; want 5 failed and 1995 refused with Retry-After", statuses)
	}
	floods.Flush(context.Background(), true)
	got := e.count()
	total := 0
	for _, es := range got {
		total += len(es)
	}
	if total != 2 || len(got[audit.ActionLoginFailed]) != 1 || len(got[audit.ActionFlood]) != 1 || got[audit.ActionFlood][0].Count != 2000 {
		t.Fatalf("trail after 2000 forged callbacks: %+v", got)
	}
}

// Sign-ins in progress are capped per address and in all; completing one,
// even by a failed callback, frees its place.
func TestPendingSignInsAreCapped(t *testing.T) {
	loopback := clientaddr.Resolver{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	e := newEnvWith(t, false, func(c *Config) {
		c.Limits.PerMinute = -1
		c.MaxPendingSignInsPerClient, c.MaxPendingSignIns = 3, 5
		c.ClientAddr = loopback.Addr
	})
	statuses, last := e.anonymous("/auth/login", 4, "192.0.2.1")
	if statuses[http.StatusFound] != 3 || statuses[http.StatusTooManyRequests] != 1 {
		t.Fatalf("4 starts from one address: %v; want 3 and one 429", statuses)
	}
	if ra, _ := strconv.Atoi(last.Header.Get("Retry-After")); ra < 590 || ra > 600 {
		t.Errorf("Retry-After %q, want about 600 s (the oldest sign-in's expiry)", last.Header.Get("Retry-After"))
	}
	// A browser on 127.0.0.1 starts a sign-in: four in progress.
	b := e.browser()
	res, err := b.noFollow.Get(e.srv.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("the browser's start: %d", res.StatusCode)
	}
	statuses, last = e.anonymous("/auth/login", 2, "192.0.2.2")
	if statuses[http.StatusFound] != 1 || statuses[http.StatusServiceUnavailable] != 1 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("2 starts from another address with 4 in progress: %v; want 1 and one 503", statuses)
	}
	if n := e.pendingSignIns(); n != 5 {
		t.Fatalf("%d sign-ins stored, want 5", n)
	}
	// The browser's callback fails (forged state) but uses its sign-in up.
	res, _ = e.callback(b, mustURL(t, e.srv.URL+"/auth/callback?state=x&code=y"))
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback with a forged state: %d", res.StatusCode)
	}
	statuses, _ = e.anonymous("/auth/login", 2, "192.0.2.3")
	if statuses[http.StatusFound] != 1 || statuses[http.StatusServiceUnavailable] != 1 {
		t.Fatalf("after one sign-in ended: %v; want one place", statuses)
	}
	if n := e.pendingSignIns(); n != 5 {
		t.Fatalf("%d sign-ins stored, want 5", n)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPendingExpiresAndStaysBounded(t *testing.T) {
	clk := newClock()
	p := newPending(100, 2, 10*time.Minute, clk.Now)
	a, b := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")
	for i := range 2 {
		pl, full := p.admit(a)
		if full != nil {
			t.Fatalf("start %d refused: %v", i+1, full)
		}
		p.started(pl, "a"+strconv.Itoa(i))
		clk.Advance(time.Minute)
	}
	if _, full := p.admit(a); full == nil || !full.perClient || full.retryAfter != 8*time.Minute {
		t.Fatalf("third start: %+v; want refused per address for 8 minutes", full)
	}
	clk.Advance(8 * time.Minute)
	if _, full := p.admit(a); full != nil {
		t.Fatalf("after the first expired: %v", full)
	}
	// Start and complete many: the queue does not grow with them.
	for i := range 100000 {
		pl, full := p.admit(b)
		if full != nil {
			t.Fatalf("start %d refused: %v", i, full)
		}
		id := "b" + strconv.Itoa(i)
		p.started(pl, id)
		p.done(id)
	}
	if per, all := p.counts(a); per != 2 || all != 2 || len(p.queue) > 2*2+64 || len(p.byID) != 1 {
		t.Fatalf("after 100000 completed sign-ins: %d from a, %d in all, queue %d, byID %d", per, all, len(p.queue), len(p.byID))
	}
	clk.Advance(10 * time.Minute)
	if per, all := p.counts(a); per != 0 || all != 0 || len(p.queue) != 0 {
		t.Fatalf("after expiry: %d, %d, queue %d", per, all, len(p.queue))
	}
}
