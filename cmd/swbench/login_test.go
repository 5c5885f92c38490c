package main

import (
	"slices"
	"strings"
	"testing"
)

func TestDemoUsersFromTheServerLog(t *testing.T) {
	const log = `{"time":"2026-11-23T16:22:13Z","level":"WARN","msg":"verba: no API keys configured"}
not json at all
{"time":"2026-11-23T16:22:13Z","level":"INFO","msg":"demo user","username":"alice","password":"pw-a","roles":"Switchboard.Supervisor"}
{"time":"2026-11-23T16:22:13Z","level":"INFO","msg":"demo user","username":"victor","password":"pw-v","roles":"Switchboard.Viewer"}
{"time":"2026-11-23T16:22:13Z","level":"INFO","msg":"Switchboard is listening","username":"nobody"}`
	users := demoUsers(log)
	want := []demoUser{{"alice", "pw-a", "Switchboard.Supervisor"}, {"victor", "pw-v", "Switchboard.Viewer"}}
	if !slices.Equal(users, want) {
		t.Fatalf("demoUsers = %+v, want %+v", users, want)
	}
	tests := []struct {
		users []demoUser
		want  string
	}{
		{users, "victor"},
		{users[:1], "alice"}, // no viewer: whoever there is
	}
	for _, tt := range tests {
		if u, err := pickViewer(tt.users); err != nil || u.Username != tt.want {
			t.Errorf("pickViewer(%+v) = %+v, %v; want %s", tt.users, u, err, tt.want)
		}
	}
	if _, err := pickViewer(nil); err == nil || !strings.Contains(err.Error(), "no demo user") {
		t.Errorf("pickViewer(nil) error = %v", err)
	}
}

func TestLoginFormIsFound(t *testing.T) {
	page := `<form method="post" action="/idp/login?x=1&amp;y=2"><input type="hidden" name="authRequestID" value="abc123">` +
		`<input name="username"><input name="password" type="password"></form>`
	m := loginForm.FindStringSubmatch(page)
	if m == nil || m[1] != "/idp/login?x=1&amp;y=2" || m[2] != "abc123" {
		t.Fatalf("loginForm found %q", m)
	}
}

func TestServerArgsFollowTheBinary(t *testing.T) {
	tests := []struct {
		name       string
		bin        serverBinary
		want, deny []string
	}{
		{"no sign-in", serverBinary{},
			[]string{"--tenant-id", "--graph-url", "--log-level warn"}, []string{"--demo", "--insecure-skip-notification-auth"}},
		{"sign-in through the demo", serverBinary{NeedsSignIn: true, SkipAuthFlag: true},
			[]string{"--demo", "--sim-rate 0", "--auto-answer-after 24h", "--log-level info", "--insecure-skip-notification-auth"}, []string{"--tenant-id"}},
		{"sign-in with a dev identity flag", serverBinary{NeedsSignIn: true, DevIdentityFlag: true},
			[]string{"--dev-identity", "--tenant-id", "--log-level info"}, []string{"--demo"}},
	}
	for _, tt := range tests {
		args := " " + strings.Join(serverArgs(tt.bin, "127.0.0.1:1", "/d"), " ") + " "
		for _, w := range append(tt.want, "--addr 127.0.0.1:1", "--public-url http://127.0.0.1:1", "--data /d") {
			if !strings.Contains(args, " "+w+" ") {
				t.Errorf("%s: args %q lack %q", tt.name, args, w)
			}
		}
		for _, d := range tt.deny {
			if strings.Contains(args, " "+d+" ") {
				t.Errorf("%s: args %q have %q", tt.name, args, d)
			}
		}
	}
}
