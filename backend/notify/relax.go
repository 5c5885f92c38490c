package notify

// relax removes what Graph's reference pages print in their notification
// examples but JSON does not allow: // and /* */ comments ("isMuted": true,
// // will be set to true on mute) and trailing commas before a closing
// brace or bracket ("region": "amer", }). Strings are copied untouched.
// It reports whether anything was removed; a body that still does not
// parse is refused as before.
func relax(in []byte) ([]byte, bool) {
	out := make([]byte, 0, len(in))
	changed := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '"':
			j := stringEnd(in, i)
			out = append(out, in[i:j]...)
			i = j - 1
		case c == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
			changed = true
			if i < len(in) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			end := indexFrom(in, i+2, "*/")
			if end < 0 {
				return in, false
			}
			i = end + 1
			changed = true
			out = append(out, ' ')
		case c == ',' && closesNext(in, i+1):
			changed = true
		default:
			out = append(out, c)
		}
	}
	return out, changed
}

// stringEnd returns the index just after the JSON string starting at i
// (in[i] is its opening quote), or len(in) if it never ends.
func stringEnd(in []byte, i int) int {
	for j := i + 1; j < len(in); j++ {
		switch in[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(in)
}

// closesNext reports whether the next meaningful character from i on (after
// spaces and comments) closes an object or an array.
func closesNext(in []byte, i int) bool {
	for i < len(in) {
		switch c := in[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			end := indexFrom(in, i+2, "*/")
			if end < 0 {
				return false
			}
			i = end + 2
		default:
			return c == '}' || c == ']'
		}
	}
	return false
}

func indexFrom(in []byte, from int, sep string) int {
	for j := from; j+len(sep) <= len(in); j++ {
		if string(in[j:j+len(sep)]) == sep {
			return j
		}
	}
	return -1
}
