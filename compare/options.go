package compare

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Source is a server compare asks.
type Source struct {
	// Name is what reports call it, such as the URL the user gave.
	Name string
	// URL is the base URL requests go to: scheme and host, no path.
	URL    string
	Client *http.Client
}

// Options say what to ask whom.
type Options struct {
	Target Source
	// Direct, if set, is the upstream itself, asked the same requests to
	// show what the target changed.
	Direct   *Source
	Method   string // GET or HEAD
	Paths    []string
	Versions []string
	// Header is sent with every request, besides Opentrons-Version and
	// Otcompat-Explain.
	Header http.Header
	// UserAgent, if set, is the User-Agent of the Versions' requests.
	UserAgent string
	// Clients are asked besides the Versions, each a column of its own.
	Clients []Client
	// FailOnDiff, if set, names two versions whose answers must not differ.
	FailOnDiff []string
}

// Client is a client compare acts as: its requests carry its User-Agent
// (none when empty) and Opentrons-Version, so the target's client rules
// see what they would see from it.
type Client struct {
	Name, UserAgent, Version string
}

// Defaults of the command line.
var (
	DefaultPaths    = []string{"/runs"}
	DefaultVersions = []string{"2", "3", "4", "5", "*"}
)

// CheckMethod refuses anything but GET and HEAD.
func CheckMethod(m string) error {
	if m == http.MethodGet || m == http.MethodHead {
		return nil
	}
	return fmt.Errorf("method %q refused: compare only sends GET or HEAD, so it never changes a robot's state", m)
}

// CheckPath accepts an origin-form path with an optional query.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return fmt.Errorf("path %q: want a path starting with one /, as in /runs or /runs?pageLength=5", p)
	}
	if _, err := url.ParseRequestURI(p); err != nil || strings.ContainsAny(p, " #\t\r\n") {
		return fmt.Errorf("path %q: not a valid request path", p)
	}
	return nil
}

// ParseVersions reads a comma-separated list such as "2,3,4,5,*".
func ParseVersions(s string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if !validVersion(v) {
			return nil, fmt.Errorf("version %q: want an integer or *, as in 2,3,4,5,*", v)
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("version %q given twice", v)
		}
		out = append(out, v)
	}
	return out, nil
}

// validVersion accepts what can go in an Opentrons-Version header: *, or a
// token of digits, letters, dots and dashes (robot-server rejects those it
// does not take, which is worth comparing too).
func validVersion(v string) bool {
	if v == "*" {
		return true
	}
	if v == "" || len(v) > 32 {
		return false
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// ParsePair reads --fail-on-diff "A,B": two different versions of versions.
func ParsePair(s string, versions []string) ([]string, error) {
	a, b, ok := strings.Cut(s, ",")
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if !ok || a == "" || b == "" || strings.Contains(b, ",") || a == b {
		return nil, fmt.Errorf("%q: want two different versions, as in 3,5", s)
	}
	for _, v := range []string{a, b} {
		if !slices.Contains(versions, v) {
			return nil, fmt.Errorf("%q: version %s is not among the compared versions %s", s, v, strings.Join(versions, ","))
		}
	}
	return []string{a, b}, nil
}

// reserved headers are compare's own to set.
var reserved = map[string]string{
	"Opentrons-Version": "use --versions",
	"Otcompat-Explain":  "compare always asks for explanations",
}

// ParseHeader reads "Name: value" as curl's -H does.
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok || name == "" || !isToken(name) {
		return "", "", fmt.Errorf("header %q: want 'Name: value'", s)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return "", "", fmt.Errorf("header %q: the value has a line break or NUL", name)
	}
	name = http.CanonicalHeaderKey(name)
	if why, ok := reserved[name]; ok {
		return "", "", fmt.Errorf("header %s: set by compare itself (%s)", name, why)
	}
	return name, value, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

func (o *Options) check() error {
	if o.Target.Client == nil || o.Target.URL == "" {
		return errors.New("no target")
	}
	if err := CheckMethod(o.Method); err != nil {
		return err
	}
	if len(o.Paths) == 0 || len(o.Versions) == 0 {
		return errors.New("nothing to compare: no paths or no versions")
	}
	for _, p := range o.Paths {
		if err := CheckPath(p); err != nil {
			return err
		}
	}
	seen := slices.Clone(o.Versions)
	for _, c := range o.Clients {
		if err := CheckClient(c); err != nil {
			return err
		}
		if slices.Contains(seen, c.Name) {
			return fmt.Errorf("client %q: the name is already a version or another client's", c.Name)
		}
		seen = append(seen, c.Name)
	}
	if o.FailOnDiff != nil {
		if _, err := ParsePair(strings.Join(o.FailOnDiff, ","), seen); err != nil {
			return err
		}
	}
	return nil
}

// CheckClient accepts a client with a name (no comma or blank, so that
// --fail-on-diff can name it), a version as --versions takes them, and a
// User-Agent that can go in a header.
func CheckClient(c Client) error {
	if c.Name == "" || strings.ContainsAny(c.Name, ", \t\r\n") {
		return fmt.Errorf("client name %q: want a name without commas or blanks, such as app-8.1.0", c.Name)
	}
	if !validVersion(c.Version) {
		return fmt.Errorf("client %q: version %q: want an integer or *, as the Opentrons App's 3", c.Name, c.Version)
	}
	if strings.ContainsAny(c.UserAgent, "\r\n\x00") {
		return fmt.Errorf("client %q: the User-Agent has a line break or NUL", c.Name)
	}
	return nil
}
