package graphsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	good := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClient},
		"client_secret": {testSecret}, "scope": {GraphScope},
	}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name       string
		tenant     string
		form       url.Values
		basic      []string // client id and secret sent by HTTP Basic
		wantStatus int
		wantError  string
	}{
		{name: "form credentials", tenant: testTenant, form: good, wantStatus: 200},
		{name: "basic credentials", tenant: testTenant, form: with("client_secret", ""),
			basic: []string{testClient, testSecret}, wantStatus: 200},
		{name: "wrong secret", tenant: testTenant, form: with("client_secret", "nope"), wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong basic secret", tenant: testTenant, form: with("client_secret", ""),
			basic: []string{testClient, "nope"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "no secret", tenant: testTenant, form: with("client_secret", ""), wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client", tenant: testTenant, form: with("client_id", "someone-else"), wantStatus: 400, wantError: "unauthorized_client"},
		{name: "no client", tenant: testTenant, form: with("client_id", ""), wantStatus: 400, wantError: "invalid_request"},
		{name: "unknown tenant", tenant: "other-tenant", form: good, wantStatus: 400, wantError: "invalid_tenant"},
		{name: "wrong grant", tenant: testTenant, form: with("grant_type", "password"), wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "wrong scope", tenant: testTenant, form: with("scope", "https://graph.microsoft.com/Calls.Initiate.All"), wantStatus: 400, wantError: "invalid_scope"},
		{name: "no scope", tenant: testTenant, form: with("scope", ""), wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost,
				h.srv.URL+"/"+tt.tenant+"/oauth2/v2.0/token", strings.NewReader(tt.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic != nil {
				req.SetBasicAuth(url.QueryEscape(tt.basic[0]), url.QueryEscape(tt.basic[1]))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if tt.wantError != "" {
				if body["error"] != tt.wantError || body["error_description"] == "" {
					t.Fatalf("error body = %v, want error %q with a description", body, tt.wantError)
				}
				return
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) || body["access_token"] == "" {
				t.Fatalf("token body = %v", body)
			}
			tok := body["access_token"].(string)
			st, _ := doWith(t, http.DefaultClient, "GET", h.srv.URL+"/v1.0/communications/calls/nope", "",
				http.Header{"Authorization": {"Bearer " + tok}})
			if st != http.StatusNotFound {
				t.Fatalf("GET with the issued token = %d, want 404 (authenticated, unknown call)", st)
			}
		})
	}
}

// TestTokenEndpointWithOAuth2Library checks that golang.org/x/oauth2's
// client-credentials flow works in every way it may authenticate.
func TestTokenEndpointWithOAuth2Library(t *testing.T) {
	h := newHarness(t, nil)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleAutoDetect, oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{
			ClientID: testClient, ClientSecret: testSecret, TokenURL: h.sim.TokenURL(),
			Scopes: []string{GraphScope}, AuthStyle: style,
		}
		tok, err := cc.Token(testCtx(t))
		if err != nil {
			t.Fatalf("style %d: Token: %v", style, err)
		}
		if tok.AccessToken == "" || tok.Type() != "Bearer" {
			t.Fatalf("style %d: token = %+v", style, tok)
		}
	}
	bad := clientcredentials.Config{ClientID: testClient, ClientSecret: "wrong", TokenURL: h.sim.TokenURL(), Scopes: []string{GraphScope}}
	_, err := bad.Token(testCtx(t))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("wrong secret: err = %v, want a RetrieveError invalid_client", err)
	}
}

func TestGraphRequiresAccessToken(t *testing.T) {
	h := newHarness(t, nil)
	id := h.incoming(t, CallSpec{})
	if err := h.sim.Establish(testCtx(t), id); err != nil {
		t.Fatal(err)
	}
	// A notification token is signed by the same key but must not open the API.
	notificationToken := strings.TrimPrefix(h.rcv.next(t).auth, "Bearer ")
	tests := []struct {
		name   string
		header http.Header
	}{
		{"no header", nil},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}},
		{"basic scheme", http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}},
		{"garbage token", http.Header{"Authorization": {"Bearer not-a-jwt"}}},
		{"notification token", http.Header{"Authorization": {"Bearer " + notificationToken}}},
	}
	for _, tt := range tests {
		for _, path := range []string{"/v1.0/communications/calls/" + id, "/beta/communications/calls/" + id} {
			st, body := doWith(t, http.DefaultClient, "GET", h.srv.URL+path, "", tt.header)
			if st != http.StatusUnauthorized {
				t.Fatalf("%s %s: status = %d, want 401", tt.name, path, st)
			}
			if e := graphErr(t, body); e.Code != "InvalidAuthenticationToken" {
				t.Fatalf("%s: code = %q", tt.name, e.Code)
			}
		}
	}
	if st, _ := h.do(t, "GET", "/v1.0/communications/calls/"+id, ""); st != http.StatusOK {
		t.Fatalf("with an access token: status = %d, want 200", st)
	}
}
