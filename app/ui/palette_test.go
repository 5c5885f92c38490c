package ui

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"switchboard/app/calls"
	"switchboard/app/reasons"
)

// The HTML badges take their colours from web/app.css, the SVG bars from
// palette.go: a state or category must look the same in both.
func TestPaletteMatchesStylesheet(t *testing.T) {
	css, err := os.ReadFile("../../web/app.css")
	if err != nil {
		t.Fatal(err)
	}
	colourOf := func(class string) string {
		m := regexp.MustCompile(`\.` + regexp.QuoteMeta(class) + `\b[^{]*\{\s*--c:\s*(#[0-9a-f]{6})`).FindSubmatch(css)
		if m == nil {
			t.Fatalf("web/app.css has no colour for .%s", class)
		}
		return string(m[1])
	}
	for _, s := range calls.KnownStates {
		class := strings.TrimPrefix(stateClass(s), "state ")
		if got, want := colourOf(class), stateColour(s); got != want {
			t.Errorf(".%s is %s in the stylesheet, %s in the palette", class, got, want)
		}
	}
	for _, c := range reasons.Categories() {
		if got, want := colourOf("cat-"+string(c)), categoryColour(c); got != want {
			t.Errorf(".cat-%s is %s in the stylesheet, %s in the palette", c, got, want)
		}
	}
	if strings.Contains(string(css), "style=") {
		t.Error("the stylesheet mentions inline styles")
	}
}
