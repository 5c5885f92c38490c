package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"switchboard/backend/graphsim"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(options) bool
		fails string
	}{
		{name: "defaults", check: func(o options) bool {
			return o.addr == "127.0.0.1:9090" && o.rate == 10 && o.seed == 1 && o.tenantID == demoTenantID &&
				o.appID == demoAppID && o.clientID == demoAppID && o.incomingTimeout == 15*time.Second
		}},
		{name: "environment", env: map[string]string{"GRAPHSIM_RATE": "2.5", "GRAPHSIM_CALLBACK_URL": "http://bot/hook", "GRAPHSIM_SEED": "9"},
			check: func(o options) bool { return o.rate == 2.5 && o.callbackURL == "http://bot/hook" && o.seed == 9 }},
		{name: "flag wins over environment", args: []string{"--rate", "0", "--app-id=flag-app"},
			env:   map[string]string{"GRAPHSIM_RATE": "30", "GRAPHSIM_APP_ID": "env-app", "GRAPHSIM_TENANT_ID": "env-tenant"},
			check: func(o options) bool { return o.rate == 0 && o.appID == "flag-app" && o.tenantID == "env-tenant" }},
		{name: "bad environment value", env: map[string]string{"GRAPHSIM_RATE": "fast"}, fails: "GRAPHSIM_RATE"},
		{name: "bad flag value", args: []string{"--seed", "x"}, fails: "seed"},
		{name: "stray argument", args: []string{"serve"}, fails: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fails) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.fails)
				}
				return
			}
			if err != nil || !tt.check(o) {
				t.Fatalf("options = %+v, err = %v", o, err)
			}
		})
	}
}

func TestHelpNamesEveryEnvironmentVariable(t *testing.T) {
	var out bytes.Buffer
	_, err := parseOptions([]string{"--help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"addr", "public-url", "callback-url", "rate", "seed", "tenant-id", "client-id", "client-secret", "app-id"} {
		if !strings.Contains(out.String(), "-"+name) || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("--help does not document --%s and %s:\n%s", name, envName(name), out.String())
		}
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(202) }))
	defer hook.Close()
	o, err := parseOptions([]string{"--addr", "127.0.0.1:0", "--callback-url", hook.URL, "--rate", "0"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, slog.New(slog.DiscardHandler), func(u string) { ready <- u }) }()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not listening")
	}

	resp, err := http.Get(base + graphsim.OpenIDConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc.JWKSURI != base+graphsim.JWKSPath {
		t.Fatalf("jwks_uri = %q, want %q", doc.JWKSURI, base+graphsim.JWKSPath)
	}
	cc := clientcredentials.Config{ClientID: demoAppID, ClientSecret: demoSecret,
		TokenURL: base + "/" + demoTenantID + "/oauth2/v2.0/token", Scopes: []string{graphsim.GraphScope}}
	if _, err := cc.Token(ctx); err != nil {
		t.Fatalf("demo credentials refused: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if _, err := http.Get(base + graphsim.JWKSPath); err == nil {
		t.Fatal("still serving after shutdown")
	}
}
