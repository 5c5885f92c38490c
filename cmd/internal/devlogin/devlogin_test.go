package devlogin

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
	users := Users(log)
	want := []User{{"alice", "pw-a", "Switchboard.Supervisor"}, {"victor", "pw-v", "Switchboard.Viewer"}}
	if !slices.Equal(users, want) {
		t.Fatalf("demoUsers = %+v, want %+v", users, want)
	}
	tests := []struct {
		users []User
		want  string
	}{
		{users, "victor"},
		{users[:1], "alice"}, // no viewer: whoever there is
	}
	for _, tt := range tests {
		if u, err := PickViewer(tt.users); err != nil || u.Username != tt.want {
			t.Errorf("PickViewer(%+v) = %+v, %v; want %s", tt.users, u, err, tt.want)
		}
	}
	if _, err := PickViewer(nil); err == nil || !strings.Contains(err.Error(), "no demo user") {
		t.Errorf("PickViewer(nil) error = %v", err)
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
