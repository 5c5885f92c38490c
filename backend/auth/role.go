package auth

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"switchboard/app/verbs"
)

// Role is what a user may do in Switchboard. Each role includes the ones
// below it: admin ⊇ supervisor ⊇ viewer. The empty Role is no role: no
// access at all.
type Role string

// The roles, from least to most.
const (
	// Viewer sees the live calls and why they ended.
	Viewer Role = "viewer"
	// Supervisor also answers, rejects and hangs up calls.
	Supervisor Role = "supervisor"
	// Admin also deletes conversations and reads the audit trail.
	Admin Role = "admin"
)

// Allows reports whether a user with role r may do what needs role need. No
// role and unknown roles allow nothing, and nothing allows an unknown need.
// The order of roles is the action contract's (package verbs).
func (r Role) Allows(need Role) bool {
	return verbs.Role(r).Allows(verbs.Role(need))
}

// Permissions lists, for the console, what role r may do: "view", the
// actions of the action contract the role may take (package verbs:
// "answer", "reject", … "delete"), and "audit". The server checks again
// on every request; this only spares users buttons that would fail.
func (r Role) Permissions() []string {
	var p []string
	if r.Allows(Viewer) {
		p = append(p, "view")
	}
	p = append(p, verbs.Permissions(verbs.Role(r))...)
	if r.Allows(Admin) {
		p = append(p, "audit")
	}
	return p
}

// refusal says in words why role r may not do what needs role need.
func (r Role) refusal(need Role) string {
	what := map[Role]string{
		Viewer:     "see the console",
		Supervisor: "act on calls",
		Admin:      "delete conversations or read the audit trail",
	}[need]
	if what == "" {
		what = fmt.Sprintf("do what needs role %q", need)
	}
	if r == "" {
		return "you have no Switchboard role, so you may not " + what
	}
	return fmt.Sprintf("your role %s may not %s: that needs %s", r, what, need)
}

// ParseRole reads a role name: viewer, supervisor or admin.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Allows(Viewer) {
		return "", fmt.Errorf("auth: unknown role %q (want viewer, supervisor or admin)", s)
	}
	return r, nil
}

// DefaultRoleMap maps the claim values Switchboard suggests registering as
// Entra ID app roles: Switchboard.Viewer, Switchboard.Supervisor and
// Switchboard.Admin.
func DefaultRoleMap() map[string]Role {
	return map[string]Role{
		"Switchboard.Viewer":     Viewer,
		"Switchboard.Supervisor": Supervisor,
		"Switchboard.Admin":      Admin,
	}
}

// ParseRoleMap reads a role map flag value: comma-separated
// claimValue=role pairs, such as
// "Switchboard.Viewer=viewer,Switchboard.Supervisor=supervisor,Switchboard.Admin=admin".
// A claim value is matched exactly, case included (group object ids, app
// role values). Several values may map to one role.
func ParseRoleMap(s string) (map[string]Role, error) {
	m := map[string]Role{}
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		i := strings.LastIndex(pair, "=")
		if i <= 0 {
			return nil, fmt.Errorf("auth: role map entry %q is not claimValue=role", pair)
		}
		value := strings.TrimSpace(pair[:i])
		role, err := ParseRole(pair[i+1:])
		if err != nil {
			return nil, fmt.Errorf("auth: role map entry %q: %w", pair, err)
		}
		if prev, dup := m[value]; dup && prev != role {
			return nil, fmt.Errorf("auth: role map gives %q two roles, %s and %s", value, prev, role)
		}
		m[value] = role
	}
	if len(m) == 0 {
		return nil, errors.New("auth: the role map is empty")
	}
	return m, nil
}

// FormatRoleMap writes m as ParseRoleMap reads it, sorted by claim value.
func FormatRoleMap(m map[string]Role) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + string(m[k]))
	}
	return b.String()
}

// claimValues returns the string values of the claim at path in claims. A
// dotted path reaches into objects, as Keycloak's "realm_access.roles". A
// claim may be a list of strings or one string.
func claimValues(claims map[string]any, path string) []string {
	var v any = claims
	for part := range strings.SplitSeq(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[part]
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return slices.Clone(v)
	default:
		return nil
	}
}

// roleOf returns the highest role that m gives to the values of claim, or
// "" if none matches.
func roleOf(values []string, m map[string]Role) Role {
	var best Role
	for _, v := range values {
		if r, ok := m[v]; ok && r.Allows(Viewer) && (best == "" || r.Allows(best)) {
			best = r
		}
	}
	return best
}

// ErrOverage is returned for an ID token whose role claim was left out
// because the user has too many groups (Entra ID's groups overage).
var ErrOverage = errors.New("auth: the role claim was replaced by a reference to Microsoft Graph (groups overage)")

// checkOverage refuses claims in which Entra ID replaced the role claim by a
// pointer to Graph: "_claim_names" naming the claim (authorization code
// flow), or "hasgroups" for a groups claim (implicit flow). Switchboard
// refuses rather than guess a role from a partial list.
func checkOverage(claims map[string]any, claim string) error {
	top, _, _ := strings.Cut(claim, ".")
	if names, ok := claims["_claim_names"].(map[string]any); ok {
		if _, ok := names[top]; ok {
			return fmt.Errorf("%w: claim %q points to a claim source", ErrOverage, top)
		}
	}
	if top == "groups" {
		if has, _ := claims["hasgroups"].(bool); has {
			return fmt.Errorf("%w: hasgroups is set", ErrOverage)
		}
	}
	return nil
}
