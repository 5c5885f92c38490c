// Package mdsection lets several tools write one markdown report: each
// tool owns a section between two HTML comments naming it, replaces only
// that section, and keeps the rest of the file as it was. make chaos and
// make soak both write docs/reliability.md this way.
package mdsection

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

func markers(name string) (begin, end string) {
	return "<!-- begin " + name + " -->\n", "<!-- end " + name + " -->\n"
}

// Wrap returns content between the markers of section name.
func Wrap(name, content string) string {
	begin, end := markers(name)
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	return begin + content + end
}

// Others returns the sections of the file at path other than name's,
// markers included, in their order; nothing when the file does not exist.
func Others(path, name string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("mdsection: %w", err)
	}
	var out strings.Builder
	rest := string(data)
	for {
		i := strings.Index(rest, "<!-- begin ")
		if i < 0 {
			return out.String(), nil
		}
		line, _, _ := strings.Cut(rest[i:], "\n")
		section := strings.TrimSuffix(strings.TrimPrefix(line, "<!-- begin "), " -->")
		_, end := markers(section)
		j := strings.Index(rest[i:], end)
		if j < 0 {
			return out.String(), nil // an unterminated section is dropped
		}
		if section != name {
			out.WriteString(rest[i : i+j+len(end)])
		}
		rest = rest[i+j+len(end):]
	}
}

// Write writes section name's content into the file at path: the other
// sections stay, in their order, and name's is replaced where it was, or
// added at the end. head, if the file has none of its own, starts it.
func Write(path, head, name, content string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mdsection: %w", err)
	}
	old := string(data)
	begin, end := markers(name)
	wrapped := Wrap(name, content)
	var md string
	switch i, j := strings.Index(old, begin), strings.Index(old, end); {
	case i >= 0 && j > i:
		md = old[:i] + wrapped + old[j+len(end):]
	case old == "":
		md = head + wrapped
	default:
		md = strings.TrimRight(old, "\n") + "\n\n" + wrapped
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("mdsection: %w", err)
	}
	return nil
}
