package config

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/go-version"
	"go.yaml.in/yaml/v4"
	"golang.org/x/net/http/httpguts"

	"otcompat/clients"
	"otcompat/negotiate"
)

// sections are the top-level keys that are not flags, each with the decoder
// that checks its value and puts it into the File. A new section is one
// entry here and its decoder; sections must not depend on each other's
// order in the file.
var sections = map[string]func(d *decoder, n *yaml.Node, f *File){
	"trustedProxies": decodeTrustedProxies,
	"clients":        decodeClients,
}

func decodeTrustedProxies(d *decoder, n *yaml.Node, f *File) {
	f.Clients.Trusted = d.nets(n, "trustedProxies")
}

// nets decodes a list of CIDR prefixes and the word unix. An empty list is
// allowed for trustedProxies (trust no proxy) but not for remote.
func (d *decoder) nets(n *yaml.Node, key string) clients.Nets {
	var nets clients.Nets
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list of CIDR prefixes (such as 127.0.0.1/32) or unix, not %s", key, kindName(n))
		return nets
	}
	for _, e := range n.Content {
		s, ok := d.scalar(e, key)
		if !ok {
			continue
		}
		if err := nets.Add(s); err != nil {
			d.errorf(e, "%s: %q is not a CIDR prefix (such as 10.0.0.0/8 or ::1/128) nor unix", key, s)
		}
	}
	return nets
}

func decodeClients(d *decoder, n *yaml.Node, f *File) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "clients: want a list of rules, not %s", kindName(n))
		return
	}
	names := map[string]int{}
	for _, rn := range n.Content {
		r, ok := d.rule(rn)
		if !ok {
			continue
		}
		if line, dup := names[r.Name]; dup {
			d.errorf(rn, "clients: rule name %q used twice (first on line %d)", r.Name, line)
			continue
		}
		names[r.Name] = rn.Line
		f.Clients.List = append(f.Clients.List, r)
	}
}

// rule decodes one entry of clients; ok is false when it had a problem
// (reported).
func (d *decoder) rule(n *yaml.Node) (r clients.Rule, ok bool) {
	before := len(d.errs)
	hasName, hasServe := false, false
	d.mapping(n, "clients: a rule", func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			hasName = true
			if s, ok := d.scalar(v, "name"); ok {
				r.Name = s
				if !validName(s) {
					d.errorf(v, "name %q: use only a-z, 0-9 and -", s)
				}
			}
		case "userAgent":
			r.UserAgent = d.userAgent(v)
		case "remote":
			nets := d.nets(v, "remote")
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.errorf(v, "remote: an empty list matches no client; list CIDR prefixes or unix")
			}
			r.Remote = &nets
		case "header":
			r.Header = d.header(v)
		case "serve":
			hasServe = true
			if s, ok := d.scalar(v, "serve"); ok {
				r.Serve, ok = parseServe(s)
				if !ok {
					d.errorf(v, "serve %q: want newest or an API version number of at least %d", s, negotiate.MinVersion)
				}
			}
		default:
			d.errorf(k, "unknown key %q in a rule; allowed: name, userAgent, remote, header, serve", key)
		}
	})
	if n.Kind != yaml.MappingNode {
		return r, false
	}
	switch {
	case !hasName:
		d.errorf(n, "clients: a rule needs a name")
	case !hasServe:
		d.errorf(n, "rule %q: needs serve (newest or an API version number)", r.Name)
	case r.UserAgent == nil && r.Remote == nil && r.Header == nil:
		d.errorf(n, "rule %q: needs a condition (userAgent, remote or header); to change what every client sees, set badrun-version", r.Name)
	}
	return r, len(d.errs) == before
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func parseServe(s string) (clients.Serve, bool) {
	if s == "newest" {
		return clients.Serve{Newest: true}, true
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < negotiate.MinVersion || v >= negotiate.Saturated {
		return clients.Serve{}, false
	}
	return clients.Serve{Version: v}, true
}

func (d *decoder) userAgent(n *yaml.Node) *clients.UserAgent {
	ua := &clients.UserAgent{}
	d.pair(n, "userAgent",
		pairField{"product", &ua.Product, func(s string) string {
			if !httpguts.ValidHeaderFieldName(s) {
				return fmt.Sprintf("product %q: a product name is a token (letters, digits and !#$%%&'*+-.^_`|~)", s)
			}
			return ""
		}},
		pairField{"version", &ua.Version, func(s string) string {
			c, err := version.NewConstraint(s)
			if err != nil {
				return fmt.Sprintf("version %q: not a version constraint (such as \">= 7.3.0\" or \">= 6, < 8\")", s)
			}
			ua.Constraints = c
			return ""
		}})
	return ua
}

func (d *decoder) header(n *yaml.Node) *clients.Header {
	h := &clients.Header{}
	d.pair(n, "header",
		pairField{"name", &h.Name, func(s string) string {
			if !httpguts.ValidHeaderFieldName(s) {
				return fmt.Sprintf("header name %q: not a header name", s)
			}
			return ""
		}},
		pairField{"value", &h.Value, func(s string) string {
			if !httpguts.ValidHeaderFieldValue(s) {
				return fmt.Sprintf("header value %q: not a header value", s)
			}
			return ""
		}})
	return h
}

// pairField is one key of a mapping of two required keys: where its value
// goes, and what is wrong with a value ("" for nothing).
type pairField struct {
	key   string
	value *string
	bad   func(string) string
}

// pair decodes a mapping that needs both of its keys, a and b.
func (d *decoder) pair(n *yaml.Node, what string, a, b pairField) {
	fields := [2]pairField{a, b}
	var seen [2]bool
	d.mapping(n, what, func(key string, k, v *yaml.Node) {
		for i, f := range fields {
			if key != f.key {
				continue
			}
			seen[i] = true
			if s, ok := d.scalar(v, key); ok {
				*f.value = s
				if msg := f.bad(s); msg != "" {
					d.errorf(v, "%s", msg)
				}
			}
			return
		}
		d.errorf(k, "unknown key %q in %s; allowed: %s, %s", key, what, a.key, b.key)
	})
	if n.Kind == yaml.MappingNode && !(seen[0] && seen[1]) {
		d.errorf(n, "%s: needs %s and %s", what, a.key, b.key)
	}
}
