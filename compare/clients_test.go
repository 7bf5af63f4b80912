package compare

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"

	"otcompat/clients"
	"otcompat/fixtures"
)

const (
	ua722 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/7.2.2 Chrome/120.0.6099.291 Electron/28.3.3 Safari/537.36"
	ua810 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/8.1.0 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36"
)

// TestClientColumns: "what does App 7.2.2 see, and App 8.1.0?" against a
// proxy whose rule serves Apps from 7.3.0 on the newest version.
func TestClientColumns(t *testing.T) {
	rules := &clients.Rules{Trusted: clients.DefaultTrusted, List: []clients.Rule{{Name: "app-knows-badrun",
		UserAgent: &clients.UserAgent{Product: "Opentrons", Version: ">= 7.3.0",
			Constraints: version.MustConstraints(version.NewConstraint(">= 7.3.0"))},
		Serve: clients.Serve{Newest: true}}}}
	target, up := startProxyWithRules(t, fixtures.NewServer(fixtures.Default()), rules)
	direct := source("http://robot-server", up)
	o := Options{Target: source("http://otcompat", target), Direct: &direct, Method: http.MethodGet,
		Paths: []string{"/runs"}, Versions: []string{"3"}, Header: http.Header{}, UserAgent: ua810,
		Clients:    []Client{{"app-7.2.2", ua722, "3"}, {"app-8.1.0", ua810, "3"}, {"no-user-agent", "", "3"}},
		FailOnDiff: []string{"app-7.2.2", "app-8.1.0"}}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	bad := fixtures.Default().BadIDs()
	want := map[string]struct {
		rule, served string
		seesBad      bool
	}{
		"3":             {"app-knows-badrun", "5", true}, // --user-agent is App 8.1.0's
		"app-7.2.2":     {"none", "3", false},
		"app-8.1.0":     {"app-knows-badrun", "5", true},
		"no-user-agent": {"none", "3", false},
	}
	for _, a := range rep.Paths[0].Answers {
		w := want[a.Label()]
		if a.Rule != w.rule || a.ExplainServed != w.served || a.Version != "3" {
			t.Errorf("%s: rule %q served %q version %q, want %q %q 3", a.Label(), a.Rule, a.ExplainServed, a.Version, w.rule, w.served)
		}
		if got := countBad(a.Runs) == len(bad); got != w.seesBad {
			t.Errorf("%s: sees %d bad runs", a.Label(), countBad(a.Runs))
		}
	}
	// The App 8.1.0 column gets the upstream's bytes.
	for _, d := range rep.Paths[0].Diffs {
		if d.Kind == DiffUpstream && d.To == "app-8.1.0" && d.Differ {
			t.Errorf("App 8.1.0 does not get the upstream's answer")
		}
	}
	if f := rep.FailOnDiff; f == nil || !f.Differ {
		t.Errorf("App 7.2.2 and 8.1.0 should answer differently: %+v", f)
	}
	var labels []string
	for _, v := range rep.Versions {
		labels = append(labels, v.Version)
	}
	if !slices.Equal(labels, []string{"3", "app-7.2.2", "app-8.1.0", "no-user-agent"}) {
		t.Errorf("summaries %v", labels)
	}
	var b bytes.Buffer
	if err := WriteText(&b, rep, false); err != nil {
		t.Fatal(err)
	}
	// The tables and summaries; the diffs are the fixtures' whole BadRuns.
	text, _, _ := strings.Cut(b.String(), "\nDifferences\n")
	checkGolden(t, "clients.txt.golden", []byte(text))
	b.Reset()
	if err := WriteHTML(&b, rep); err != nil || !strings.Contains(b.String(), "app-8.1.0 (version 3)") {
		t.Errorf("HTML: %v", err)
	}
}

func TestCheckClients(t *testing.T) {
	base := Options{Target: source("t", "http://x"), Method: "GET", Paths: []string{"/runs"}, Versions: []string{"3", "5"}}
	for _, tc := range []struct {
		clients []Client
		fail    []string
		err     string
	}{
		{[]Client{{"app", "", "3"}}, nil, ""},
		{[]Client{{"app", "", "3"}}, []string{"3", "app"}, ""},
		{[]Client{{"", "", "3"}}, nil, `client name "": want a name without commas or blanks, such as app-8.1.0`},
		{[]Client{{"a,b", "", "3"}}, nil, `client name "a,b": want a name without commas or blanks, such as app-8.1.0`},
		{[]Client{{"app", "", ""}}, nil, `client "app": version "": want an integer or *, as the Opentrons App's 3`},
		{[]Client{{"app", "x\ny", "3"}}, nil, `client "app": the User-Agent has a line break or NUL`},
		{[]Client{{"5", "", "3"}}, nil, `client "5": the name is already a version or another client's`},
		{[]Client{{"a", "", "3"}, {"a", "", "5"}}, nil, `client "a": the name is already a version or another client's`},
		{[]Client{{"a", "", "3"}}, []string{"a", "b"}, `"a,b": version b is not among the compared versions 3,5,a`},
	} {
		o := base
		o.Clients, o.FailOnDiff = tc.clients, tc.fail
		err := o.check()
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.err {
				t.Errorf("%+v: %q, want %q", tc.clients, got, tc.err)
			}
		} else if tc.err != "" {
			t.Errorf("%+v: no error, want %q", tc.clients, tc.err)
		}
	}
}
