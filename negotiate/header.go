// Package negotiate reads the Opentrons-Version request header and decides
// which API version the proxy serves. It knows nothing of routes or JSON.
package negotiate

import (
	"math"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"
)

// Header is the request and response header that names the API version.
const Header = "Opentrons-Version"

// MinVersion is robot-server's oldest supported version; requests below it are
// the upstream's to reject.
const MinVersion = 2

// Kind says what a client's Opentrons-Version header held.
type Kind int

const (
	// Missing: no header. robot-server answers 422.
	Missing Kind = iota
	// Invalid: not an integer nor "*", or below MinVersion. robot-server answers 422 or 400.
	Invalid
	// Newest: "*", the newest version there is.
	Newest
	// Number: an integer at or above MinVersion.
	Number
)

// Requested is what a client asked for.
type Requested struct {
	Kind Kind
	// N is the integer asked for when Kind is Number.
	N int
}

// Parse reads a header value the way robot-server does: "*", or an integer
// as Python's int() reads text (surrounding blanks, an optional sign,
// leading zeros and underscores between digits are accepted). Anything the
// upstream would reject is Invalid or Missing, so the proxy leaves it alone.
func Parse(values []string) Requested {
	if len(values) == 0 {
		return Requested{Kind: Missing}
	}
	v := strings.TrimSpace(values[0])
	if v == "*" {
		return Requested{Kind: Newest}
	}
	n, ok := ParseInt(v)
	if !ok || n < MinVersion {
		return Requested{Kind: Invalid}
	}
	return Requested{Kind: Number, N: n}
}

// Saturated stands for every integer too large to matter (even on 32-bit
// ARM boards): any version or page length at or above it.
const Saturated = math.MaxInt32

// ParseInt parses s as Python's int(s) would for a base-10 literal, as
// robot-server (pydantic) reads integer headers and query parameters.
// Values at or above Saturated read as Saturated.
func ParseInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return 0, false
	}
	n := 0
	prevUnderscore := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			if prevUnderscore {
				return 0, false
			}
			prevUnderscore = true
			continue
		case c < '0' || c > '9':
			return 0, false
		}
		prevUnderscore = false
		if n < Saturated/10 {
			n = n*10 + int(c-'0')
		} else {
			n = Saturated
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// Version returns the requested version as a go-version value (nil for
// anything but Number).
func (r Requested) Version() *version.Version {
	if r.Kind != Number {
		return nil
	}
	return cachedVersion(r.N)
}

func intVersion(n int) *version.Version {
	v, err := version.NewVersion(strconv.Itoa(n))
	if err != nil {
		// strconv.Itoa of a non-negative int is always a valid version.
		panic(err)
	}
	return v
}
