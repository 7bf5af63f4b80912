package clients

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/hashicorp/go-version"
)

// Real-shaped User-Agents of the Opentrons App: Electron's default, the
// Chrome string with the app's "Opentrons/<version>" and "Electron/<version>".
const (
	app630 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/6.3.0 Chrome/108.0.5359.215 Electron/22.3.27 Safari/537.36"
	app722 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/7.2.2 Chrome/120.0.6099.291 Electron/28.3.3 Safari/537.36"
	app730 = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/7.3.0 Chrome/120.0.6099.291 Electron/28.3.3 Safari/537.36"
	app810 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/8.1.0 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36"
	// An alpha build: go-version constraints without a pre-release never
	// match pre-release versions.
	app820alpha = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/8.2.0-alpha.1 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36"
)

func mustConstraint(t testing.TB, s string) version.Constraints {
	t.Helper()
	c, err := version.NewConstraint(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustNets(t testing.TB, entries ...string) *Nets {
	t.Helper()
	var n Nets
	for _, e := range entries {
		if err := n.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return &n
}

// issueRules are the two rules of the issue's contract.
func issueRules(t testing.TB) *Rules {
	return &Rules{Trusted: *mustNets(t, "unix", "127.0.0.1/32"), List: []Rule{
		{Name: "app-knows-badrun", UserAgent: &UserAgent{Product: "Opentrons", Version: ">= 7.3.0",
			Constraints: mustConstraint(t, ">= 7.3.0")}, Serve: Serve{Newest: true}},
		{Name: "touchscreen", Remote: mustNets(t, "127.0.0.1/32", "::1/128"), Serve: Serve{Newest: true}},
	}}
}

func tcp(s string) Addr { return Addr{IP: netip.MustParseAddr(s)} }

func TestMatch(t *testing.T) {
	lab := tcp("192.168.1.20")
	for _, tc := range []struct {
		name string
		req  Request
		want string // the rule's name, "" for none
	}{
		{"app 6.3.0", Request{UserAgent: app630, Peer: lab}, ""},
		{"app 7.2.2", Request{UserAgent: app722, Peer: lab}, ""},
		{"app 7.3.0", Request{UserAgent: app730, Peer: lab}, "app-knows-badrun"},
		{"app 8.1.0", Request{UserAgent: app810, Peer: lab}, "app-knows-badrun"},
		{"app 8.2.0 alpha", Request{UserAgent: app820alpha, Peer: lab}, ""},
		{"no user agent", Request{Peer: lab}, ""},
		{"curl", Request{UserAgent: "curl/8.5.0", Peer: lab}, ""},
		{"product name in any case", Request{UserAgent: "opentrons/8.1.0", Peer: lab}, "app-knows-badrun"},
		{"product in a comment only", Request{UserAgent: "Mozilla/5.0 (Opentrons/8.1.0) Chrome/1", Peer: lab}, ""},
		{"product without version", Request{UserAgent: "Opentrons Chrome/1", Peer: lab}, ""},
		{"version not a version", Request{UserAgent: "Opentrons/eight", Peer: lab}, ""},
		{"unclosed comment before the token", Request{UserAgent: "Mozilla/5.0 (X11; Opentrons/8.1.0", Peer: lab}, ""},
		{"empty name", Request{UserAgent: "/8.1.0 Opentrons/8.1.0", Peer: lab}, ""},
		{"two slashes", Request{UserAgent: "Opentrons/8.1.0/x", Peer: lab}, ""},
		{"quoted parenthesis in a comment", Request{UserAgent: `Mozilla/5.0 (a \) b) Opentrons/8.1.0`, Peer: lab}, "app-knows-badrun"},
		{"nested comment", Request{UserAgent: "Mozilla/5.0 (a (b) c) Opentrons/7.3.1", Peer: lab}, "app-knows-badrun"},
		{"first token counts", Request{UserAgent: "Opentrons/7.0.0 Opentrons/8.1.0", Peer: lab}, ""},
		{"control character", Request{UserAgent: "Opentrons/8.1.0\x00", Peer: lab}, ""},
		// The touchscreen talks to robot-server on the robot itself,
		// through nginx, which forwards its loopback address.
		{"touchscreen through nginx on the socket", Request{Peer: Addr{Unix: true}, XForwardedFor: []string{"127.0.0.1"}}, "touchscreen"},
		{"touchscreen through nginx on loopback", Request{Peer: tcp("127.0.0.1"), XForwardedFor: []string{"127.0.0.1"}}, "touchscreen"},
		// A trusted proxy is not the client: talking to the proxy directly
		// from loopback does not pass for the touchscreen.
		{"direct from trusted loopback", Request{Peer: tcp("127.0.0.1")}, ""},
		{"direct from trusted loopback, App 7.2.2", Request{UserAgent: app722, Peer: tcp("127.0.0.1")}, ""},
		// ::1 is not among these trusted proxies: it is the client.
		{"direct from untrusted ::1", Request{Peer: tcp("::1")}, "touchscreen"},
		{"lab client through nginx", Request{Peer: Addr{Unix: true}, XForwardedFor: []string{"192.168.1.20"}}, ""},
		{"lab client claiming loopback", Request{Peer: Addr{Unix: true}, XForwardedFor: []string{"127.0.0.1, 192.168.1.20"}}, ""},
		{"untrusted peer's header ignored", Request{Peer: lab, XForwardedFor: []string{"127.0.0.1"}}, ""},
		{"socket without header: no address to match", Request{Peer: Addr{Unix: true}}, ""},
		{"malformed forwarded entry", Request{Peer: Addr{Unix: true}, XForwardedFor: []string{"localhost"}}, ""},
		{"app 8.1.0 through nginx from the lab", Request{UserAgent: app810, Peer: Addr{Unix: true}, XForwardedFor: []string{"192.168.1.20"}}, "app-knows-badrun"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if r := issueRules(t).Match(tc.req); r != nil {
				got = r.Name
			}
			if got != tc.want {
				t.Errorf("matched %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMatchAllConditions(t *testing.T) {
	rs := &Rules{Trusted: DefaultTrusted, List: []Rule{{
		Name:      "lab-app",
		UserAgent: &UserAgent{Product: "Opentrons", Constraints: mustConstraint(t, ">= 8, < 9")},
		Remote:    mustNets(t, "10.0.0.0/8"),
		Header:    &Header{Name: "X-Lab", Value: "a"},
		Serve:     Serve{Version: 4},
	}}}
	hdr := func(v ...string) http.Header { return http.Header{"X-Lab": v} }
	for _, tc := range []struct {
		name string
		req  Request
		want bool
	}{
		{"all hold", Request{UserAgent: app810, Peer: tcp("10.1.2.3"), Header: hdr("a")}, true},
		{"mapped v4 address", Request{UserAgent: app810, Peer: tcp("::ffff:10.1.2.3"), Header: hdr("a")}, true},
		{"one of several values", Request{UserAgent: app810, Peer: tcp("10.1.2.3"), Header: hdr("b", "a")}, true},
		{"wrong version", Request{UserAgent: app722, Peer: tcp("10.1.2.3"), Header: hdr("a")}, false},
		{"wrong address", Request{UserAgent: app810, Peer: tcp("11.1.2.3"), Header: hdr("a")}, false},
		{"wrong header value", Request{UserAgent: app810, Peer: tcp("10.1.2.3"), Header: hdr("A")}, false},
		{"no header", Request{UserAgent: app810, Peer: tcp("10.1.2.3")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rs.Match(tc.req) != nil; got != tc.want {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMatchFirstWins(t *testing.T) {
	rs := &Rules{List: []Rule{
		{Name: "eight", UserAgent: &UserAgent{Product: "Opentrons", Constraints: mustConstraint(t, ">= 8")}, Serve: Serve{Version: 4}},
		{Name: "seven-up", UserAgent: &UserAgent{Product: "Opentrons", Constraints: mustConstraint(t, ">= 7.3")}, Serve: Serve{Newest: true}},
	}}
	for ua, want := range map[string]string{app810: "eight", app730: "seven-up"} {
		if r := rs.Match(Request{UserAgent: ua}); r == nil || r.Name != want {
			t.Errorf("%s: matched %v, want %s", ua, r, want)
		}
	}
	var none *Rules
	if none.Match(Request{UserAgent: app810}) != nil || !none.Empty() || none.Len() != 0 {
		t.Error("nil rules matched")
	}
}

func TestClientAddr(t *testing.T) {
	trusted := *mustNets(t, "unix", "127.0.0.0/8", "10.0.0.0/8")
	for _, tc := range []struct {
		name string
		peer Addr
		xff  []string
		want string
	}{
		{"untrusted peer", tcp("192.0.2.1"), []string{"10.0.0.1"}, "192.0.2.1"},
		{"trusted peer without header", tcp("127.0.0.1"), nil, "unknown"},
		{"socket without header", Addr{Unix: true}, nil, "unknown"},
		{"right-most untrusted", Addr{Unix: true}, []string{"203.0.113.9, 192.0.2.1, 10.0.0.2"}, "192.0.2.1"},
		{"across header lines", Addr{Unix: true}, []string{"203.0.113.9", "192.0.2.1", "10.0.0.2, 127.0.0.1"}, "192.0.2.1"},
		{"all trusted: the left-most", Addr{Unix: true}, []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"with ports", Addr{Unix: true}, []string{"[2001:db8::1]:4711, 10.0.0.2:80"}, "2001:db8::1"},
		{"empty entries skipped", Addr{Unix: true}, []string{" , 192.0.2.1 ,"}, "192.0.2.1"},
		{"garbage stops the walk", Addr{Unix: true}, []string{"192.0.2.1, unknown"}, "unknown"},
		{"no peer address", Addr{}, []string{"127.0.0.1"}, "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClientAddr(tc.peer, tc.xff, trusted).String(); got != tc.want {
				t.Errorf("ClientAddr = %s, want %s", got, tc.want)
			}
		})
	}
	if got := ClientAddr(Addr{Unix: true}, []string{"127.0.0.1"}, *mustNets(t, "127.0.0.0/8")).String(); got != "unix" {
		t.Errorf("an untrusted socket peer is %s, want unix", got)
	}
}

func TestProductVersion(t *testing.T) {
	for _, tc := range []struct {
		ua, product, want string
		ok                bool
	}{
		{app810, "Opentrons", "8.1.0", true},
		{app810, "Electron", "32.2.0", true},
		{app810, "Chrome", "128.0.6613.186", true},
		{app810, "KHTML", "", false}, // inside a comment
		{"Opentrons", "Opentrons", "", true},
		{"\tOpentrons/1\t", "Opentrons", "1", true},
		{"", "Opentrons", "", false},
		{"(", "Opentrons", "", false},
		{"a/b/c Opentrons/1", "Opentrons", "", false},
	} {
		v, ok := ProductVersion(tc.ua, tc.product)
		if v != tc.want || ok != tc.ok {
			t.Errorf("ProductVersion(%q, %q) = %q, %v; want %q, %v", tc.ua, tc.product, v, ok, tc.want, tc.ok)
		}
	}
}
