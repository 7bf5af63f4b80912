package transforms

import (
	"fmt"
	"strings"
)

// route is one "METHOD /path" a change touches. A segment written {name}
// matches any one non-empty path segment; every other segment matches only
// itself, so "/runs" matches neither "/runs/" nor "/runs/x".
type route struct {
	text     string // as written, for the changelog
	method   string
	segments []string // after the leading "/"; anySegment stands for a {name}
}

// anySegment marks a {name} segment; a literal segment never holds braces.
const anySegment = "{}"

// parseRoute reads "METHOD /path".
func parseRoute(s string) (route, error) {
	method, path, ok := strings.Cut(s, " ")
	if !ok || method == "" || strings.TrimLeft(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return route{}, fmt.Errorf("route %q: want METHOD /path, such as \"GET /runs/{id}\" (method in upper case)", s)
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#") {
		return route{}, fmt.Errorf("route %q: the path must start with / and hold no blank, query or fragment", s)
	}
	r := route{text: s, method: method}
	for _, seg := range strings.Split(path[1:], "/") {
		switch {
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && len(seg) > 2:
			if strings.ContainsAny(seg[1:len(seg)-1], "{}") {
				return route{}, fmt.Errorf("route %q: segment %q is not a {name}", s, seg)
			}
			seg = anySegment
		case strings.ContainsAny(seg, "{}"):
			return route{}, fmt.Errorf("route %q: segment %q: a {name} takes a whole segment", s, seg)
		case seg == "" && path != "/":
			return route{}, fmt.Errorf("route %q: empty path segment", s)
		}
		r.segments = append(r.segments, seg)
	}
	return r, nil
}

// matches reports whether a request's method and decoded path are this
// route's. It allocates nothing: it runs for every request a change's
// version puts in its plan.
func (r *route) matches(method, path string) bool {
	if method != r.method || !strings.HasPrefix(path, "/") {
		return false
	}
	rest := path[1:]
	for i, seg := range r.segments {
		part, tail, more := strings.Cut(rest, "/")
		if more != (i < len(r.segments)-1) {
			return false
		}
		if seg == anySegment {
			if part == "" {
				return false
			}
		} else if part != seg {
			return false
		}
		rest = tail
	}
	return true
}

// routeSet is the routes of one change.
type routeSet []route

// mustRoutes reads the built-in changes' constant routes.
func mustRoutes(texts ...string) routeSet {
	rs := make(routeSet, 0, len(texts))
	for _, t := range texts {
		r, err := parseRoute(t)
		if err != nil {
			panic(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func (rs routeSet) matches(method, path string) bool {
	for i := range rs {
		if rs[i].matches(method, path) {
			return true
		}
	}
	return false
}

// texts lists the routes as written.
func (rs routeSet) texts() []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.text
	}
	return out
}
