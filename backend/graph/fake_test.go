package graph_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/backend/graph"
)

// Credentials the fake token endpoint accepts.
const (
	testTenant   = "contoso-tenant"
	testClientID = "bot-app-id"
	testSecret   = "s3cr3t-never-logged"
)

// reply is one scripted Graph response.
type reply struct {
	status int
	header map[string]string
	body   string
	drop   bool // close the connection without a response
}

// seenRequest is what the fake Graph received.
type seenRequest struct {
	method string
	uri    string // as sent, still escaped
	header http.Header
	body   []byte
}

// fakeGraph is a loopback HTTP server acting as both Entra ID's token
// endpoint (/{tenant}/oauth2/v2.0/token) and Graph (/v1.0/…, /beta/…).
// Graph answers with scripted replies, in order; a request beyond the
// script fails the test.
type fakeGraph struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	tokenTTL    int    // expires_in of issued tokens, seconds
	tokenStatus int    // non-zero: the token endpoint fails with this status…
	tokenBody   string // …and this body
	tokenForms  []map[string]string
	replies     []reply
	requests    []seenRequest
	onRequest   func(n int) // called with the count of Graph requests so far
}

func newFakeGraph(t *testing.T, replies ...reply) *fakeGraph {
	t.Helper()
	f := &fakeGraph{t: t, tokenTTL: 3600, replies: replies}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// One request per connection: the transport then never repeats a
	// request by itself, so the counts below are the client's attempts.
	f.srv.Config.SetKeepAlivesEnabled(false)
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) tokenURL() string {
	return f.srv.URL + "/" + testTenant + "/oauth2/v2.0/token"
}

// config returns a Config for this server with small, fast retry settings.
func (f *fakeGraph) config(version string) graph.Config {
	return graph.Config{
		BaseURL:      f.srv.URL + "/" + version,
		TokenURL:     f.tokenURL(),
		ClientID:     testClientID,
		ClientSecret: testSecret,
		CallbackURI:  "https://bot.contoso.com/api/calls",
		BackoffBase:  time.Millisecond,
		RetryBudget:  5 * time.Second,
		HTTPClient:   &http.Client{Timeout: 10 * time.Second},
	}
}

func (f *fakeGraph) client(version string) *graph.Client {
	f.t.Helper()
	c, err := graph.New(f.config(version))
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/"+testTenant+"/oauth2/v2.0/token" {
		f.serveToken(w, r)
		return
	}
	f.serveGraph(w, r)
}

// serveToken issues "tok-1", "tok-2", … to the right credentials.
func (f *fakeGraph) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	f.mu.Lock()
	f.tokenForms = append(f.tokenForms, form)
	n, ttl, status, body := len(f.tokenForms), f.tokenTTL, f.tokenStatus, f.tokenBody
	f.mu.Unlock()

	if status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, body)
		return
	}
	if form["client_id"] != testClientID || form["client_secret"] != testSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":%d,"access_token":"tok-%d"}`, ttl, n)
}

func (f *fakeGraph) serveGraph(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake graph: read body: %v", err)
	}
	f.mu.Lock()
	f.requests = append(f.requests, seenRequest{r.Method, r.RequestURI, r.Header.Clone(), body})
	n := len(f.requests)
	hook := f.onRequest
	var rep reply
	ok := len(f.replies) > 0
	if ok {
		rep, f.replies = f.replies[0], f.replies[1:]
	}
	f.mu.Unlock()

	if hook != nil {
		hook(n)
	}
	if !ok {
		f.t.Errorf("fake graph: unexpected request %d: %s %s", n, r.Method, r.RequestURI)
		http.Error(w, "unexpected request", http.StatusTeapot)
		return
	}
	if rep.drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Errorf("fake graph: hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (f *fakeGraph) seen() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.requests...)
}

func (f *fakeGraph) tokenRequests() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.tokenForms...)
}

// graphError returns Graph's JSON error body.
func graphError(code, message, requestID string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]string{"request-id": requestID, "date": "2024-05-01T10:00:00"},
	}})
	return string(b)
}

// throttled is a 429 reply asking to wait retryAfter.
func throttled(retryAfter string) reply {
	return reply{status: http.StatusTooManyRequests,
		header: map[string]string{"Retry-After": retryAfter, "Content-Type": "application/json"},
		body:   graphError("TooManyRequests", "Too many requests", "req-429")}
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}

// callJSON is a call resource as Graph returns it from GET.
const callJSON = `{"@odata.type":"#microsoft.graph.call","id":"57dab8b1-894c-409a-b240-bd8beae78896","state":"established","direction":"incoming","callChainId":"chain-1"}`

func methodsAndURIs(reqs []seenRequest) string {
	var parts []string
	for _, r := range reqs {
		parts = append(parts, r.method+" "+r.uri)
	}
	return strings.Join(parts, "; ")
}
