// Package clients decides who is asking: it matches a request's
// User-Agent product tokens, client address and headers against ordered
// rules that pin the API version used to choose which changes to undo. It
// holds no HTTP server code; the proxy hands it what it needs.
package clients

import (
	"net/http"
	"strconv"

	"github.com/hashicorp/go-version"
)

// Serve is the version a rule pins: the newest, or an API version number.
type Serve struct {
	Newest  bool
	Version int
}

func (s Serve) String() string {
	if s.Newest {
		return "newest"
	}
	return strconv.Itoa(s.Version)
}

// UserAgent is a condition on one product token of the User-Agent.
type UserAgent struct {
	Product string
	// Version is the constraint as written, Constraints its parsed form.
	Version     string
	Constraints version.Constraints
}

// Header is a condition on a request header: one of its values equals
// Value exactly.
type Header struct {
	Name, Value string
}

// Rule is one entry of the clients list. Every condition it has must hold;
// a rule has at least one.
type Rule struct {
	Name      string
	UserAgent *UserAgent
	Remote    *Nets
	Header    *Header
	Serve     Serve
}

// Request is what matching looks at.
type Request struct {
	UserAgent string
	// Peer is the connection's other end; XForwardedFor the header's
	// lines, believed only when Peer is a trusted proxy.
	Peer          Addr
	XForwardedFor []string
	Header        http.Header
}

// Rules is the ordered list of rules and the proxies whose
// X-Forwarded-For is believed. The zero Rules has no rules.
type Rules struct {
	List    []Rule
	Trusted Nets
}

// Len is the number of rules; a nil Rules has none.
func (rs *Rules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.List)
}

// Empty reports whether there is no rule: the Opentrons-Version header
// alone decides, as without a configuration file.
func (rs *Rules) Empty() bool { return rs.Len() == 0 }

// Match returns the first rule whose conditions all hold for r, or nil.
// A malformed User-Agent, version token or forwarded address fails the
// condition that needs it and never anything else.
func (rs *Rules) Match(r Request) *Rule {
	if rs.Empty() {
		return nil
	}
	var client Addr
	clientKnown := false
	for i := range rs.List {
		rule := &rs.List[i]
		if ua := rule.UserAgent; ua != nil && !ua.matches(r.UserAgent) {
			continue
		}
		if h := rule.Header; h != nil && !h.matches(r.Header) {
			continue
		}
		if rule.Remote != nil {
			if !clientKnown {
				client, clientKnown = ClientAddr(r.Peer, r.XForwardedFor, rs.Trusted), true
			}
			if !rule.Remote.Contains(client) {
				continue
			}
		}
		return rule
	}
	return nil
}

func (ua *UserAgent) matches(header string) bool {
	s, ok := ProductVersion(header, ua.Product)
	if !ok || s == "" {
		return false
	}
	v, err := version.NewVersion(s)
	if err != nil {
		return false
	}
	return ua.Constraints.Check(v)
}

func (h *Header) matches(header http.Header) bool {
	for _, v := range header.Values(h.Name) {
		if v == h.Value {
			return true
		}
	}
	return false
}
