package verba

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestParseRequest checks the parser alone: what it builds and which error
// comes first when several are wrong.
func TestParseRequest(t *testing.T) {
	cases := []struct {
		query  string
		want   request
		status int    // 0 when it parses
		errHas string // in the error
	}{
		{query: "action=DeleteCall&apiKey=k&callID=c1",
			want: request{action: actionDeleteCall, apiKey: "k", lookup: lookup{by: paramCallID, value: "c1"}}},
		{query: "ACTION=deletecall&APIKEY=k&Extension=+8856+&STATUS=Next,%20LAST&responsetype=json&TOKEN=t",
			want: request{action: actionDeleteCall, format: formatJSON, apiKey: "k", token: "t",
				lookup: lookup{by: paramExtension, value: "8856", status: statusLast | statusNext}}},
		{query: "action=DeleteCall&apiKey=k&extension=1&status=next,next",
			want: request{action: actionDeleteCall, apiKey: "k", lookup: lookup{by: paramExtension, value: "1", status: statusNext}}},
		{query: "action=RequestToken&apiKey=k&responseType=Html&callID=ignored",
			want: request{action: actionRequestToken, format: formatHTML, apiKey: "k"}},
		{query: "action=RevokeToken&apiKey=k&token=t&responseType=TEXT",
			want: request{action: actionRevokeToken, format: formatText, apiKey: "k", token: "t"}},
		{query: "action=DeleteCall&apiKey=k&callID=c1&foo=1&foo=2",
			want: request{action: actionDeleteCall, apiKey: "k", lookup: lookup{by: paramCallID, value: "c1"}}},

		{query: "", status: 400, errHas: "missing parameter action"},
		{query: "apiKey=k&callID=c1&responseType=json", want: request{format: formatJSON}, status: 400, errHas: "missing parameter action"},
		{query: "action=Delete&apiKey=k", status: 400, errHas: `unknown action "Delete"`},
		{query: "action=DeleteCall&callID=c1", want: request{action: actionDeleteCall}, status: 401, errHas: "missing parameter apiKey"},
		{query: "action=DeleteCall&apiKey=&callID=c1", want: request{action: actionDeleteCall}, status: 401, errHas: "missing parameter apiKey"},
		{query: "action=DeleteCall&apiKey=k&responseType=csv&callID=c1", want: request{action: actionDeleteCall}, status: 400, errHas: `unknown responseType "csv"`},
		{query: "action=DeleteCall&apiKey=k&apikey=k&callID=c1&responseType=json", want: request{action: actionDeleteCall, format: formatJSON},
			status: 400, errHas: "apiKey is given more than once"},
		{query: "action=DeleteCall&action=DeleteCall&apiKey=k&callID=c1", status: 400, errHas: "action is given more than once"},
		{query: "action=DeleteCall&apiKey=k", want: request{action: actionDeleteCall, apiKey: "k"}, status: 400, errHas: "missing call identifier"},
		{query: "action=DeleteCall&apiKey=k&nativeID=n&platformCallID=p", want: request{action: actionDeleteCall, apiKey: "k"},
			status: 400, errHas: "got platformCallID and nativeID"},
		{query: "action=DeleteCall&apiKey=k&extension=1", want: request{action: actionDeleteCall, apiKey: "k"}, status: 400, errHas: "extension needs status"},
		{query: "action=DeleteCall&apiKey=k&extension=1&status=,", want: request{action: actionDeleteCall, apiKey: "k"}, status: 400, errHas: "empty item"},
		{query: "action=DeleteCall&apiKey=k&extension=1&status=ongoing%3Blast", want: request{action: actionDeleteCall, apiKey: "k"}, status: 400, errHas: `unknown status "ongoing;last"`},
		{query: "action=DeleteCall&apiKey=k&meetingID=m&status=last", want: request{action: actionDeleteCall, apiKey: "k"}, status: 400, errHas: "status applies only to extension, not to meetingID"},
		{query: "action=RevokeToken&apiKey=k", want: request{action: actionRevokeToken, apiKey: "k"}, status: 400, errHas: "missing parameter token"},
		{query: "action=DeleteCall&apiKey=k&callID=" + strings.Repeat("a", maxValueLen+1), want: request{action: actionDeleteCall},
			status: 400, errHas: "callID is too long"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseRequest(v)
			var ae *apiError
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("error %v", err)
			case tc.status != 0 && (!errors.As(err, &ae) || ae.status != tc.status || !strings.Contains(ae.msg, tc.errHas)):
				t.Fatalf("error %v, want %d holding %q", err, tc.status, tc.errHas)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzParse holds parseRequest to its contract on any query string: no
// panic, and either a request that satisfies validate or an *apiError with
// a 4xx status and a message.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"action=DeleteCall&apiKey=74c8eea0-50c6-40b2-9f3e-252ed501c3c8&callID=a8343631-9f35-4a3a-83f0-9e81592339fb",
		"action=DeleteCall&apiKey=k&token=t&responseType=JSON&platformCallID=71627389",
		"action=DeleteCall&apiKey=k&nativeID=TRS26140192&responseType=text",
		"action=DeleteCall&apiKey=k&meetingID=WHBFM6DD",
		"action=DeleteCall&apiKey=k&extension=8856&status=ongoing,last,next",
		"action=deletecall&APIKEY=k&Extension=8856&Status=%20Last%20,%20",
		"action=RequestToken&apiKey=k&responseType=html",
		"action=RevokeToken&apiKey=k&token=t",
		"action=DeleteCall&apiKey=k&callID=a&callid=b",
		"action=DeleteCall&apiKey=k&callID=a&extension=b&status=x",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return // the handler answers 400 before parsing
		}
		req, err := parseRequest(v)
		if err == nil {
			if verr := req.validate(); verr != nil {
				t.Fatalf("%q parsed to an invalid request %+v: %v", query, req, verr)
			}
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			t.Fatalf("%q: error %v is not an *apiError", query, err)
		}
		if ae.status != http.StatusBadRequest && ae.status != http.StatusUnauthorized || ae.msg == "" {
			t.Fatalf("%q: error with status %d message %q", query, ae.status, ae.msg)
		}
	})
}
