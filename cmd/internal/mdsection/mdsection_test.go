package mdsection

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEachToolKeepsTheOthersSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.md")
	if err := Write(path, "# Report\n\n", "chaos", "## Faults\nfirst run\n"); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, "# Report\n\n", "soak", "## Soak\nten minutes\n"); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, "# Report\n\n", "chaos", "## Faults\nsecond run\n"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	md := string(data)
	if !strings.HasPrefix(md, "# Report") || strings.Count(md, "# Report") != 1 {
		t.Fatalf("the head is lost or doubled:\n%s", md)
	}
	if strings.Contains(md, "first run") || !strings.Contains(md, "second run") || !strings.Contains(md, "ten minutes") {
		t.Fatalf("a section was lost or not replaced:\n%s", md)
	}
	if strings.Index(md, "second run") > strings.Index(md, "ten minutes") {
		t.Fatalf("a replaced section moved:\n%s", md)
	}
	others, err := Others(path, "chaos")
	if err != nil || strings.Contains(others, "second run") || !strings.Contains(others, "ten minutes") {
		t.Fatalf("others of chaos: %q, %v", others, err)
	}
}
