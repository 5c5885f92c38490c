package reasons

import (
	"regexp"
	"strconv"
	"testing"
)

// diagCodePattern is the pattern diagCode implements by hand: the test
// holds the two to the same answers.
var diagCodePattern = regexp.MustCompile(`DiagCode:\s*(\d+)#(\d+)`)

func checkDiagCode(t *testing.T, msg string) {
	t.Helper()
	code, subcode, ok := diagCode(msg)
	m := diagCodePattern.FindStringSubmatch(msg)
	if ok != (m != nil) {
		t.Fatalf("diagCode(%q) found = %v, the pattern found = %v", msg, ok, m != nil)
	}
	if m == nil {
		return
	}
	wantCode, _ := strconv.Atoi(m[1])
	wantSub, _ := strconv.Atoi(m[2])
	if code != wantCode || subcode != wantSub {
		t.Fatalf("diagCode(%q) = %d#%d, the pattern says %d#%d", msg, code, subcode, wantCode, wantSub)
	}
}

func TestDiagCodeMatchesThePattern(t *testing.T) {
	for _, msg := range []string{
		"", "DiagCode:", "DiagCode: 500#7117.@", "DiagCode:408#8537", "DiagCode: \t\n500#1",
		"DiagCode: 500-7117", "DiagCode: #1", "DiagCode: 5#", "DiagCode: x DiagCode: 7#8",
		"DiagCode:DiagCode: 1#2", "diagcode: 1#2", "DiagCode: 99999999999999999999#1",
		"DiagCode:\v1#2", "DiagCode: ١#٢", "DiagCode: 1##2 DiagCode: 3#4",
	} {
		checkDiagCode(t, msg)
	}
}

func FuzzDiagCode(f *testing.F) {
	f.Add("Call failed. DiagCode: 500#7117.@")
	f.Add("DiagCode: 1##2 DiagCode: 3#4")
	f.Fuzz(func(t *testing.T, msg string) { checkDiagCode(t, msg) })
}
