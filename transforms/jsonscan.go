package transforms

import (
	"encoding/binary"
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

// sep reads the separator c expected at i (maybe after blanks) and the
// blanks after it, returning where the next token starts. When c is not
// there it returns false and where the first non-blank is.
//
// Callers first try sepFast, which is small enough to inline: a call per
// separator costs more than the common cases take.
func (s *scanner) sep(i int, c byte) (int, bool) {
	i = s.skipSpace(i)
	if i >= len(s.b) || s.b[i] != c {
		return i, false
	}
	return s.skipSpace(i + 1), true
}

// sepFast is sep for the two layouts seen in practice, compact (",") and
// Python's json.dumps (", "); anything else returns false, to call sep.
func (s *scanner) sepFast(i int, c byte) (int, bool) {
	if b := s.b; i+2 < len(b) && b[i] == c {
		j := i + 1
		if b[j] == ' ' {
			j++
		}
		return j, b[j] > ' '
	}
	return i, false
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
		// i <= len(b)-8 rather than i+8 <= len(b): it cannot overflow, so
		// the compiler drops a bounds check of the word load.
		for i <= len(b)-8 {
			w := binary.LittleEndian.Uint64(b[i:])
			if m := plainMask(w); m != 0 {
				// The flag is a byte's high bit (bit 8k+7). Most strings
				// end at the first flag: its byte, read from the word
				// rather than reloaded, is the closing quote.
				z := bits.TrailingZeros64(m)
				i += z / 8
				if byte(w>>(z&^7)) == '"' {
					return i + 1, true
				}
				break // a backslash or a control character: see below
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
//
// Two tests rather than three: x^0x02 maps the control characters
// (0x00-0x1f) onto themselves and '"' (0x22) onto 0x20, and no other byte
// below 0x21, so one "has a byte below 0x21" test finds both. The tricks
// flag false bytes only above a true one, so the OR's lowest flag is exact.
// Each test clears the flags of bytes with their high bit set (&^ qc,
// &^ bs); qc and bs have x's high bits, so one &^ x does it for both.
func plainMask(x uint64) uint64 {
	qc, bs := x^(swarOnes*0x02), x^(swarOnes*'\\')
	return ((qc - swarOnes*0x21) | (bs - swarOnes)) &^ x & swarHighs
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

// is reports whether the member's key, unescaped, is name. Comparing bytes
// with a string conversion in place copies nothing; only a key holding an
// escape (robot-server never writes one) is decoded first.
func (m jsonMember) is(name string) bool {
	if m.keyHasEscape {
		return m.unescapedIs(name)
	}
	return string(m.key) == name
}

// unescapedIs is kept out of line (go:noinline): inlined, it would make is
// too costly to inline at its callers.
//
//go:noinline
func (m jsonMember) unescapedIs(name string) bool {
	return string(jsonString(append(append([]byte{'"'}, m.key...), '"'))) == name
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
		valueStart, ok := s.sepFast(keyEnd, ':')
		if !ok {
			if valueStart, ok = s.sep(keyEnd, ':'); !ok {
				return valueStart, false
			}
		}
		var end int
		switch {
		case field != nil:
			// Built only here: most members are nested ones nobody reads.
			end, ok = field(jsonMember{key: s.b[i+1 : keyEnd-1], start: i, valueStart: valueStart, keyHasEscape: escaped})
		case valueStart < len(s.b) && s.b[valueStart] == '"':
			end, ok = s.str(valueStart) // most values are strings: skip value's dispatch
		default:
			end, ok = s.value(valueStart)
		}
		if !ok {
			return end, false
		}
		// What follows the member: a comma and the next key, or the end.
		if i, ok = s.sepFast(end, ','); !ok {
			i, ok = s.sep(end, ',')
		}
		if ok {
			continue
		}
		if i < len(s.b) && s.b[i] == '}' {
			return i + 1, true
		}
		return i, false
	}
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
		if i, ok = s.sepFast(end, ','); !ok { // as in members
			i, ok = s.sep(end, ',')
		}
		if ok {
			continue
		}
		if i < len(s.b) && s.b[i] == ']' {
			return i + 1, true
		}
		return i, false
	}
}

// validJSON reports whether b is one JSON value, with optional blanks around.
func validJSON(b []byte) bool {
	s := scanner{b: b}
	end, ok := s.value(s.skipSpace(0))
	return ok && s.skipSpace(end) == len(b)
}
