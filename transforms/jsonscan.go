package transforms

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
)

// A validating JSON scanner that reads a body once. gjson validates in one
// pass and navigates in others; run lists are the proxy's hot path (up to
// megabytes, on ARM boards), so the list change validates and finds every
// run's position and identity in a single pass, then edits with the helpers
// in jsonedit.go. It follows RFC 8259, and also accepts NaN, Infinity and
// -Infinity, which Python's json.dumps (robot-server) writes for such floats.

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

type scanner struct {
	b       []byte
	depth   int
	escaped bool // the last string read by str held a backslash escape
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) skipSpace(i int) int {
	// Every JSON blank is at most ' ': one comparison passes anything else.
	for i < len(s.b) && s.b[i] <= ' ' && isSpace(s.b[i]) {
		i++
	}
	return i
}

// value validates the value starting at i (no leading space) and returns
// where it ends.
func (s *scanner) value(i int) (int, bool) {
	if i >= len(s.b) {
		return i, false
	}
	switch c := s.b[i]; {
	case c == '"':
		return s.str(i)
	case c == '{':
		return s.object(i, nil)
	case c == '[':
		return s.array(i, nil)
	case c == 't':
		return s.literal(i, "true")
	case c == 'f':
		return s.literal(i, "false")
	case c == 'n':
		return s.literal(i, "null")
	case c == 'N':
		return s.literal(i, "NaN")
	case c == 'I':
		return s.literal(i, "Infinity")
	case c == '-' && i+1 < len(s.b) && s.b[i+1] == 'I':
		return s.literal(i+1, "Infinity")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(i)
	}
	return i, false
}

func (s *scanner) literal(i int, lit string) (int, bool) {
	if len(s.b)-i < len(lit) || string(s.b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

func (s *scanner) digits(i int) int {
	for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
		i++
	}
	return i
}

func (s *scanner) number(i int) (int, bool) {
	if s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && s.b[i] >= '1' && s.b[i] <= '9':
		i = s.digits(i)
	default:
		return i, false
	}
	if i < len(s.b) && s.b[i] == '.' {
		j := s.digits(i + 1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		j := s.digits(i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

// stopsString marks the bytes that end a plain run of string content.
var stopsString = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// A word (eight bytes) at a time, a string's plain content is recognised
// with the "has a zero byte" and "has a byte below n" bit tricks (SWAR); the
// lowest flagged byte is always a real quote, backslash or control character.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// str validates the string starting at i (at its opening quote).
func (s *scanner) str(i int) (int, bool) {
	b := s.b
	i++
	s.escaped = false
	for {
		for i+8 <= len(b) {
			if m := plainMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(b) && !stopsString[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			s.escaped = true
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default:
			i++
		}
	}
}

// plainMask flags (high bit of each byte) the quotes, backslashes and
// control characters among eight string bytes; the lowest flag is exact.
func plainMask(x uint64) uint64 {
	q, bs := x^(swarOnes*'"'), x^(swarOnes*'\\')
	return (((q - swarOnes) &^ q) | ((bs - swarOnes) &^ bs) | ((x - swarOnes*0x20) &^ x)) & swarHighs
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// jsonMember is an object member being read: its key as written (without
// quotes) and where the member and its value start.
type jsonMember struct {
	key               []byte
	start, valueStart int
	keyHasEscape      bool
}

// keyIs compares a member's key with name, unescaping only when the key
// holds an escape (robot-server never writes one).
func (m jsonMember) keyIs(name string) bool {
	if !m.keyHasEscape {
		return string(m.key) == name
	}
	var k string
	return json.Unmarshal(append(append([]byte{'"'}, m.key...), '"'), &k) == nil && k == name
}

// object validates the object at i. Each member's value is read by field
// (s.value when nil), which returns where the value ends.
func (s *scanner) object(i int, field func(m jsonMember) (int, bool)) (int, bool) {
	if s.depth++; s.depth > maxDepth {
		return i, false
	}
	end, ok := s.members(i, field)
	s.depth--
	return end, ok
}

func (s *scanner) members(i int, field func(m jsonMember) (int, bool)) (int, bool) {
	i = s.skipSpace(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(s.b) || s.b[i] != '"' {
			return i, false
		}
		keyEnd, ok := s.str(i)
		if !ok {
			return keyEnd, false
		}
		escaped := s.escaped
		colon := s.skipSpace(keyEnd)
		if colon >= len(s.b) || s.b[colon] != ':' {
			return colon, false
		}
		valueStart := s.skipSpace(colon + 1)
		var end int
		if field != nil {
			// Built only here: most members are nested ones nobody reads.
			end, ok = field(jsonMember{key: s.b[i+1 : keyEnd-1], start: i, valueStart: valueStart, keyHasEscape: escaped})
		} else {
			end, ok = s.value(valueStart)
		}
		if !ok {
			return end, false
		}
		var more bool
		if i, more, ok = s.afterItem(end, '}'); !more {
			return i, ok
		}
	}
}

// afterItem reads what follows an object member or array element ending at
// end: a comma and the next item's start (more), or the closing byte.
func (s *scanner) afterItem(end int, closing byte) (i int, more, ok bool) {
	i = s.skipSpace(end)
	switch {
	case i >= len(s.b):
		return i, false, false
	case s.b[i] == ',':
		return s.skipSpace(i + 1), true, true
	case s.b[i] == closing:
		return i + 1, false, true
	}
	return i, false, false
}

// array validates the array at i. Each element is read by elem (s.value when
// nil), which returns where the element ends.
func (s *scanner) array(i int, elem func(start int) (int, bool)) (int, bool) {
	if s.depth++; s.depth > maxDepth {
		return i, false
	}
	end, ok := s.elements(i, elem)
	s.depth--
	return end, ok
}

func (s *scanner) elements(i int, elem func(start int) (int, bool)) (int, bool) {
	i = s.skipSpace(i + 1)
	if i < len(s.b) && s.b[i] == ']' {
		return i + 1, true
	}
	for {
		var end int
		var ok bool
		if elem != nil {
			end, ok = elem(i)
		} else {
			end, ok = s.value(i)
		}
		if !ok {
			return end, false
		}
		var more bool
		if i, more, ok = s.afterItem(end, ']'); !more {
			return i, ok
		}
	}
}

// validJSON reports whether b is one JSON value, with optional blanks around.
func validJSON(b []byte) bool {
	s := scanner{b: b}
	end, ok := s.value(s.skipSpace(0))
	return ok && s.skipSpace(end) == len(b)
}
