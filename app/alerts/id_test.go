package alerts

import (
	"regexp"
	"testing"
)

// idPattern is the rule validID implements by hand.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func TestValidIDMatchesThePattern(t *testing.T) {
	for _, id := range []string{
		"", "a", "-a", "a-", "ringing-2", "Ringing", "a_b", "a b", "é",
		"abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz0123456", "0", "--",
	} {
		if got, want := validID(id), idPattern.MatchString(id); got != want {
			t.Errorf("validID(%q) = %v, the pattern says %v", id, got, want)
		}
	}
}

func FuzzValidID(f *testing.F) {
	f.Add("ringing-2")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validID(id), idPattern.MatchString(id); got != want {
			t.Fatalf("validID(%q) = %v, the pattern says %v", id, got, want)
		}
	})
}
