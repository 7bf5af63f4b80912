package clients

import (
	"strings"

	"golang.org/x/net/http/httpguts"
)

// ProductVersion returns the version of the first product token named
// product (compared without regard to case) in a User-Agent value: the
// product tokens of RFC 9110 section 10.1.5, "name/version" separated by
// whitespace, with comments in parentheses between them. A token without a
// version gives "". ok is false when no token has that name, and also when
// the value is malformed before the token is reached (an unclosed comment,
// a token with an empty name, or a character a token cannot hold): a
// malformed User-Agent never matches, so a rule never pins a version on a
// guess.
func ProductVersion(ua, product string) (v string, ok bool) {
	for i := 0; i < len(ua); {
		switch c := ua[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '(':
			end, closed := skipComment(ua, i)
			if !closed {
				return "", false
			}
			i = end
		default:
			end := i
			for end < len(ua) && ua[end] != ' ' && ua[end] != '\t' && ua[end] != '(' {
				end++
			}
			name, version, _ := strings.Cut(ua[i:end], "/")
			if !httpguts.ValidHeaderFieldName(name) || (version != "" && !httpguts.ValidHeaderFieldName(version)) {
				return "", false
			}
			if strings.EqualFold(name, product) {
				return version, true
			}
			i = end
		}
	}
	return "", false
}

// skipComment returns the index after the comment opening at ua[i] ("(")
// and whether it was closed. Comments nest, and a backslash quotes the next
// character, as RFC 9110 section 5.6.5 says.
func skipComment(ua string, i int) (end int, closed bool) {
	depth := 0
	for ; i < len(ua); i++ {
		switch ua[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(ua), false
}
