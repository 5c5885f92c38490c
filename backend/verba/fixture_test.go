package verba

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"switchboard/app/calls"
	"switchboard/backend/audit"
)

// memStore is the test's call store: it holds calls in memory and records
// what DeleteCall asked of it.
type memStore struct {
	mu     sync.Mutex
	calls  []calls.Call
	erased []string
	marked []string
	fail   error // returned by every method when set
}

func (m *memStore) reset(cs []calls.Call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls, m.erased, m.marked, m.fail = slices.Clone(cs), nil, nil, nil
}

func (m *memStore) Calls(context.Context) ([]calls.Call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls), m.fail
}

func (m *memStore) Erase(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.erased = append(m.erased, id)
	m.calls = slices.DeleteFunc(m.calls, func(c calls.Call) bool { return c.ID == id })
	return nil
}

func (m *memStore) MarkForDeletion(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.marked = append(m.marked, id)
	for i := range m.calls {
		if m.calls[i].ID == id {
			m.calls[i].MarkedForDeletion = true
		}
	}
	return nil
}

// end terminates a call, erasing it if it was marked, as the real store does.
func (m *memStore) end(id string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.calls {
		if m.calls[i].ID == id {
			m.calls[i].State, m.calls[i].EndedAt = calls.Terminated, at
			if m.calls[i].MarkedForDeletion {
				m.calls = slices.Delete(m.calls, i, i+1)
			}
			return
		}
	}
}

func (m *memStore) effects() (erased, marked []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.erased), slices.Clone(m.marked)
}

// memAudit keeps audit entries in memory.
type memAudit struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (a *memAudit) Record(_ context.Context, e audit.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

func (a *memAudit) all() []audit.Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.entries)
}

// clock is the test's adjustable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// t0 is the fixture's reference time.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// secretSubject is a call's content; it must never reach the audit trail.
const secretSubject = "Quarterly numbers, do not share"

func party(phone, id string) calls.Party { return calls.Party{Kind: "phone", Phone: phone, ID: id} }

// fixtureCalls are the calls the HTTP tests look up.
func fixtureCalls() []calls.Call {
	ended := func(id string, end time.Time, ps ...calls.Party) calls.Call {
		return calls.Call{ID: id, State: calls.Terminated, Source: ps[0], Targets: ps[1:],
			StartedAt: end.Add(-3 * time.Minute), EndedAt: end, UpdatedAt: end, Subject: secretSubject}
	}
	live := func(id string, ps ...calls.Party) calls.Call {
		return calls.Call{ID: id, State: calls.Established, Source: ps[0], Targets: ps[1:],
			StartedAt: t0.Add(20 * time.Minute), UpdatedAt: t0.Add(21 * time.Minute), Subject: secretSubject}
	}
	c1 := ended("c-ended1", t0.Add(5*time.Minute), party("+15550001", ""), party("", "u-alice"))
	c1.ChainID, c1.MeetingID, c1.MyParticipantID = "chain-1", "MEET1", "part-1"
	c2 := ended("c-ended2", t0.Add(10*time.Minute), party("8856", ""), party("", "u-bob"))
	c2.ChainID = "chain-2"
	l1 := live("c-live1", party("+15550002", ""), party("8856", ""))
	l1.ChainID = "chain-3"
	l2 := live("c-live2", party("7777", ""), party("", "u-carol"))
	l3 := live("c-live3", party("", "u-dave"), party("7777", ""))
	l2.ChainID, l3.ChainID = "chain-shared", "chain-shared"
	m := live("c-marked", party("4444", ""))
	m.MarkedForDeletion = true
	return []calls.Call{c1, c2, l1, l2, l3, m,
		ended("c-tie1", t0.Add(7*time.Minute), party("5555", "")),
		ended("c-tie2", t0.Add(7*time.Minute), party("", "u-erin"), party("5555", "")),
	}
}

// fixture is a Service behind a loopback HTTP server.
type fixture struct {
	js    jetstream.JetStream
	cfg   Config
	svc   *Service
	url   string
	store *memStore
	audit *memAudit
	clock *clock
	keys  map[string]string // key name → plain key
}

const (
	testLogin    = "crm-bot"
	testPassword = "correct horse battery staple"
)

// newFixture configures the keys open (no token), tok (token required),
// local (only 127.0.0.0/8) and remote (only 10.0.0.0/8), and one API user.
// Its tests send many failing requests from one address on purpose: the
// per-address limits and key lockout are off (abuse_test.go turns them on).
func newFixture(t *testing.T, js jetstream.JetStream) *fixture {
	t.Helper()
	return newFixtureWith(t, js, func(c *Config) {
		c.Limits.PerMinute, c.LockoutAfter = -1, -1
	})
}

// newFixtureWith is newFixture with the configuration adjusted by tweak.
func newFixtureWith(t *testing.T, js jetstream.JetStream, tweak func(*Config)) *fixture {
	t.Helper()
	f := &fixture{js: js, store: &memStore{}, audit: &memAudit{}, clock: &clock{t: t0.Add(30 * time.Minute)},
		keys: map[string]string{}}
	f.store.reset(fixtureCalls())
	var keys []Key
	for _, spec := range []struct {
		name  string
		token bool
		nets  []netip.Prefix
	}{
		{"open", false, nil},
		{"tok", true, nil},
		{"local", false, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8")}},
		{"remote", false, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
	} {
		plain, k, err := NewKey(spec.name, spec.token)
		if err != nil {
			t.Fatalf("NewKey: %v", err)
		}
		k.Networks = spec.nets
		keys = append(keys, k)
		f.keys[spec.name] = plain
	}
	hash, err := HashPassword(testPassword)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	f.cfg = Config{Keys: keys, Users: []User{{Login: testLogin, PasswordHash: hash}},
		Store: f.store, Audit: f.audit, JS: js, Now: f.clock.now,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	tweak(&f.cfg)
	f.serve(t)
	return f
}

// serve starts the fixture's Service behind a loopback HTTP server.
func (f *fixture) serve(t *testing.T) {
	t.Helper()
	var err error
	if f.svc, err = New(t.Context(), f.cfg); err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(f.svc)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/verba/api"
}

// replica is a second Service with the same configuration, sharing the
// NATS, the call store, the audit trail and the clock, as replicas do.
func (f *fixture) replica(t *testing.T) *fixture {
	t.Helper()
	r := *f
	r.serve(t)
	return &r
}

// reply is a decoded envelope, whatever the format.
type reply struct {
	status       int
	header       http.Header
	Code         int
	Type         string
	Token        string
	Message      string
	ErrorMessage string
}

// call sends params by GET (query) or POST (form body) with basic
// credentials when login is set, and decodes the envelope in the format the
// parameters ask for.
func (f *fixture) call(t *testing.T, method string, params url.Values, login, password string) reply {
	t.Helper()
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, f.url, strings.NewReader(params.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, f.url+"?"+params.Encode(), nil)
	}
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if login != "" {
		req.SetBasicAuth(login, password)
	}
	return send(t, req, formatOf(params))
}

// formatOf is the format the parameters ask for (XML if unknown).
func formatOf(params url.Values) format {
	for name, v := range params {
		if strings.EqualFold(name, paramResponseType) && len(v) == 1 {
			f, _ := parseFormat(v[0])
			return f
		}
	}
	return formatXML
}

func send(t *testing.T, req *http.Request, f format) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	r := decode(t, f, resp.Header.Get("Content-Type"), body)
	r.status, r.header = resp.StatusCode, resp.Header
	return r
}

// decode parses a body with the standard library's decoders, after checking
// the Content-Type matches the format.
func decode(t *testing.T, f format, contentType string, body []byte) reply {
	t.Helper()
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", contentType, err)
	}
	want := map[format]string{formatXML: "application/xml", formatJSON: "application/json",
		formatText: "text/plain", formatHTML: "text/html"}[f]
	if mt != want {
		t.Fatalf("Content-Type %q, want %s; body %s", contentType, want, body)
	}
	var r reply
	switch f {
	case formatXML:
		var x struct {
			XMLName  xml.Name `xml:"VerbaApi"`
			Response struct {
				Code         *int   `xml:"code,attr"`
				Type         string `xml:"type,attr"`
				Token        string `xml:"Token"`
				Message      string `xml:"Message"`
				ErrorMessage string `xml:"ErrorMessage"`
			} `xml:"Response"`
		}
		if err := xml.Unmarshal(body, &x); err != nil || x.Response.Code == nil {
			t.Fatalf("XML %s: %v (or no code)", body, err)
		}
		x2 := x.Response
		r = reply{Code: *x2.Code, Type: x2.Type, Token: x2.Token, Message: x2.Message, ErrorMessage: x2.ErrorMessage}
	case formatJSON:
		var j struct {
			VerbaApi struct {
				Response *struct {
					Code         *int
					Type         string
					Token        string
					Message      string
					ErrorMessage string
				}
			}
		}
		if err := json.Unmarshal(body, &j); err != nil || j.VerbaApi.Response == nil || j.VerbaApi.Response.Code == nil {
			t.Fatalf("JSON %s: %v (or no VerbaApi.Response.code)", body, err)
		}
		x := j.VerbaApi.Response
		r = reply{Code: *x.Code, Type: x.Type, Token: x.Token, Message: x.Message, ErrorMessage: x.ErrorMessage}
	case formatText:
		r = fromFields(t, textFields(t, body))
	case formatHTML:
		r = fromFields(t, htmlFields(t, body))
	}
	return r
}

func textFields(t *testing.T, body []byte) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if !ok {
			t.Fatalf("TEXT line %q has no '='", line)
		}
		fields[name] = value
	}
	return fields
}

var ddRe = regexp.MustCompile(`<dd id="(\w+)">([^<]*)</dd>`)

func htmlFields(t *testing.T, body []byte) map[string]string {
	t.Helper()
	if !strings.HasPrefix(string(body), "<!DOCTYPE html>") {
		t.Fatalf("HTML body does not start with a doctype: %s", body)
	}
	fields := map[string]string{}
	for _, m := range ddRe.FindAllStringSubmatch(string(body), -1) {
		fields[m[1]] = html.UnescapeString(m[2])
	}
	return fields
}

func fromFields(t *testing.T, fields map[string]string) reply {
	t.Helper()
	code, err := strconv.Atoi(fields["code"])
	if err != nil {
		t.Fatalf("fields %v: code: %v", fields, err)
	}
	return reply{Code: code, Type: fields["type"], Token: fields["Token"], Message: fields["Message"],
		ErrorMessage: fields["ErrorMessage"]}
}

// vals builds url.Values from name, value pairs (names may repeat).
func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
