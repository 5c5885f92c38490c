package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// Identities of the tests.
const (
	testTenant = "11111111-1111-4111-8111-111111111111"
	testClient = "33333333-3333-4333-8333-333333333333"
	testSecret = "correct horse battery staple"
	testApp    = "22222222-2222-4222-8222-222222222222"
)

// waitLimit bounds every wait of the tests; nothing legitimate takes it.
const waitLimit = 10 * time.Second

// receiver is a bot's webhook on loopback that records every notification POST.
type receiver struct {
	srv   *httptest.Server
	posts chan post
	count atomic.Int64
	// status, if set, chooses the answer to the n-th POST (1-based).
	status func(n int64) int
}

// post is one notification POST the receiver got.
type post struct {
	auth string
	body []byte
	env  testEnvelope
}

// testEnvelope decodes a notification envelope independently of the
// package's own types, so that the tests check the wire, not the code.
type testEnvelope struct {
	ODataType string     `json:"@odata.type"`
	Value     []testNote `json:"value"`
}

type testNote struct {
	ODataType    string          `json:"@odata.type"`
	ChangeType   string          `json:"changeType"`
	ResourceURL  string          `json:"resourceUrl"`
	Resource     string          `json:"resource"`
	ResourceData json.RawMessage `json:"resourceData"`
}

// note is the only notification of the post.
func (p post) note(t *testing.T) testNote {
	t.Helper()
	if len(p.env.Value) != 1 {
		t.Fatalf("envelope has %d notifications, want 1: %s", len(p.env.Value), p.body)
	}
	return p.env.Value[0]
}

// callID is the call a notification is about.
func (n testNote) callID() string {
	rest := strings.TrimPrefix(n.ResourceURL, "/communications/calls/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}

func (n testNote) participants() bool { return strings.HasSuffix(n.ResourceURL, "/participants") }

// call decodes the call resource of a call notification.
func (n testNote) call(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(n.ResourceData, &m); err != nil {
		t.Fatalf("resourceData of %s is not a call object: %v: %s", n.ResourceURL, err, n.ResourceData)
	}
	return m
}

func (n testNote) state(t *testing.T) string {
	s, _ := n.call(t)["state"].(string)
	return s
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{posts: make(chan post, 4096)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/api/graph/notifications" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	n := r.count.Add(1)
	body, _ := io.ReadAll(req.Body)
	if r.status != nil {
		if st := r.status(n); st >= 300 {
			w.WriteHeader(st)
			return
		}
	}
	p := post{auth: req.Header.Get("Authorization"), body: body}
	err := json.Unmarshal(body, &p.env)
	if ct := req.Header.Get("Content-Type"); err == nil && ct != "application/json" {
		err = fmt.Errorf("content type %q", ct)
	}
	if err != nil {
		p.env = testEnvelope{} // the test sees an empty envelope and fails
		r.posts <- p
		http.Error(w, "bad notification: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.posts <- p
	w.WriteHeader(http.StatusAccepted)
}

// next returns the next POST, failing the test if none comes in time.
func (r *receiver) next(t *testing.T) post {
	t.Helper()
	select {
	case p := <-r.posts:
		return p
	case <-time.After(waitLimit):
		t.Fatalf("no notification within %v", waitLimit)
		return post{}
	}
}

// nextCall returns the next notification about call id, skipping others.
func (r *receiver) nextCall(t *testing.T, id string) testNote {
	t.Helper()
	for range 1000 {
		if n := r.next(t).note(t); n.callID() == id {
			return n
		}
	}
	t.Fatalf("no notification about %s among 1000", id)
	return testNote{}
}

// none checks that no notification is waiting.
func (r *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-r.posts:
		t.Fatalf("unexpected notification: %s", p.body)
	default:
	}
}

// harness is a Sim served on loopback with a receiver as its callback and
// a Graph client authenticated through the token endpoint.
type harness struct {
	sim   *Sim
	srv   *httptest.Server
	rcv   *receiver
	graph *http.Client // carries access tokens from the sim's token endpoint
}

// newHarness starts a Sim with plain wire (no quirks) unless edit says
// otherwise.
func newHarness(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	rcv := newReceiver(t)
	cfg := Config{
		CallbackURL: rcv.url(), Seed: 42,
		TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret, AppID: testApp,
		PlainWire: true, RetryBackoff: 5 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	if err := sim.SetPublicURL(srv.URL); err != nil {
		t.Fatalf("SetPublicURL: %v", err)
	}
	cc := clientcredentials.Config{
		ClientID: testClient, ClientSecret: testSecret,
		TokenURL: sim.TokenURL(), Scopes: []string{GraphScope},
	}
	return &harness{sim: sim, srv: srv, rcv: rcv, graph: cc.Client(context.Background())}
}

// newServer serves sim on loopback and returns its URL.
func newServer(t *testing.T, sim *Sim) string {
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// testCtx is a context bounded by waitLimit.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// do sends a Graph API request with an access token and returns the status
// and body.
func (h *harness) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	return doWith(t, h.graph, method, h.srv.URL+path, body, nil)
}

func doWith(t *testing.T, c *http.Client, method, url, body string, header http.Header) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, url, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// incoming starts an incoming call and consumes its created notification.
func (h *harness) incoming(t *testing.T, spec CallSpec) string {
	t.Helper()
	id, err := h.sim.StartIncoming(testCtx(t), spec)
	if err != nil {
		t.Fatalf("StartIncoming: %v", err)
	}
	if n := h.rcv.nextCall(t, id); n.ChangeType != "created" || n.state(t) != "incoming" {
		t.Fatalf("first notification is %s/%s, want created/incoming", n.ChangeType, n.state(t))
	}
	return id
}

// established starts an incoming call, establishes it and consumes its
// notifications up to established.
func (h *harness) established(t *testing.T, spec CallSpec) string {
	t.Helper()
	id := h.incoming(t, spec)
	if err := h.sim.Establish(testCtx(t), id); err != nil {
		t.Fatalf("Establish: %v", err)
	}
	h.expectStates(t, id, "updated/establishing", "updated/established")
	return id
}

// expectStates consumes the next notifications of call id and checks their
// changeType/state, in order.
func (h *harness) expectStates(t *testing.T, id string, want ...string) []testNote {
	t.Helper()
	var got []string
	var notes []testNote
	for range want {
		n := h.rcv.nextCall(t, id)
		notes = append(notes, n)
		got = append(got, n.ChangeType+"/"+n.state(t))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("notifications of %s = %q, want %q", id, got, want)
	}
	return notes
}

// graphErr decodes Graph's error body and checks its shape.
func graphErr(t *testing.T, body []byte) graphErrorDetail {
	t.Helper()
	var e graphError
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body is not Graph's error shape: %v: %s", err, body)
	}
	if e.Error.Code == "" || e.Error.Message == "" || e.Error.InnerError.RequestID == "" {
		t.Fatalf("error body lacks code, message or request-id: %s", body)
	}
	if _, err := time.Parse(time.RFC3339, e.Error.InnerError.Date); err != nil {
		t.Fatalf("innerError.date %q is not RFC 3339: %v", e.Error.InnerError.Date, err)
	}
	return e.Error
}

// subset reports where want is not contained in got: every member of every
// object in want must be in got with the same value; arrays must match
// element by element.
func subset(got, want any, path string) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := subset(gv, wv, path+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %d elements", path, got, len(w))
		}
		for i := range w {
			if err := subset(g[i], w[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	default:
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
		return nil
	}
}

// containsJSON fails unless the JSON document got contains the JSON document want.
func containsJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	if err := subset(g, w, "$"); err != nil {
		t.Fatalf("%v\n got: %s", err, got)
	}
}
