package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/backend/graph"
)

const callID = "57dab8b1-894c-409a-b240-bd8beae78896"

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// anyClientContext stands for a body holding a fresh clientContext.
const anyClientContext = "{clientContext}"

func TestOperationsSendWhatGraphDocuments(t *testing.T) {
	ops := []struct {
		name     string
		do       func(context.Context, *graph.Client) error
		reply    reply
		method   string
		path     string // after the version
		wantBody string // JSON; empty for no body
	}{
		{
			name:   "answer audio by default",
			do:     func(ctx context.Context, c *graph.Client) error { return c.Answer(ctx, callID, nil) },
			reply:  reply{status: http.StatusAccepted},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/answer",
			wantBody: `{"callbackUri":"https://bot.contoso.com/api/calls","acceptedModalities":["audio"],
				"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`,
		},
		{
			name: "answer modalities spelt as Graph does",
			do: func(ctx context.Context, c *graph.Client) error {
				return c.Answer(ctx, callID, []string{"Audio", "VIDEOBASEDSCREENSHARING"})
			},
			reply:  reply{status: http.StatusOK},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/answer",
			wantBody: `{"callbackUri":"https://bot.contoso.com/api/calls","acceptedModalities":["audio","videoBasedScreenSharing"],
				"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`,
		},
		{
			name:   "reject reason lowercased",
			do:     func(ctx context.Context, c *graph.Client) error { return c.Reject(ctx, callID, "Busy") },
			reply:  reply{status: http.StatusAccepted},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/reject",
			wantBody: `{"reason":"busy","callbackUri":"https://bot.contoso.com/api/calls"}`,
		},
		{
			name:   "reject forbidden",
			do:     func(ctx context.Context, c *graph.Client) error { return c.Reject(ctx, callID, "FORBIDDEN") },
			reply:  reply{status: http.StatusAccepted},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/reject",
			wantBody: `{"reason":"forbidden","callbackUri":"https://bot.contoso.com/api/calls"}`,
		},
		{
			name: "redirect to a user and a phone",
			do: func(ctx context.Context, c *graph.Client) error {
				return c.Redirect(ctx, callID,
					graph.Target{Kind: graph.TargetUser, ID: "user-1", DisplayName: "Ann"},
					graph.Target{Kind: graph.TargetPhone, ID: "+14255550100"})
			},
			reply:  reply{status: http.StatusAccepted},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/redirect",
			wantBody: `{"targets":[
				{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet",
					"user":{"@odata.type":"#microsoft.graph.identity","id":"user-1","displayName":"Ann"}}},
				{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet",
					"phone":{"@odata.type":"#microsoft.graph.identity","id":"+14255550100"}}}],
				"callbackUri":"https://bot.contoso.com/api/calls"}`,
		},
		{
			name: "transfer to a user, as the v1.0 reference shows it",
			do: func(ctx context.Context, c *graph.Client) error {
				return c.Transfer(ctx, callID, graph.Target{Kind: graph.TargetUser, ID: "550fae72-0000-4000-8000-000000000001", DisplayName: "Heidi"})
			},
			reply:  reply{status: http.StatusAccepted},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/transfer",
			wantBody: `{"transferTarget":{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default",
				"identity":{"@odata.type":"#microsoft.graph.identitySet",
					"user":{"@odata.type":"#microsoft.graph.identity","id":"550fae72-0000-4000-8000-000000000001","displayName":"Heidi"}}}}`,
		},
		{
			name: "transfer to a phone number",
			do: func(ctx context.Context, c *graph.Client) error {
				return c.Transfer(ctx, callID, graph.Target{Kind: graph.TargetPhone, ID: "+12345678901"})
			},
			reply:  reply{status: http.StatusAccepted},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/transfer",
			wantBody: `{"transferTarget":{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default",
				"identity":{"@odata.type":"#microsoft.graph.identitySet","phone":{"@odata.type":"#microsoft.graph.identity","id":"+12345678901"}}}}`,
		},
		{
			name:   "mute a participant",
			do:     func(ctx context.Context, c *graph.Client) error { return c.MuteParticipant(ctx, callID, "part/1") },
			reply:  reply{status: http.StatusOK, body: `{"@odata.type":"#microsoft.graph.muteParticipantOperation","id":"op-1","status":"completed"}`},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/participants/part%2F1/mute",
			wantBody: anyClientContext,
		},
		{
			name: "look a user up by sign-in name",
			do: func(ctx context.Context, c *graph.Client) error {
				u, err := c.User(ctx, "ada@contoso.com")
				if err == nil && (u.ID != "user-ada" || u.DisplayName != "Ada") {
					err = fmt.Errorf("user = %+v", u)
				}
				return err
			},
			reply:  reply{status: http.StatusOK, body: `{"id":"user-ada","displayName":"Ada","userPrincipalName":"ada@contoso.com"}`},
			method: http.MethodGet, path: "/users/ada@contoso.com?$select=id,displayName,userPrincipalName",
		},
		{
			name:   "hang up",
			do:     func(ctx context.Context, c *graph.Client) error { return c.HangUp(ctx, callID) },
			reply:  reply{status: http.StatusNoContent},
			method: http.MethodDelete, path: "/communications/calls/" + callID,
		},
		{
			name:   "keep alive",
			do:     func(ctx context.Context, c *graph.Client) error { return c.KeepAlive(ctx, callID) },
			reply:  reply{status: http.StatusOK},
			method: http.MethodPost, path: "/communications/calls/" + callID + "/keepAlive",
		},
		{
			name: "get",
			do: func(ctx context.Context, c *graph.Client) error {
				_, err := c.Get(ctx, callID)
				return err
			},
			reply:  reply{status: http.StatusOK, body: callJSON},
			method: http.MethodGet, path: "/communications/calls/" + callID,
		},
	}
	for _, version := range []string{"v1.0", "beta"} {
		for _, tc := range ops {
			t.Run(version+"/"+tc.name, func(t *testing.T) {
				f := newFakeGraph(t, tc.reply)
				if err := tc.do(t.Context(), f.client(version)); err != nil {
					t.Fatalf("err = %v", err)
				}
				reqs := f.seen()
				if len(reqs) != 1 {
					t.Fatalf("requests = %s, want one", methodsAndURIs(reqs))
				}
				r := reqs[0]
				if want := "/" + version + tc.path; r.method != tc.method || r.uri != want {
					t.Errorf("request = %s %s, want %s %s", r.method, r.uri, tc.method, want)
				}
				checkHeaders(t, r, tc.wantBody != "")
				var cc struct{ ClientContext string }
				switch {
				case tc.wantBody == "" && len(r.body) != 0:
					t.Errorf("body = %q, want none", r.body)
				case tc.wantBody == anyClientContext:
					if json.Unmarshal(r.body, &cc) != nil || !uuidPattern.MatchString(cc.ClientContext) {
						t.Errorf("body = %s, want a clientContext", r.body)
					}
				case tc.wantBody != "" && !jsonEqual(t, r.body, tc.wantBody):
					t.Errorf("body = %s\nwant %s", r.body, tc.wantBody)
				}
			})
		}
	}
}

// checkHeaders checks the headers every request carries.
func checkHeaders(t *testing.T, r seenRequest, hasBody bool) {
	t.Helper()
	if got := r.header.Get("Authorization"); got != "Bearer tok-1" {
		t.Errorf("Authorization = %q, want %q", got, "Bearer tok-1")
	}
	if got := r.header.Get("client-request-id"); !uuidPattern.MatchString(got) {
		t.Errorf("client-request-id = %q, want a random UUID", got)
	}
	if got := r.header.Get("User-Agent"); !strings.Contains(got, "Switchboard") {
		t.Errorf("User-Agent = %q, want it to name Switchboard", got)
	}
	if got := r.header.Get("Retry-Attempt"); got != "" {
		t.Errorf("Retry-Attempt = %q on a first attempt", got)
	}
	if got := r.header.Get("Content-Type"); hasBody && got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
}

func TestGetReturnsTheCallResourceAsIs(t *testing.T) {
	f := newFakeGraph(t, reply{status: http.StatusOK, body: callJSON})
	got, err := f.client("v1.0").Get(t.Context(), callID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(got) != callJSON {
		t.Errorf("Get = %s, want %s", got, callJSON)
	}
}

func TestGetRejectsBadBodies(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"not JSON", "<html>hello</html>", "not JSON"},
		{"empty", "", "not JSON"},
		{"larger than 1 MiB", `"` + strings.Repeat("a", 1<<20) + `"`, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, reply{status: http.StatusOK, body: tc.body})
			_, err := f.client("v1.0").Get(t.Context(), callID)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
}

func TestCallIDIsPathEscaped(t *testing.T) {
	f := newFakeGraph(t, reply{status: http.StatusOK})
	if err := f.client("v1.0").KeepAlive(t.Context(), "a/../b c?d#e"); err != nil {
		t.Fatalf("KeepAlive: %v", err)
	}
	want := "/v1.0/communications/calls/a%2F..%2Fb%20c%3Fd%23e/keepAlive"
	if got := f.seen()[0].uri; got != want {
		t.Errorf("uri = %s, want %s", got, want)
	}
}

func TestTokenIsCachedAndRefreshed(t *testing.T) {
	tests := []struct {
		name        string
		ttl         int // seconds; oauth2 treats tokens within 10s of expiry as expired
		wantBearers []string
	}{
		{"long-lived token is reused", 3600, []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-1"}},
		{"expiring token is refreshed", 1, []string{"Bearer tok-1", "Bearer tok-2", "Bearer tok-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok := reply{status: http.StatusOK}
			f := newFakeGraph(t, ok, ok, ok)
			f.tokenTTL = tc.ttl
			c := f.client("v1.0")
			for range 3 {
				if err := c.KeepAlive(t.Context(), callID); err != nil {
					t.Fatalf("KeepAlive: %v", err)
				}
			}
			for i, r := range f.seen() {
				if got := r.header.Get("Authorization"); got != tc.wantBearers[i] {
					t.Errorf("request %d: Authorization = %q, want %q", i, got, tc.wantBearers[i])
				}
			}
			forms := f.tokenRequests()
			if len(forms) != len(uniq(tc.wantBearers)) {
				t.Errorf("token requests = %d, want %d", len(forms), len(uniq(tc.wantBearers)))
			}
			want := map[string]string{"grant_type": "client_credentials", "client_id": testClientID,
				"client_secret": testSecret, "scope": graph.DefaultScope}
			for k, v := range want {
				if forms[0][k] != v {
					t.Errorf("token form %s = %q, want %q", k, forms[0][k], v)
				}
			}
		})
	}
}

func uniq(ss []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return m
}

func TestTokenEndpointFailureIsClear(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fakeGraph, cfg *graph.Config)
		wantErr string
	}{
		{
			name:    "wrong secret",
			setup:   func(f *fakeGraph, cfg *graph.Config) { cfg.ClientSecret = "wrong-" + testSecret },
			wantErr: "invalid_client",
		},
		{
			name: "server error with a text body",
			setup: func(f *fakeGraph, cfg *graph.Config) {
				f.tokenStatus, f.tokenBody = http.StatusInternalServerError, "upstream broke"
			},
			wantErr: "upstream broke",
		},
		{
			name: "unreachable",
			setup: func(f *fakeGraph, cfg *graph.Config) {
				dead := newFakeGraph(t)
				dead.srv.Close()
				cfg.TokenURL = dead.tokenURL()
			},
			wantErr: "connect",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t)
			cfg := f.config("v1.0")
			var logs bytes.Buffer
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			tc.setup(f, &cfg)
			c, err := graph.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = c.HangUp(t.Context(), callID)
			if err == nil {
				t.Fatal("HangUp succeeded without a token")
			}
			msg := err.Error()
			for _, want := range []string{cfg.TokenURL, tc.wantErr, "hangup", callID} {
				if !strings.Contains(msg, want) {
					t.Errorf("err = %q, want it to contain %q", msg, want)
				}
			}
			if strings.Contains(msg, testSecret) || strings.Contains(logs.String(), testSecret) {
				t.Errorf("the client secret leaked: err %q, logs %q", msg, logs.String())
			}
			if n := len(f.seen()); n != 0 {
				t.Errorf("Graph got %d requests without a token", n)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	pastDate := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	futureDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	accepted := reply{status: http.StatusAccepted}
	ok := reply{status: http.StatusOK, body: callJSON}
	drop := reply{drop: true}
	answer := func(ctx context.Context, c *graph.Client) error { return c.Answer(ctx, callID, nil) }
	get := func(ctx context.Context, c *graph.Client) error { _, err := c.Get(ctx, callID); return err }
	hangUp := func(ctx context.Context, c *graph.Client) error { return c.HangUp(ctx, callID) }

	tests := []struct {
		name         string
		cfg          func(*graph.Config)
		replies      []reply
		do           func(context.Context, *graph.Client) error
		wantAttempts int
		check        func(t *testing.T, err error)
	}{
		{
			name:         "429 with fractional Retry-After, then success",
			replies:      []reply{throttled("0.05"), accepted},
			do:           answer,
			wantAttempts: 2, check: noError,
		},
		{
			name:         "429 without Retry-After backs off, then success",
			replies:      []reply{{status: http.StatusTooManyRequests}, accepted},
			do:           answer,
			wantAttempts: 2, check: noError,
		},
		{
			name:         "503 with a past HTTP-date Retry-After, then success",
			replies:      []reply{{status: http.StatusServiceUnavailable, header: map[string]string{"Retry-After": pastDate}}, accepted},
			do:           answer,
			wantAttempts: 2, check: noError,
		},
		{
			name:         "503 with an HTTP date beyond the budget is returned",
			replies:      []reply{{status: http.StatusServiceUnavailable, header: map[string]string{"Retry-After": futureDate}}},
			do:           answer,
			wantAttempts: 1,
			check: func(t *testing.T, err error) {
				ge := asError(t, err)
				if ge.Status != http.StatusServiceUnavailable || ge.RetryAfter < 59*time.Minute || ge.RetryAfter > 61*time.Minute {
					t.Errorf("err = %v (RetryAfter %v), want 503 asking for about an hour", err, ge.RetryAfter)
				}
			},
		},
		{
			name:         "Retry-After beyond the budget: no wait, throttling error",
			cfg:          func(c *graph.Config) { c.RetryBudget = time.Second },
			replies:      []reply{throttled("5")},
			do:           answer,
			wantAttempts: 1,
			check:        wantThrottled(5 * time.Second),
		},
		{
			name:         "budget spent by earlier waits",
			cfg:          func(c *graph.Config) { c.RetryBudget = 120 * time.Millisecond },
			replies:      []reply{throttled("0.05"), throttled("0.05"), throttled("0.05")},
			do:           answer,
			wantAttempts: 3, // waits 50ms + 50ms; a third 50ms would overrun 120ms
			check:        wantThrottled(50 * time.Millisecond),
		},
		{
			name:         "MaxAttempts bounds the attempts",
			cfg:          func(c *graph.Config) { c.MaxAttempts = 3 },
			replies:      []reply{throttled("0.01"), throttled("0.01"), throttled("0.01")},
			do:           get,
			wantAttempts: 3,
			check:        wantThrottled(10 * time.Millisecond),
		},
		{
			name:         "MaxAttempts 1 never retries",
			cfg:          func(c *graph.Config) { c.MaxAttempts = 1 },
			replies:      []reply{throttled("0.01")},
			do:           answer,
			wantAttempts: 1,
			check:        wantThrottled(10 * time.Millisecond),
		},
		{
			name:    "ctx deadline before Retry-After: no wait",
			cfg:     func(c *graph.Config) { c.RetryBudget = time.Hour },
			replies: []reply{throttled("120")},
			do: func(ctx context.Context, c *graph.Client) error {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				return c.Answer(ctx, callID, nil)
			},
			wantAttempts: 1,
			check: func(t *testing.T, err error) {
				wantThrottled(120*time.Second)(t, err)
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v: the client waited for the deadline instead of returning at once", err)
				}
			},
		},
		{
			name: "403 7504 is not retried",
			replies: []reply{{status: http.StatusForbidden, header: map[string]string{"Content-Type": "application/json"},
				body: graphError("7504", "Insufficient enterprise tenant permissions, cannot access this API.", "req-403")}},
			do:           answer,
			wantAttempts: 1,
			check: func(t *testing.T, err error) {
				ge := asError(t, err)
				if ge.Status != http.StatusForbidden || ge.Code != "7504" || graph.IsNotFound(err) || graph.IsThrottled(err) {
					t.Errorf("err = %#v, want 403 7504 only", ge)
				}
				want := "graph: answer call " + callID + ": 403 Insufficient enterprise tenant permissions, cannot access this API. (7504, request-id req-403)"
				if err.Error() != want {
					t.Errorf("err = %q\nwant  %q", err, want)
				}
			},
		},
		{
			name:         "500 is not retried for a non-idempotent action",
			replies:      []reply{{status: http.StatusInternalServerError, body: "oops"}},
			do:           answer,
			wantAttempts: 1,
			check:        wantStatus(http.StatusInternalServerError),
		},
		{
			name:         "502 is retried for GET",
			replies:      []reply{{status: http.StatusBadGateway}, ok},
			do:           get,
			wantAttempts: 2, check: noError,
		},
		{
			name:         "502 is not retried for answer",
			replies:      []reply{{status: http.StatusBadGateway}},
			do:           answer,
			wantAttempts: 1,
			check:        wantStatus(http.StatusBadGateway),
		},
		{
			name:         "network failure is retried for GET",
			replies:      []reply{drop, ok},
			do:           get,
			wantAttempts: 2, check: noError,
		},
		{
			name:         "network failure is retried for DELETE",
			replies:      []reply{drop, {status: http.StatusNoContent}},
			do:           hangUp,
			wantAttempts: 2, check: noError,
		},
		{
			name:         "network failure is not retried for answer",
			replies:      []reply{drop},
			do:           answer,
			wantAttempts: 1,
			check: func(t *testing.T, err error) {
				var ge *graph.Error
				if err == nil || errors.As(err, &ge) || !strings.Contains(err.Error(), "answer call "+callID) {
					t.Errorf("err = %v, want a network error naming the operation", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, tc.replies...)
			cfg := f.config("v1.0")
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			c, err := graph.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			// A bound on the whole operation: a broken retry limit fails
			// the test instead of sleeping for Retry-After's hour.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			tc.check(t, tc.do(ctx, c))
			reqs := f.seen()
			if len(reqs) != tc.wantAttempts {
				t.Errorf("attempts = %d (%s), want %d", len(reqs), methodsAndURIs(reqs), tc.wantAttempts)
			}
			checkRetryHeaders(t, reqs)
		})
	}
}

// checkRetryHeaders checks that the attempts of one operation share a
// client-request-id and count themselves in Retry-Attempt, and resend
// the whole body.
func checkRetryHeaders(t *testing.T, reqs []seenRequest) {
	t.Helper()
	for i, r := range reqs[min(1, len(reqs)):] {
		if got, want := r.header.Get("client-request-id"), reqs[0].header.Get("client-request-id"); got != want {
			t.Errorf("attempt %d: client-request-id = %q, want %q as the first", i+2, got, want)
		}
		if got, want := r.header.Get("Retry-Attempt"), string(rune('1'+i)); got != want {
			t.Errorf("attempt %d: Retry-Attempt = %q, want %q", i+2, got, want)
		}
		if !bytes.Equal(r.body, reqs[0].body) {
			t.Errorf("attempt %d: body = %q, want %q as the first", i+2, r.body, reqs[0].body)
		}
	}
}

func noError(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("err = %v", err)
	}
}

func asError(t *testing.T, err error) *graph.Error {
	t.Helper()
	var ge *graph.Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v (%T), want a *graph.Error", err, err)
	}
	return ge
}

func wantStatus(status int) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if ge := asError(t, err); ge.Status != status {
			t.Errorf("status = %d, want %d", ge.Status, status)
		}
	}
}

func wantThrottled(retryAfter time.Duration) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		ge := asError(t, err)
		if !graph.IsThrottled(err) || ge.RetryAfter != retryAfter {
			t.Errorf("err = %v (RetryAfter %v), want throttled with RetryAfter %v", err, ge.RetryAfter, retryAfter)
		}
	}
}

func TestCancelStopsRetries(t *testing.T) {
	tests := []struct {
		name    string
		cancel  func(cancel context.CancelFunc, attempt int) // called by Observe
		replies []reply
	}{
		{
			name:    "cancelled while waiting to retry",
			cancel:  func(cancel context.CancelFunc, attempt int) { time.AfterFunc(20*time.Millisecond, cancel) },
			replies: []reply{throttled("30")},
		},
		{
			name:    "cancelled before the wait",
			cancel:  func(cancel context.CancelFunc, attempt int) { cancel() },
			replies: []reply{throttled("30")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, tc.replies...)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			cfg := f.config("v1.0")
			cfg.RetryBudget = time.Minute
			cfg.Observe = func(op string, status int, d time.Duration) { tc.cancel(cancel, 1) }
			c, err := graph.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = c.Answer(ctx, callID, nil)
			if !errors.Is(err, context.Canceled) || !graph.IsThrottled(err) {
				t.Errorf("err = %v, want cancellation carrying the throttling error", err)
			}
			if n := len(f.seen()); n != 1 {
				t.Errorf("attempts = %d, want 1", n)
			}
		})
	}
}

func TestErrorsDecodeGraphsBody(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name     string
		reply    reply
		want     graph.Error
		notFound bool
		wantText string
	}{
		{
			name: "404 8522 call not found",
			reply: reply{status: http.StatusNotFound, header: map[string]string{"Content-Type": "application/json"},
				body: graphError("8522", "Call not found", "req-404")},
			want: graph.Error{Op: "reject", CallID: callID, Status: 404, Code: "8522", Message: "Call not found",
				RequestID: "req-404", Date: "2024-05-01T10:00:00"},
			notFound: true,
			wantText: "graph: reject call " + callID + ": 404 Call not found (8522, request-id req-404)",
		},
		{
			name:     "8522 under another status is still not found",
			reply:    reply{status: http.StatusBadRequest, body: graphError("8522", "Call not found", "req-8522")},
			want:     graph.Error{Op: "reject", CallID: callID, Status: 400, Code: "8522", Message: "Call not found", RequestID: "req-8522", Date: "2024-05-01T10:00:00"},
			notFound: true,
			wantText: "graph: reject call " + callID + ": 400 Call not found (8522, request-id req-8522)",
		},
		{
			name:     "lowercase innererror and headers",
			reply:    reply{status: http.StatusBadRequest, header: map[string]string{"request-id": "hdr-id", "Date": "Wed, 01 May 2024 10:00:00 GMT"}, body: `{"error":{"code":"2203","message":"Bad request","innererror":{}}}`},
			want:     graph.Error{Op: "reject", CallID: callID, Status: 400, Code: "2203", Message: "Bad request", RequestID: "hdr-id", Date: "Wed, 01 May 2024 10:00:00 GMT"},
			wantText: "graph: reject call " + callID + ": 400 Bad request (2203, request-id hdr-id)",
		},
		{
			name:     "non-JSON body keeps its first 200 bytes",
			reply:    reply{status: http.StatusInternalServerError, body: "<html>\n" + long + "</html>"},
			want:     graph.Error{Op: "reject", CallID: callID, Status: 500, Message: "<html> " + long[:193]},
			wantText: "graph: reject call " + callID + ": 500 <html> " + long[:193],
		},
		{
			name:     "empty body says the status",
			reply:    reply{status: http.StatusNotFound},
			want:     graph.Error{Op: "reject", CallID: callID, Status: 404},
			notFound: true,
			wantText: "graph: reject call " + callID + ": 404 Not Found",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, tc.reply)
			err := f.client("v1.0").Reject(t.Context(), callID, "none")
			ge := asError(t, err)
			got := *ge
			if !uuidPattern.MatchString(got.ClientRequestID) {
				t.Errorf("ClientRequestID = %q, want the UUID sent", got.ClientRequestID)
			}
			got.ClientRequestID = ""
			if tc.want.Date == "" {
				got.Date = "" // the server's own Date header
			}
			if got != tc.want {
				t.Errorf("err = %#v\nwant  %#v", got, tc.want)
			}
			if graph.IsNotFound(err) != tc.notFound {
				t.Errorf("IsNotFound = %v, want %v", !tc.notFound, tc.notFound)
			}
			if err.Error() != tc.wantText {
				t.Errorf("Error() = %q\nwant      %q", err.Error(), tc.wantText)
			}
		})
	}
}

func TestBadInputMakesNoRequest(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(*graph.Config)
		do      func(context.Context, *graph.Client) error
		wantErr string
	}{
		{"reject reason unknown", nil,
			func(ctx context.Context, c *graph.Client) error { return c.Reject(ctx, callID, "maybe") }, `reason "maybe"`},
		{"reject reason empty", nil,
			func(ctx context.Context, c *graph.Client) error { return c.Reject(ctx, callID, "") }, `reason ""`},
		{"empty call id", nil,
			func(ctx context.Context, c *graph.Client) error { return c.HangUp(ctx, "") }, "empty call id"},
		{"dot-dot call id", nil,
			func(ctx context.Context, c *graph.Client) error { return c.KeepAlive(ctx, "..") }, "invalid call id"},
		{"control character in call id", nil,
			func(ctx context.Context, c *graph.Client) error { _, err := c.Get(ctx, "a\nb"); return err }, "control"},
		{"unknown modality", nil,
			func(ctx context.Context, c *graph.Client) error { return c.Answer(ctx, callID, []string{"smell"}) }, `modality "smell"`},
		{"answer without callback", func(c *graph.Config) { c.CallbackURI = "" },
			func(ctx context.Context, c *graph.Client) error { return c.Answer(ctx, callID, nil) }, "CallbackURI"},
		{"redirect without targets", nil,
			func(ctx context.Context, c *graph.Client) error { return c.Redirect(ctx, callID) }, "no targets"},
		{"redirect to a bad phone number", nil,
			func(ctx context.Context, c *graph.Client) error {
				return c.Redirect(ctx, callID, graph.Target{Kind: graph.TargetPhone, ID: "555-0100"})
			}, "E.164"},
		{"redirect to an unknown kind", nil,
			func(ctx context.Context, c *graph.Client) error {
				return c.Redirect(ctx, callID, graph.Target{Kind: "fax", ID: "1"})
			}, `kind "fax"`},
		{"transfer to a bad phone number", nil,
			func(ctx context.Context, c *graph.Client) error {
				return c.Transfer(ctx, callID, graph.Target{Kind: graph.TargetPhone, ID: "4255550100"})
			}, "E.164"},
		{"mute without a participant", nil,
			func(ctx context.Context, c *graph.Client) error { return c.MuteParticipant(ctx, callID, "") }, "participant"},
		{"user without a name", nil,
			func(ctx context.Context, c *graph.Client) error { _, err := c.User(ctx, ""); return err }, "empty"},
		{"redirect target without id", nil,
			func(ctx context.Context, c *graph.Client) error {
				return c.Redirect(ctx, callID, graph.Target{Kind: graph.TargetUser})
			}, "empty id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t)
			cfg := f.config("v1.0")
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			c, err := graph.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = tc.do(t.Context(), c)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			if n, m := len(f.seen()), len(f.tokenRequests()); n+m != 0 {
				t.Errorf("made %d Graph and %d token requests, want none", n, m)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	valid := func() graph.Config {
		return graph.Config{TenantID: "t", ClientID: "id", ClientSecret: "secret"}
	}
	tests := []struct {
		name    string
		edit    func(*graph.Config)
		wantErr string // empty: valid
	}{
		{"defaults", func(*graph.Config) {}, ""},
		{"beta base URL", func(c *graph.Config) { c.BaseURL = "https://graph.microsoft.com/beta/" }, ""},
		{"simulator", func(c *graph.Config) {
			c.BaseURL, c.TokenURL, c.TenantID = "http://127.0.0.1:9090/v1.0", "http://127.0.0.1:9090/token", ""
		}, ""},
		{"no client id", func(c *graph.Config) { c.ClientID = "" }, "ClientID"},
		{"no secret", func(c *graph.Config) { c.ClientSecret = "" }, "ClientSecret"},
		{"no tenant nor token URL", func(c *graph.Config) { c.TenantID = "" }, "TenantID"},
		{"unparsable base URL", func(c *graph.Config) { c.BaseURL = "http://[::1" }, "BaseURL"},
		{"relative base URL", func(c *graph.Config) { c.BaseURL = "/v1.0" }, "BaseURL"},
		{"ftp base URL", func(c *graph.Config) { c.BaseURL = "ftp://graph.example/v1.0" }, "BaseURL"},
		{"base URL with query", func(c *graph.Config) { c.BaseURL = "https://graph.microsoft.com/v1.0?x=1" }, "BaseURL"},
		{"bad token URL", func(c *graph.Config) { c.TokenURL = "token" }, "TokenURL"},
		{"bad callback", func(c *graph.Config) { c.CallbackURI = "bot.contoso.com/api" }, "CallbackURI"},
		{"negative budget", func(c *graph.Config) { c.RetryBudget = -time.Second }, "RetryBudget"},
		{"negative attempts", func(c *graph.Config) { c.MaxAttempts = -1 }, "MaxAttempts"},
		{"negative backoff", func(c *graph.Config) { c.BackoffBase = -time.Second }, "BackoffBase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.edit(&cfg)
			_, err := graph.New(cfg)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("New err = %v, want it to name %s", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), cfg.ClientSecret) && cfg.ClientSecret != "":
				t.Errorf("New err %q contains the secret", err)
			}
		})
	}
}

func TestObserveSeesEveryAttempt(t *testing.T) {
	f := newFakeGraph(t, throttled("0.01"), reply{status: http.StatusAccepted}, reply{drop: true}, reply{status: http.StatusNoContent})
	type seen struct {
		op     string
		status int
	}
	var (
		mu  sync.Mutex
		got []seen
	)
	cfg := f.config("beta")
	cfg.Observe = func(op string, status int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{op, status})
		if d <= 0 {
			t.Errorf("Observe(%s, %d): duration %v, want positive", op, status, d)
		}
	}
	c, err := graph.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Reject(t.Context(), callID, "none"); err != nil {
		t.Fatalf("Reject: %v", err)
	}
	if err := c.HangUp(t.Context(), callID); err != nil {
		t.Fatalf("HangUp: %v", err)
	}
	want := []seen{{"reject", 429}, {"reject", 202}, {"hangup", 0}, {"hangup", 204}}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("observation %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestQualifiedActions(t *testing.T) {
	f := newFakeGraph(t, reply{status: http.StatusAccepted}, reply{status: http.StatusAccepted}, reply{status: http.StatusOK}, reply{status: http.StatusOK})
	cfg := f.config("v1.0")
	cfg.QualifiedActions = true
	c, err := graph.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, err := range []error{
		c.Transfer(ctx, callID, graph.Target{Kind: graph.TargetPhone, ID: "+12345678901"}),
		c.Redirect(ctx, callID, graph.Target{Kind: graph.TargetPhone, ID: "+12345678901"}),
		c.MuteParticipant(ctx, callID, "p1"),
		c.KeepAlive(ctx, callID),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"POST /v1.0/communications/calls/" + callID + "/microsoft.graph.transfer",
		"POST /v1.0/communications/calls/" + callID + "/microsoft.graph.redirect",
		"POST /v1.0/communications/calls/" + callID + "/participants/p1/microsoft.graph.mute",
		"POST /v1.0/communications/calls/" + callID + "/microsoft.graph.keepAlive",
	}
	if got := methodsAndURIs(f.seen()); got != strings.Join(want, "; ") {
		t.Fatalf("requests = %s, want %s", got, strings.Join(want, "; "))
	}
}

func TestUserNotFound(t *testing.T) {
	f := newFakeGraph(t, reply{status: http.StatusNotFound, body: `{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist."}}`})
	_, err := f.client("v1.0").User(t.Context(), "x@contoso.com")
	if !graph.IsNotFound(err) || !strings.Contains(err.Error(), "graph: user of x@contoso.com: 404") {
		t.Fatalf("err = %v", err)
	}
}

// TestAFailedTokenFetchIsNotMadeAgainAtOnce: calls made within
// TokenRetryAfter of a failed token fetch, or waiting on it, fail with its
// failure without asking the endpoint again; the first call after that
// asks again, and a negative TokenRetryAfter asks every time.
func TestAFailedTokenFetchIsNotMadeAgainAtOnce(t *testing.T) {
	client := func(f *fakeGraph, retryAfter time.Duration) *graph.Client {
		cfg := f.config("v1.0")
		cfg.TokenRetryAfter = retryAfter
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		c, err := graph.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f := newFakeGraph(t)
	f.tokenStatus, f.tokenBody = http.StatusServiceUnavailable, "try later"
	held := client(f, time.Hour)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := held.KeepAlive(t.Context(), callID); err == nil || !strings.Contains(err.Error(), "try later") {
				t.Errorf("KeepAlive without a token: %v, want the endpoint's failure", err)
			}
		})
	}
	wg.Wait()
	if n := len(f.tokenRequests()); n != 1 {
		t.Errorf("20 calls asked the failing token endpoint %d times, want once", n)
	}

	f = newFakeGraph(t)
	f.tokenStatus, f.tokenBody = http.StatusServiceUnavailable, "try later"
	eager := client(f, -1)
	for range 3 {
		eager.KeepAlive(t.Context(), callID)
	}
	if n := len(f.tokenRequests()); n != 3 {
		t.Errorf("with a negative TokenRetryAfter, 3 calls asked %d times, want 3", n)
	}

	f = newFakeGraph(t, reply{status: http.StatusOK})
	f.tokenStatus, f.tokenBody = http.StatusServiceUnavailable, "try later"
	brief := client(f, 200*time.Millisecond)
	if err := brief.KeepAlive(t.Context(), callID); err == nil {
		t.Fatal("KeepAlive succeeded without a token")
	}
	f.mu.Lock()
	f.tokenStatus = 0 // the endpoint is back
	f.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	if err := brief.KeepAlive(t.Context(), callID); err != nil {
		t.Fatalf("KeepAlive after the endpoint came back: %v", err)
	}
	if n := len(f.tokenRequests()); n != 2 {
		t.Errorf("the token endpoint was asked %d times, want twice", n)
	}
}
