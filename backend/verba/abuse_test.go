package verba

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/backend/audit"
	"switchboard/backend/natstest"
)

const wrongKey = "74c8eea0-50c6-40b2-9f3e-252ed501c3c8"

// A flood of failed requests from one address meets 429 once its burst is
// spent, with Retry-After and the envelope; what the address does right
// costs it nothing, and the trail holds one entry for the first failure and
// one count for the rest.
func TestFailedRequestsAreLimited(t *testing.T) {
	var floods *audit.Floods
	f := newFixtureWith(t, natstest.JetStream(t), func(c *Config) {
		c.Limits.PerMinute, c.Limits.Burst, c.LockoutAfter = 6, 5, -1 // one every 10 s after 5
		floods = audit.NewFloods(c.Audit, audit.FloodOptions{Now: c.Now})
		c.Floods = floods
	})
	open := f.keys["open"]
	// Legitimate answers, found or not, do not count.
	for range 20 {
		checkReply(t, f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", open, "callID", "c-nowhere"), "", ""),
			404, "DeleteCall", "no call matches", "")
	}
	statuses := map[int]int{}
	for i := range 412 {
		r := f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", wrongKey, "callID", "c-ended1", "responseType", "JSON"), "", "")
		statuses[r.status]++
		if i < 5 {
			checkReply(t, r, 401, "DeleteCall", "unknown API key", "")
			continue
		}
		checkReply(t, r, 429, "DeleteCall", "too many failed requests from 127.0.0.1; retry after 10 s", "")
		if r.header.Get("Retry-After") != "10" {
			t.Fatalf("request %d: Retry-After %q, want 10", i+1, r.header.Get("Retry-After"))
		}
	}
	t.Logf("412 failed DeleteCall requests: %v", statuses)
	// Refused unchecked: even the right key waits.
	checkReply(t, f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", open, "callID", "c-ended1"), "", ""),
		429, "DeleteCall", "too many failed requests", "")
	if erased, _ := f.store.effects(); len(erased) != 0 {
		t.Fatalf("a refused request erased %v", erased)
	}
	f.clock.add(10 * time.Second)
	checkReply(t, f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", open, "callID", "c-ended1"), "", ""),
		200, "DeleteCall", "", "")

	f.clock.add(time.Minute)
	floods.Flush(context.Background(), false)
	got := f.audit.all()
	var failed, counts []audit.Entry
	for _, e := range got {
		switch e.Action {
		case audit.ActionLoginFailed, audit.ActionRefused:
			failed = append(failed, e)
		case audit.ActionFlood:
			counts = append(counts, e)
		}
	}
	if len(failed) != 1 || failed[0].Outcome != "unknown API key" {
		t.Errorf("failures recorded one by one: %+v; want only the first", failed)
	}
	if len(counts) != 1 || counts[0].Count != 413 || counts[0].Outcome != "413 failed DeleteCall requests from 127.0.0.1 in the last minute" ||
		!strings.Contains(counts[0].Detail, "408 refused unchecked") {
		t.Errorf("flood recorded as %+v", counts)
	}
}

// RequestToken's failures count as well: an address guessing passwords is
// refused unchecked, the right password included, until its bucket refills.
func TestPasswordGuessingIsLimited(t *testing.T) {
	f := newFixtureWith(t, natstest.JetStream(t), func(c *Config) {
		c.Limits.PerMinute, c.Limits.Burst, c.LockoutAfter = 6, 3, -1
	})
	token := vals("action", "RequestToken", "apiKey", f.keys["open"])
	for i := range 3 {
		checkReply(t, f.call(t, http.MethodGet, token, testLogin, fmt.Sprintf("guess %d", i)), 401, "RequestToken", "wrong login or password", "")
	}
	r := f.call(t, http.MethodGet, token, testLogin, testPassword)
	checkReply(t, r, 429, "RequestToken", "too many failed requests", "")
	if r.Token != "" {
		t.Fatal("a refused request got a token")
	}
	f.clock.add(10 * time.Second)
	checkReply(t, f.call(t, http.MethodGet, token, testLogin, testPassword), 200, "RequestToken", "", "")
}

// A key that fails too often is locked out on every replica, whatever it
// presents, with a clear error; the lockout is audited once, and ends.
func TestKeyLockout(t *testing.T) {
	f := newFixtureWith(t, natstest.JetStream(t), func(c *Config) {
		c.Limits.PerMinute, c.LockoutAfter, c.LockoutWindow, c.LockoutFor = -1, 3, time.Minute, 15*time.Minute
	})
	other := f.replica(t)
	tok := f.keys["tok"]
	good := f.call(t, http.MethodPost, vals("action", "RequestToken", "apiKey", tok), testLogin, testPassword)
	checkReply(t, good, 200, "RequestToken", "", "")
	del := func(f *fixture, token string) reply {
		return f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", tok, "token", token, "callID", "c-ended1"), "", "")
	}
	for range 4 {
		checkReply(t, del(f, "00000000-0000-4000-8000-000000000000"), 401, "DeleteCall", "unknown token", "")
	}
	for _, rep := range []*fixture{f, other} {
		r := del(rep, good.Token)
		checkReply(t, r, 429, "DeleteCall", "this API key is locked out until 2026-03-02T10:45:00Z after repeated failed authentications; retry after 900 s", "")
		if r.header.Get("Retry-After") != "900" {
			t.Errorf("Retry-After %q, want 900", r.header.Get("Retry-After"))
		}
	}
	checkReply(t, f.call(t, http.MethodPost, vals("action", "RequestToken", "apiKey", tok), testLogin, testPassword),
		429, "RequestToken", "locked out", "")
	// Other keys are not affected.
	checkReply(t, f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", f.keys["open"], "callID", "c-ended2"), "", ""),
		200, "DeleteCall", "", "")
	if erased, _ := f.store.effects(); len(erased) != 1 {
		t.Fatalf("erased %v: the locked key deleted", erased)
	}
	var lockouts []audit.Entry
	for _, e := range f.audit.all() {
		if e.Action == audit.ActionLockout {
			lockouts = append(lockouts, e)
		}
	}
	if len(lockouts) != 1 || lockouts[0].Actor != "apikey:tok" || lockouts[0].Remote != "127.0.0.1" ||
		lockouts[0].Outcome != "locked out until 2026-03-02T10:45:00Z after repeated failed authentications" ||
		!strings.Contains(lockouts[0].Detail, "unknown token") {
		t.Fatalf("lockout audited as %+v", lockouts)
	}
	f.clock.add(15 * time.Minute)
	checkReply(t, del(other, good.Token), 200, "DeleteCall", "", "")
}

// A POST body slower than BodyTimeout is cut with 408, in the envelope,
// and the connection closed.
func TestSlowBodyIsCut(t *testing.T) {
	f := newFixtureWith(t, natstest.JetStream(t), func(c *Config) {
		c.Limits.PerMinute, c.LockoutAfter, c.BodyTimeout = -1, -1, 300*time.Millisecond
	})
	u, _ := url.Parse(f.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "action=DeleteCall&responseType=JSON&apiKey=" + f.keys["open"] + "&callID=c-ended1"
	fmt.Fprintf(conn, "POST /verba/api?responseType=JSON HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", len(body))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := range len(body) {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	data := make([]byte, res.ContentLength)
	if _, err := rd.Read(data); err != nil {
		t.Fatal(err)
	}
	r := decode(t, formatJSON, res.Header.Get("Content-Type"), data)
	r.status = res.StatusCode
	checkReply(t, r, http.StatusRequestTimeout, "", "request body did not arrive within 300ms", "")
	if !res.Close || took > time.Second {
		t.Errorf("408 after %v, close %v; want within 1s and the connection closed", took, res.Close)
	}
	t.Logf("slow DeleteCall body cut with 408 after %v", took)
	if erased, _ := f.store.effects(); len(erased) != 0 {
		t.Fatalf("a cut request erased %v", erased)
	}
}
