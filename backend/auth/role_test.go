package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestRoleAllows(t *testing.T) {
	roles := []Role{"", Viewer, Supervisor, Admin, "owner"}
	// want[i][j]: roles[i] allows roles[j].
	want := [][]bool{
		{false, false, false, false, false},
		{false, true, false, false, false},
		{false, true, true, false, false},
		{false, true, true, true, false},
		{false, false, false, false, false},
	}
	for i, r := range roles {
		for j, need := range roles {
			if got := r.Allows(need); got != want[i][j] {
				t.Errorf("Role(%q).Allows(%q) = %v, want %v", r, need, got, want[i][j])
			}
		}
	}
}

func TestPermissions(t *testing.T) {
	tests := map[Role]string{
		"":         "",
		Viewer:     "view",
		Supervisor: "view answer reject redirect transfer hangup mute",
		Admin:      "view answer reject redirect transfer hangup mute delete audit",
	}
	for r, want := range tests {
		if got := strings.Join(r.Permissions(), " "); got != want {
			t.Errorf("%q.Permissions() = %q, want %q", r, got, want)
		}
	}
}

func TestParseRoleMap(t *testing.T) {
	tests := []struct {
		in   string
		want string // FormatRoleMap of the result; "" for an error
	}{
		{"Switchboard.Viewer=viewer,Switchboard.Supervisor=supervisor,Switchboard.Admin=admin",
			"Switchboard.Admin=admin,Switchboard.Supervisor=supervisor,Switchboard.Viewer=viewer"},
		{" ops-team = Supervisor , , 3f2a-group-id=ADMIN", "3f2a-group-id=admin,ops-team=supervisor"},
		{"a=viewer,b=viewer", "a=viewer,b=viewer"},
		{"a=viewer,a=viewer", "a=viewer"},
		{"a=viewer,a=admin", ""},
		{"a=owner", ""},
		{"=viewer", ""},
		{"viewer", ""},
		{"", ""},
		{" , ", ""},
	}
	for _, tt := range tests {
		m, err := ParseRoleMap(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseRoleMap(%q) = %v, want an error", tt.in, m)
			}
			continue
		}
		if err != nil || FormatRoleMap(m) != tt.want {
			t.Errorf("ParseRoleMap(%q) = %q, %v; want %q", tt.in, FormatRoleMap(m), err, tt.want)
		}
	}
	if got := FormatRoleMap(DefaultRoleMap()); got != "Switchboard.Admin=admin,Switchboard.Supervisor=supervisor,Switchboard.Viewer=viewer" {
		t.Errorf("default role map %q", got)
	}
}

func TestRoleFromClaims(t *testing.T) {
	m := map[string]Role{"Switchboard.Viewer": Viewer, "Switchboard.Supervisor": Supervisor, "Switchboard.Admin": Admin, "g-ops": Supervisor}
	tests := []struct {
		name   string
		claims map[string]any
		claim  string
		want   Role
	}{
		{"entra app role", map[string]any{"roles": []any{"Switchboard.Supervisor"}}, "roles", Supervisor},
		{"highest wins", map[string]any{"roles": []any{"Switchboard.Viewer", "Switchboard.Admin", "Other"}}, "roles", Admin},
		{"single string", map[string]any{"roles": "Switchboard.Viewer"}, "roles", Viewer},
		{"groups claim", map[string]any{"groups": []any{"g-other", "g-ops"}}, "groups", Supervisor},
		{"nested keycloak claim", map[string]any{"realm_access": map[string]any{"roles": []any{"Switchboard.Admin"}}}, "realm_access.roles", Admin},
		{"case matters", map[string]any{"roles": []any{"switchboard.admin"}}, "roles", ""},
		{"other claim", map[string]any{"groups": []any{"Switchboard.Admin"}}, "roles", ""},
		{"no claim", map[string]any{}, "roles", ""},
		{"not strings", map[string]any{"roles": []any{1, true}}, "roles", ""},
		{"nested path through a string", map[string]any{"realm_access": "x"}, "realm_access.roles", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roleOf(claimValues(tt.claims, tt.claim), m); got != tt.want {
				t.Errorf("role %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckOverage(t *testing.T) {
	overage := map[string]any{
		"_claim_names":   map[string]any{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}},
	}
	tests := []struct {
		name   string
		claims map[string]any
		claim  string
		refuse bool
	}{
		{"groups overage", overage, "groups", true},
		{"groups overage, roles claim used", overage, "roles", false},
		{"hasgroups", map[string]any{"hasgroups": true}, "groups", true},
		{"hasgroups false", map[string]any{"hasgroups": false, "groups": []any{"a"}}, "groups", false},
		{"hasgroups, roles claim used", map[string]any{"hasgroups": true, "roles": []any{"a"}}, "roles", false},
		{"roles overage", map[string]any{"_claim_names": map[string]any{"roles": "src1"}}, "roles", true},
		{"nested claim overage", map[string]any{"_claim_names": map[string]any{"realm_access": "s"}}, "realm_access.roles", true},
		{"plain claims", map[string]any{"groups": []any{"a", "b"}}, "groups", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOverage(tt.claims, tt.claim)
			if (err != nil) != tt.refuse || (err != nil && !errors.Is(err, ErrOverage)) {
				t.Errorf("checkOverage = %v, want refusal: %v", err, tt.refuse)
			}
		})
	}
}

func TestIdentifyRefusesOverage(t *testing.T) {
	a := &Auth{cfg: Config{RoleClaim: "groups", RoleMap: map[string]Role{"g": Admin}}}
	_, err := a.identify(map[string]any{"sub": "s1", "preferred_username": "bob", "groups": []any{"g"}, "hasgroups": true}, "raw")
	var f *loginFailure
	if !errors.As(err, &f) || f.status != 403 || f.actor != "bob" || !strings.Contains(f.page.Message, "Switchboard refuses rather than guess") {
		t.Fatalf("identify with overage: %v", err)
	}
	id, err := a.identify(map[string]any{"sub": "s1", "name": "Bob B", "groups": []any{"g"}}, "raw")
	if err != nil || id.Role != Admin || id.Name != "Bob B" || id.IDToken != "" {
		t.Errorf("identify = %+v, %v", id, err)
	}
}

func TestRefusalMessages(t *testing.T) {
	tests := []struct {
		r, need Role
		want    string
	}{
		{Viewer, Supervisor, "your role viewer may not act on calls: that needs supervisor"},
		{Supervisor, Admin, "your role supervisor may not delete conversations or read the audit trail: that needs admin"},
		{"", Viewer, "you have no Switchboard role, so you may not see the console"},
	}
	for _, tt := range tests {
		if got := tt.r.refusal(tt.need); got != tt.want {
			t.Errorf("refusal(%q, %q) = %q, want %q", tt.r, tt.need, got, tt.want)
		}
	}
}
