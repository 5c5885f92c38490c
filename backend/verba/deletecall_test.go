package verba

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"switchboard/backend/audit"
	"switchboard/backend/natstest"
)

// TestDeleteCall runs every parameter path of DeleteCall by GET and POST,
// answered in XML and in JSON, each against the fixture's calls.
func TestDeleteCall(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	long := strings.Repeat("x", maxValueLen+1)
	cases := []struct {
		name   string
		key    string   // fixture key name; "-" sends none; "?" an unknown one
		params []string // besides action and apiKey
		noAct  bool     // leave action out
		status int
		errHas string // in ErrorMessage
		msgHas string // in Message
		erased []string
		marked []string
	}{
		{name: "callID of an ended call is deleted now", key: "open", params: []string{"callID", "c-ended1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "callID of a live call is marked", key: "open", params: []string{"callID", "c-live1"}, status: 200, msgHas: "marked for deletion", marked: []string{"c-live1"}},
		{name: "callID already marked", key: "open", params: []string{"callID", "c-marked"}, status: 200, msgHas: "already marked", marked: []string{"c-marked"}},
		{name: "callID ignores letter case", key: "open", params: []string{"callID", "C-ENDED1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "platformCallID is the chain id", key: "open", params: []string{"platformCallID", "chain-1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "nativeID is the bot's participant id", key: "open", params: []string{"nativeID", "part-1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "meetingID is the join id", key: "open", params: []string{"meetingID", "MEET1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "platformCallID shared by two calls", key: "open", params: []string{"platformCallID", "chain-shared"}, status: 409, errHas: "2 calls match"},
		{name: "unknown callID", key: "open", params: []string{"callID", "nope"}, status: 404, errHas: `no call matches callID "nope"`},
		{name: "extension last", key: "open", params: []string{"extension", "8856", "status", "last"}, status: 200, erased: []string{"c-ended2"}},
		{name: "extension status ignores letter case", key: "open", params: []string{"extension", "8856", "status", " LAST "}, status: 200, erased: []string{"c-ended2"}},
		{name: "extension by user id", key: "open", params: []string{"extension", "u-alice", "status", "last"}, status: 200, erased: []string{"c-ended1"}},
		{name: "extension ongoing", key: "open", params: []string{"extension", "8856", "status", "ongoing"}, status: 200, msgHas: "marked", marked: []string{"c-live1"}},
		{name: "extension ongoing,last is ambiguous", key: "open", params: []string{"extension", "8856", "status", "ongoing,last"}, status: 409, errHas: "2 calls match extension"},
		{name: "two ongoing calls", key: "open", params: []string{"extension", "7777", "status", "ongoing"}, status: 409, errHas: "2 calls match"},
		{name: "two calls ended at once", key: "open", params: []string{"extension", "5555", "status", "last"}, status: 409, errHas: "2 calls match"},
		{name: "extension without calls", key: "open", params: []string{"extension", "9999", "status", "ongoing,last"}, status: 404, errHas: `extension "9999" with status ongoing,last`},
		{name: "next arms", key: "open", params: []string{"extension", "9999", "status", "next"}, status: 200, msgHas: "armed"},
		{name: "ongoing,next prefers the ongoing call", key: "open", params: []string{"extension", "8856", "status", "next,ongoing"}, status: 200, marked: []string{"c-live1"}},
		{name: "ongoing,next arms without an ongoing call", key: "open", params: []string{"extension", "9999", "status", "ongoing,next"}, status: 200, msgHas: "armed"},
		{name: "ongoing,next with two ongoing calls", key: "open", params: []string{"extension", "7777", "status", "ongoing,next"}, status: 409, errHas: "2 calls match"},
		{name: "extension without status", key: "open", params: []string{"extension", "8856"}, status: 400, errHas: "extension needs status"},
		{name: "unknown status", key: "open", params: []string{"extension", "8856", "status", "past"}, status: 400, errHas: `unknown status "past"`},
		{name: "empty status item", key: "open", params: []string{"extension", "8856", "status", "last,,next"}, status: 400, errHas: "empty item"},
		{name: "status without extension", key: "open", params: []string{"callID", "c-ended1", "status", "last"}, status: 400, errHas: "status applies only to extension"},
		{name: "two identifiers", key: "open", params: []string{"callID", "c-ended1", "meetingID", "MEET1"}, status: 400, errHas: "got callID and meetingID"},
		{name: "no identifier", key: "open", params: nil, status: 400, errHas: "missing call identifier"},
		{name: "empty identifier counts as absent", key: "open", params: []string{"callID", ""}, status: 400, errHas: "missing call identifier"},
		{name: "identifier given twice", key: "open", params: []string{"callID", "c-ended1", "CALLID", "c-live1"}, status: 400, errHas: "callID is given more than once"},
		{name: "identifier too long", key: "open", params: []string{"callID", long}, status: 400, errHas: "too long"},
		{name: "names ignore letter case", key: "open", params: []string{"CallId", "c-ended1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "unknown parameters are ignored", key: "open", params: []string{"callID", "c-ended1", "_", "1700000000"}, status: 200, erased: []string{"c-ended1"}},
		{name: "missing action", key: "open", noAct: true, params: []string{"callID", "c-ended1"}, status: 400, errHas: "missing parameter action"},
		{name: "unknown action", key: "open", noAct: true, params: []string{"action", "DropCall", "callID", "c-ended1"}, status: 400, errHas: `unknown action "DropCall"`},
		{name: "action ignores letter case", key: "open", noAct: true, params: []string{"action", "deletecall", "callID", "c-ended1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "missing apiKey", key: "-", params: []string{"callID", "c-ended1"}, status: 401, errHas: "missing parameter apiKey"},
		{name: "unknown apiKey", key: "?", params: []string{"callID", "c-ended1"}, status: 401, errHas: "unknown API key"},
		{name: "token required but missing", key: "tok", params: []string{"callID", "c-ended1"}, status: 401, errHas: "requires a token"},
		{name: "wrong token", key: "tok", params: []string{"callID", "c-ended1", "token", "0b6f8a8e-0000-4000-8000-000000000000"}, status: 401, errHas: "unknown token"},
		{name: "network allowed", key: "local", params: []string{"callID", "c-ended1"}, status: 200, erased: []string{"c-ended1"}},
		{name: "network denied", key: "remote", params: []string{"callID", "c-ended1"}, status: 403, errHas: "not accepted from 127.0.0.1"},
	}
	for _, tc := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			for _, rt := range []string{"XML", "json"} {
				t.Run(fmt.Sprintf("%s/%s/%s", tc.name, method, rt), func(t *testing.T) {
					f.store.reset(fixtureCalls())
					p := vals(tc.params...)
					if !tc.noAct {
						p.Set("action", "DeleteCall")
					}
					switch tc.key {
					case "-":
					case "?":
						p.Set("apiKey", "74c8eea0-50c6-40b2-9f3e-252ed501c3c8")
					default:
						p.Set("apiKey", f.keys[tc.key])
					}
					if rt != "XML" { // XML is the default: leave it out
						p.Set("responseType", rt)
					}
					r := f.call(t, method, p, "", "")
					typ := "DeleteCall"
					if tc.noAct && tc.status != http.StatusOK { // action missing or not understood
						typ = ""
					}
					checkReply(t, r, tc.status, typ, tc.errHas, tc.msgHas)
					erased, marked := f.store.effects()
					if !slices.Equal(erased, tc.erased) || !slices.Equal(marked, tc.marked) {
						t.Errorf("erased %v marked %v, want %v and %v", erased, marked, tc.erased, tc.marked)
					}
				})
			}
		}
	}
}

// checkReply checks the status, the envelope's code and type, and that the
// messages hold the expected text (and nothing unexpected).
func checkReply(t *testing.T, r reply, status int, typ, errHas, msgHas string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%+v)", r.status, status, r)
	}
	wantCode := codeOK
	if status != http.StatusOK {
		wantCode = codeError
	}
	if r.Code != wantCode || r.Type != typ {
		t.Errorf("code %d type %q, want %d %q", r.Code, r.Type, wantCode, typ)
	}
	if (errHas == "") != (r.ErrorMessage == "") || !strings.Contains(r.ErrorMessage, errHas) {
		t.Errorf("ErrorMessage %q, want one holding %q", r.ErrorMessage, errHas)
	}
	if !strings.Contains(r.Message, msgHas) {
		t.Errorf("Message %q, want one holding %q", r.Message, msgHas)
	}
}

// TestDeleteAudit checks who-what-which is recorded for a deletion, a
// marking and a refused key, and that nothing of the conversation or of
// the secrets presented is.
func TestDeleteAudit(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	wrongKey := "74c8eea0-50c6-40b2-9f3e-252ed501c3c8"
	for _, p := range [][]string{
		{"apiKey", f.keys["open"], "callID", "c-ended1"},
		{"apiKey", f.keys["local"], "extension", "8856", "status", "ongoing"},
		{"apiKey", wrongKey, "callID", "c-ended2"},
		{"apiKey", f.keys["remote"], "callID", "c-ended2"},
	} {
		f.call(t, http.MethodGet, vals(append(p, "action", "DeleteCall")...), "", "")
	}
	got := f.audit.all()
	want := []audit.Entry{
		{Actor: "apikey:open", Action: audit.ActionDelete, Target: "c-ended1", Outcome: "ok", Detail: "DeleteCall by callID", Remote: "127.0.0.1"},
		{Actor: "apikey:local", Action: audit.ActionMark, Target: "c-live1", Outcome: "ok", Detail: "DeleteCall by extension with status ongoing", Remote: "127.0.0.1"},
		{Actor: "apikey:(unknown)", Action: audit.ActionLoginFailed, Outcome: "unknown API key", Detail: "DeleteCall", Remote: "127.0.0.1"},
		{Actor: "apikey:remote", Action: audit.ActionLoginFailed, Outcome: "this API key is not accepted from 127.0.0.1", Detail: "DeleteCall", Remote: "127.0.0.1"},
	}
	if len(got) != len(want) {
		t.Fatalf("audit has %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].At.Equal(f.clock.now()) {
			t.Errorf("entry %d at %v, want %v", i, got[i].At, f.clock.now())
		}
		got[i].At = want[i].At
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
		s := fmt.Sprintf("%+v", got[i])
		for _, secret := range []string{secretSubject, wrongKey, f.keys["open"], f.keys["remote"]} {
			if strings.Contains(s, secret) {
				t.Errorf("entry %d holds %q", i, secret)
			}
		}
	}
}

// TestDeleteTwice: deleting a deleted call, or one a marking erased when it
// ended, succeeds, by every identifier it had.
func TestDeleteTwice(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	key := f.keys["open"]
	del := func(by, value string) reply {
		return f.call(t, http.MethodPost, vals("action", "DeleteCall", "apiKey", key, by, value), "", "")
	}
	checkReply(t, del("callID", "c-ended1"), 200, "DeleteCall", "", "")
	for _, p := range [][2]string{{"callID", "c-ended1"}, {"platformCallID", "chain-1"}, {"meetingID", "meet1"}, {"nativeID", "part-1"}} {
		checkReply(t, del(p[0], p[1]), 200, "DeleteCall", "", "already deleted")
	}
	checkReply(t, del("callID", "c-live1"), 200, "DeleteCall", "", "marked for deletion")
	f.store.end("c-live1", f.clock.now())
	checkReply(t, del("callID", "c-live1"), 200, "DeleteCall", "", "already deleted")
	checkReply(t, del("callID", "c-never"), 404, "DeleteCall", "no call matches", "")

	if erased, marked := f.store.effects(); !slices.Equal(erased, []string{"c-ended1"}) || !slices.Equal(marked, []string{"c-live1"}) {
		t.Errorf("erased %v marked %v; want the store asked once each", erased, marked)
	}
	var again int
	for _, e := range f.audit.all() {
		if strings.HasSuffix(e.Detail, "already deleted") && e.Action == audit.ActionDelete {
			again++
		}
	}
	if again != 5 {
		t.Errorf("%d audit entries for repeated deletions, want 5", again)
	}
}

// TestStoreFailure: a failing store is a 500 that names no internals.
func TestStoreFailure(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	f.store.mu.Lock()
	f.store.fail = fmt.Errorf("disk on fire at /var/lib/x")
	f.store.mu.Unlock()
	r := f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", f.keys["open"], "callID", "c-ended1"), "", "")
	checkReply(t, r, 500, "DeleteCall", "internal error", "")
	if strings.Contains(r.ErrorMessage, "disk") {
		t.Errorf("ErrorMessage %q reveals the internal error", r.ErrorMessage)
	}
}
