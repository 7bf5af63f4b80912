package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"otcompat/clients"
)

// testSchema stands for the command line's flags: any text, a number, a boolean.
var testSchema = &Schema{Settings: map[string]func(string) error{
	"listen": nil,
	"badrun-version": func(s string) error {
		if _, err := strconv.Atoi(s); err != nil {
			return errors.New("not a version number (example: 5)")
		}
		return nil
	},
	"pprof": func(s string) error {
		if _, err := strconv.ParseBool(s); err != nil {
			return errors.New("want true or false")
		}
		return nil
	},
}}

// issueFile is the configuration of the issue that asked for client rules:
// the App from 7.3.0 on and the touchscreen see the newest version.
var issueFile = func() string {
	b, err := os.ReadFile("../testdata/config/issue-rules.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestParseIssueFile(t *testing.T) {
	f, err := testSchema.Parse("otcompat.yaml", []byte("listen: unix:/run/otcompat.sock\nbadrun-version: 5\n"+issueFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Settings["listen"]; got.Value != "unix:/run/otcompat.sock" || got.Pos.String() != "otcompat.yaml:1:9" {
		t.Errorf("listen = %+v", got)
	}
	if got := f.Settings["badrun-version"].Value; got != "5" {
		t.Errorf("badrun-version = %q", got)
	}
	rs := f.Clients
	if len(rs.List) != 2 || rs.List[0].Name != "app-knows-badrun" || rs.List[1].Name != "touchscreen" {
		t.Fatalf("rules = %+v", rs.List)
	}
	if ua := rs.List[0].UserAgent; ua.Product != "Opentrons" || ua.Version != ">= 7.3.0" || !rs.List[0].Serve.Newest {
		t.Errorf("first rule = %+v %+v", rs.List[0], ua)
	}
	if !rs.Trusted.Unix || len(rs.Trusted.Prefixes) != 1 || rs.Trusted.Prefixes[0].String() != "127.0.0.1/32" {
		t.Errorf("trusted = %+v", rs.Trusted)
	}
	if r := rs.Match(clients.Request{UserAgent: "Mozilla/5.0 (X11) Opentrons/8.1.0 Chrome/128.0.6613.186 Electron/32.2.0"}); r == nil || r.Name != "app-knows-badrun" {
		t.Errorf("App 8.1.0 matched %v", r)
	}
}

func TestParseDefaults(t *testing.T) {
	for _, text := range []string{"", "# nothing set\n", "clients: []\n"} {
		f, err := testSchema.Parse("f.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if !f.Clients.Empty() || len(f.Settings) != 0 {
			t.Errorf("%q: %+v", text, f)
		}
		if !f.Clients.Trusted.Unix || len(f.Clients.Trusted.Prefixes) != 2 {
			t.Errorf("%q: trusted proxies %+v, want unix and loopback", text, f.Clients.Trusted)
		}
	}
}

// TestParseErrors: every bad file gets every one of its problems, each
// with file:line:column.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown key", "listen: a\nupstreams: http://x\n",
			[]string{`f.yaml:2:1: unknown key "upstreams"; allowed: badrun-version, changes, clients, listen, pprof, trustedProxies`}},
		{"wrong type", "listen: [a, b]\npprof: maybe\nbadrun-version: five\n", []string{
			`f.yaml:1:9: listen: want a value, not a list`,
			`f.yaml:2:8: pprof: want true or false`,
			`f.yaml:3:17: badrun-version: not a version number (example: 5)`}},
		{"two documents", "listen: a\n---\nbogus: 1\n", []string{`f.yaml:2:1: a second YAML document (after ---): the file is one document`}},
		{"no value", "listen:\n", []string{`f.yaml:1:8: listen: want a value, not no value`}},
		{"not a mapping", "- listen\n", []string{`f.yaml:1:1: the file: want a mapping of keys to values, not a list`}},
		{"duplicate key", "listen: a\nlisten: b\n", []string{`f.yaml:2:1: key "listen" given twice (first on line 1)`}},
		{"not YAML", "listen: [a\n", []string{`f.yaml:2:1: not valid YAML: did not find expected ',' or ']'`}},
		{"bad CIDR", "trustedProxies: [unix, 10.0.0.0/33, localhost]\n", []string{
			`f.yaml:1:24: trustedProxies: "10.0.0.0/33" is not a CIDR prefix (such as 10.0.0.0/8 or ::1/128) nor unix`,
			`f.yaml:1:37: trustedProxies: "localhost" is not a CIDR prefix (such as 10.0.0.0/8 or ::1/128) nor unix`}},
		{"trustedProxies not a list", "trustedProxies: unix\n", []string{
			`f.yaml:1:17: trustedProxies: want a list of CIDR prefixes (such as 127.0.0.1/32) or unix, not "unix"`}},
		{"clients not a list", "clients: {name: a}\n", []string{`f.yaml:1:10: clients: want a list of rules, not a mapping`}},
		{"bad version constraint", "clients:\n  - name: a\n    userAgent: {product: Opentrons, version: \">= seven\"}\n    serve: newest\n", []string{
			`f.yaml:3:46: version ">= seven": not a version constraint (such as ">= 7.3.0" or ">= 6, < 8")`}},
		{"duplicate rule name", "clients:\n  - {name: a, header: {name: X-A, value: b}, serve: newest}\n  - {name: a, remote: [unix], serve: 3}\n", []string{
			`f.yaml:3:5: clients: rule name "a" used twice (first on line 2)`}},
		{"bad rule name", "clients:\n  - {name: App_8, remote: [unix], serve: newest}\n", []string{
			`f.yaml:2:12: name "App_8": use only a-z, 0-9 and -`}},
		{"bad serve", "clients:\n  - {name: a, remote: [unix], serve: latest}\n  - {name: b, remote: [unix], serve: 1}\n  - {name: c, remote: [unix], serve: [3]}\n", []string{
			`f.yaml:2:38: serve "latest": want newest or an API version number of at least 2`,
			`f.yaml:3:38: serve "1": want newest or an API version number of at least 2`,
			`f.yaml:4:38: serve: want a value, not a list`}},
		{"no condition", "clients:\n  - name: everyone\n    serve: newest\n", []string{
			`f.yaml:2:5: rule "everyone": needs a condition (userAgent, remote or header); to change what every client sees, set badrun-version`}},
		{"no serve", "clients:\n  - name: a\n    remote: [unix]\n", []string{`f.yaml:2:5: rule "a": needs serve (newest or an API version number)`}},
		{"no name", "clients:\n  - remote: [unix]\n    serve: 3\n", []string{`f.yaml:2:5: clients: a rule needs a name`}},
		{"unknown rule key", "clients:\n  - {name: a, remote: [unix], serve: 3, version: 3}\n", []string{
			`f.yaml:2:41: unknown key "version" in a rule; allowed: name, userAgent, remote, header, serve`}},
		{"empty remote", "clients:\n  - {name: a, remote: [], serve: 3}\n", []string{
			`f.yaml:2:23: remote: an empty list matches no client; list CIDR prefixes or unix`}},
		{"bad remote", "clients:\n  - {name: a, remote: [1.2.3.4], serve: 3}\n", []string{
			`f.yaml:2:24: remote: "1.2.3.4" is not a CIDR prefix (such as 10.0.0.0/8 or ::1/128) nor unix`}},
		{"userAgent incomplete", "clients:\n  - {name: a, userAgent: {product: Opentrons}, serve: 3}\n  - {name: b, userAgent: {product: \"Open trons\", version: \">= 1\", os: x}, serve: 3}\n", []string{
			`f.yaml:2:26: userAgent: needs product and version`,
			`f.yaml:3:36: product "Open trons": a product name is a token (letters, digits and !#$%&'*+-.^_` + "`" + `|~)`,
			`f.yaml:3:67: unknown key "os" in userAgent; allowed: product, version`}},
		{"bad header", "clients:\n  - {name: a, header: {name: \"X A\", value: b}, serve: 3}\n  - {name: b, header: {name: X-A}, serve: 3}\n", []string{
			`f.yaml:2:30: header name "X A": not a header name`,
			`f.yaml:3:23: header: needs name and value`}},
		{"every problem at once", "listen: [a]\nupstreams: x\nclients:\n  - {name: A, remote: [unix], serve: newest}\n  - {name: b, remote: [unix], serve: zero}\n", []string{
			`f.yaml:1:9: listen: want a value, not a list`,
			`f.yaml:2:1: unknown key "upstreams"; allowed: badrun-version, changes, clients, listen, pprof, trustedProxies`,
			`f.yaml:4:12: name "A": use only a-z, 0-9 and -`,
			`f.yaml:5:38: serve "zero": want newest or an API version number of at least 2`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := testSchema.Parse("f.yaml", []byte(tc.text))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, %v; want errors", f, err)
			}
			if f != nil {
				t.Error("a file with errors was returned")
			}
			if got, want := es.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "otcompat.yaml")
	if _, err := testSchema.Load(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(path, []byte("pprof: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := testSchema.Load(path); err == nil || err.Error() != path+":1:8: pprof: want true or false" {
		t.Errorf("bad file: %v", err)
	}
}

// TestRenderRoundTrip: what Render writes, Parse reads back to the same.
func TestRenderRoundTrip(t *testing.T) {
	text := "listen: \"*\"\nbadrun-version: 5\npprof: true\n" + issueFile +
		"  - {name: lab, header: {name: X-Lab, value: \"yes: really\"}, userAgent: {product: Opentrons, version: \">= 6, < 8\"}, serve: 3}\n"
	f, err := testSchema.Parse("in.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render([]Value{{"listen", f.Settings["listen"].Value, false}, {"badrun-version", "5", true}, {"pprof", "true", true}}, f.Clients)
	if err != nil {
		t.Fatal(err)
	}
	g, err := testSchema.Parse("out.yaml", out)
	if err != nil {
		t.Fatalf("%s\n%v", out, err)
	}
	again, err := Render([]Value{{"listen", g.Settings["listen"].Value, false}, {"badrun-version", g.Settings["badrun-version"].Value, true}, {"pprof", g.Settings["pprof"].Value, true}}, g.Clients)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(out) {
		t.Errorf("second render differs:\n%s\nfirst:\n%s", again, out)
	}
	if !strings.Contains(string(out), "serve: 3\n") || !strings.Contains(string(out), "listen: '*'\n") {
		t.Errorf("render:\n%s", out)
	}
	if len(g.Clients.List) != 3 || g.Clients.List[2].Header.Value != "yes: really" || g.Clients.List[2].UserAgent.Version != ">= 6, < 8" {
		t.Errorf("read back %+v", g.Clients.List)
	}
}
