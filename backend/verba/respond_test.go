package verba

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"switchboard/backend/natstest"
	"testing"
)

// TestFormats answers a success, an error and a token in every responseType.
func TestFormats(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	for _, rt := range []string{"XML", "JSON", "TEXT", "HTML", "html", "Text"} {
		t.Run(rt, func(t *testing.T) {
			f.store.reset(fixtureCalls())
			ok := f.call(t, http.MethodGet, vals("action", "DeleteCall", "apiKey", f.keys["open"], "callID", "c-live1", "responseType", rt), "", "")
			checkReply(t, ok, 200, "DeleteCall", "", "marked for deletion")
			bad := f.call(t, http.MethodPost, vals("action", "DeleteCall", "apiKey", f.keys["open"], "callID", "<script>x</script>", "responseType", rt), "", "")
			checkReply(t, bad, 404, "DeleteCall", `no call matches callID "<script>x</script>"`, "")
			tok := f.call(t, http.MethodPost, vals("action", "RequestToken", "apiKey", f.keys["tok"], "responseType", rt), testLogin, testPassword)
			checkReply(t, tok, 200, "RequestToken", "", "")
			if !guidRe.MatchString(tok.Token) {
				t.Errorf("token %q", tok.Token)
			}
		})
	}
}

// raw sends a request as given and returns the status, headers and body.
func raw(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return resp, string(body)
}

// TestExactXML: the success and error bodies are byte for byte the
// recording platform's samples, and escape what they echo.
func TestExactXML(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	cases := []struct {
		query string
		body  string
	}{
		{"action=DeleteCall&apiKey=" + f.keys["open"] + "&callID=c-ended1",
			`<VerbaApi><Response code="0" type="DeleteCall"/></VerbaApi>`},
		{"action=DeleteCall&apiKey=" + f.keys["open"] + "&callID=%3Cx%3E%26%22",
			`<VerbaApi><Response code="2" type="DeleteCall"><ErrorMessage>no call matches callID &#34;&lt;x&gt;&amp;\&#34;&#34;</ErrorMessage></Response></VerbaApi>`},
		{"action=%3Cb%3E&apiKey=k",
			`<VerbaApi><Response code="2"><ErrorMessage>unknown action &#34;&lt;b&gt;&#34;; use DeleteCall, RequestToken or RevokeToken</ErrorMessage></Response></VerbaApi>`},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(http.MethodGet, f.url+"?"+tc.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, body := raw(t, req)
		if body != tc.body {
			t.Errorf("%s:\n got %s\nwant %s", tc.query, body, tc.body)
		}
	}
}

// TestHTTPErrors covers what goes wrong before the parameters are read.
func TestHTTPErrors(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	key := f.keys["open"]
	cases := []struct {
		name        string
		method      string
		query       string
		contentType string
		body        string
		format      format
		status      int
		typ         string
		errHas      string
	}{
		{"PUT is not allowed", http.MethodPut, "action=DeleteCall&responseType=JSON", "", "", formatJSON, 405, "DeleteCall", "method PUT is not allowed"},
		{"DELETE is not allowed", http.MethodDelete, "", "", "", formatXML, 405, "", "use GET or POST"},
		{"body too large", http.MethodPost, "responseType=text", "application/x-www-form-urlencoded",
			"action=DeleteCall&apiKey=" + key + "&callID=c-ended1&pad=" + strings.Repeat("a", MaxBodyBytes), formatText, 413, "", "too large"},
		{"unsupported body", http.MethodPost, "action=DeleteCall", "application/json", `{"callID":"c-ended1"}`, formatXML, 415, "DeleteCall", "unsupported Content-Type"},
		{"malformed query", http.MethodGet, "action=DeleteCall&apiKey=" + key + "&callID=%zz", "", "", formatXML, 400, "DeleteCall", "malformed query string"},
		{"malformed body", http.MethodPost, "", "application/x-www-form-urlencoded", "action=DeleteCall&callID=%zz", formatXML, 400, "", "malformed form body"},
		{"unknown responseType answers in XML", http.MethodGet, "action=DeleteCall&apiKey=" + key + "&callID=c-ended1&responseType=YAML", "", "", formatXML, 400, "DeleteCall", `unknown responseType "YAML"`},
		{"parameter in query and body", http.MethodPost, "action=DeleteCall&apiKey=" + key + "&callID=c-ended1", "application/x-www-form-urlencoded", "callid=c-live1", formatXML, 400, "DeleteCall", "callID is given more than once"},
		{"form body without Content-Type", http.MethodPost, "", "", "action=DeleteCall&apiKey=" + key + "&callID=c-ended1&responseType=json", formatJSON, 200, "DeleteCall", ""},
		{"query and body together", http.MethodPost, "action=DeleteCall&responseType=json", "application/x-www-form-urlencoded", "apiKey=" + key + "&callID=c-ended1", formatJSON, 200, "DeleteCall", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.store.reset(fixtureCalls())
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, f.url+"?"+tc.query, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			r := send(t, req, tc.format)
			checkReply(t, r, tc.status, tc.typ, tc.errHas, "")
			if tc.status == 405 && r.header.Get("Allow") != "GET, POST" {
				t.Errorf("Allow %q", r.header.Get("Allow"))
			}
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", r.header)
			}
		})
	}
}

// TestMultipart posts a multipart form, as curl -F does; files are refused.
func TestMultipart(t *testing.T) {
	f := newFixture(t, natstest.JetStream(t))
	post := func(withFile bool) reply {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for _, kv := range [][2]string{{"action", "DeleteCall"}, {"apiKey", f.keys["open"]}, {"callID", "c-ended1"}, {"responseType", "JSON"}} {
			if err := mw.WriteField(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		if withFile {
			fw, err := mw.CreateFormFile("recording", "a.wav")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write([]byte("RIFF")); err != nil {
				t.Fatal(err)
			}
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, f.url, &b)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return send(t, req, formatJSON)
	}
	checkReply(t, post(false), 200, "DeleteCall", "", "")
	f.store.reset(fixtureCalls())
	checkReply(t, post(true), 400, "DeleteCall", "file uploads are not accepted", "")
}
