package verbs

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// TargetKind says how a redirect or transfer target is reached.
type TargetKind string

// The kinds of Target.
const (
	// TargetPhone is a phone number in E.164 form (+14255550100).
	TargetPhone TargetKind = "phone"
	// TargetUser is a Teams user by object id (a GUID).
	TargetUser TargetKind = "user"
	// TargetUPN is a Teams user by sign-in name (ada@contoso.com); the
	// server looks up the object id before asking Graph.
	TargetUPN TargetKind = "upn"
)

// Target is where a redirect or a transfer sends a call.
type Target struct {
	Kind TargetKind `json:"kind"`
	// ID is the E.164 number, the object id (lower case) or the UPN.
	ID string `json:"id"`
}

// String is the target as a supervisor typed it, normalised.
func (t Target) String() string { return t.ID }

// Errors of ParseTarget; match them with errors.Is.
var (
	ErrNoTarget  = errors.New("a target is required: a phone number such as +14255550100, or a user's id or sign-in name")
	ErrBadTarget = errors.New("not a phone number in E.164 form (+ and country code), a user id or a sign-in name")
)

// ParseTarget reads what a supervisor typed as a target: a phone number
// (E.164; spaces, dashes, dots, parentheses and a "tel:" prefix are
// dropped), a user's object id (a GUID), or a user's sign-in name
// (name@domain). The console validates with it as the supervisor types
// and the server checks again.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Target{}, ErrNoTarget
	case len(s) > 256:
		return Target{}, fmt.Errorf("%w: %d characters is too long", ErrBadTarget, len(s))
	case strings.HasPrefix(strings.ToLower(s), "tel:") || strings.HasPrefix(s, "+"):
		return parsePhone(s)
	case isGUID(s):
		return Target{Kind: TargetUser, ID: strings.ToLower(s)}, nil
	case strings.Contains(s, "@"):
		return parseUPN(s)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && !strings.ContainsRune(" -.()", r) }) < 0:
		return Target{}, fmt.Errorf("%w: %q has no country code; write it as +<country code><number>", ErrBadTarget, s)
	}
	return Target{}, fmt.Errorf("%w: %q", ErrBadTarget, s)
}

func parsePhone(s string) (Target, error) {
	raw := s
	if strings.HasPrefix(strings.ToLower(s), "tel:") {
		s = s[len("tel:"):]
	}
	var digits strings.Builder
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune(" -.()", r):
		default:
			return Target{}, fmt.Errorf("%w: %q has %q, which a phone number cannot", ErrBadTarget, raw, r)
		}
	}
	d := digits.String()
	if !strings.HasPrefix(s, "+") {
		return Target{}, fmt.Errorf("%w: %q has no country code; write it as +<country code><number>", ErrBadTarget, raw)
	}
	if len(d) < 3 || len(d) > 15 || d[0] == '0' {
		return Target{}, fmt.Errorf("%w: %q is not + followed by 3 to 15 digits, the first not 0", ErrBadTarget, raw)
	}
	return Target{Kind: TargetPhone, ID: "+" + d}, nil
}

func parseUPN(s string) (Target, error) {
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return Target{}, fmt.Errorf("%w: %q is not name@domain", ErrBadTarget, s)
	case !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, "."):
		return Target{}, fmt.Errorf("%w: %q has no domain such as contoso.com", ErrBadTarget, s)
	case strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`/\?#"<>`, r)
	}):
		return Target{}, fmt.Errorf("%w: %q has characters a sign-in name cannot", ErrBadTarget, s)
	}
	return Target{Kind: TargetUPN, ID: strings.ToLower(s)}, nil
}

// isGUID reports whether s is a GUID in the 8-4-4-4-12 form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
