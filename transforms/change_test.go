package transforms

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

func v(s string) *version.Version { return version.Must(version.NewVersion(s)) }

// fakeChange is a change introduced in a version, touching the routes given as
// "METHOD /path" (all routes when nil), whose Downgrade appends its name to a
// JSON string body: "\"\"" -> "\"a\"" -> "\"ab\"".
type fakeChange struct {
	name   string
	ver    string
	routes []string
	// outcome, when set, is returned as is instead of the append.
	outcome *Outcome
}

func (f *fakeChange) Name() string              { return f.name }
func (f *fakeChange) Version() *version.Version { return v(f.ver) }
func (f *fakeChange) Description() string       { return "fake " + f.name }
func (f *fakeChange) Applies(method, p string) bool {
	if f.routes == nil {
		return true
	}
	for _, r := range f.routes {
		if r == method+" "+p {
			return true
		}
	}
	return false
}
func (f *fakeChange) Downgrade(in *Input) (Outcome, error) {
	if f.outcome != nil {
		return *f.outcome, nil
	}
	b := string(in.Body)
	return Outcome{Body: BodyOf([]byte(b[:len(b)-1] + f.name + `"`)), Records: []Record{{Action: f.name, Count: 1}}}, nil
}

func names(cs []Change) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Name())
	}
	return strings.Join(s, " ")
}

func TestNewChainOrdersNewestFirst(t *testing.T) {
	c := NewChain(&fakeChange{name: "five", ver: "5"}, &fakeChange{name: "seven", ver: "7"},
		&fakeChange{name: "six", ver: "6"}, &fakeChange{name: "six.five", ver: "6.5"})
	if got := names(c.Changes()); got != "seven six.five six five" {
		t.Errorf("Changes() = %q, want newest first", got)
	}
	if got := c.Newest(); !got.Equal(v("7")) {
		t.Errorf("Newest() = %s, want 7", got)
	}
	if NewChain().Newest() != nil {
		t.Errorf("an empty chain has a newest version")
	}
}

func TestChainPlan(t *testing.T) {
	chain := NewChain(
		&fakeChange{name: "five", ver: "5"},
		&fakeChange{name: "seven", ver: "7", routes: []string{"GET /runs"}},
		&fakeChange{name: "six", ver: "6"},
	)
	tests := []struct {
		client string // "" is nil: the newest version
		method string
		path   string
		want   string
	}{
		{"", "GET", "/runs", ""},
		{"2", "GET", "/runs", "seven six five"},
		{"4", "GET", "/runs", "seven six five"},
		{"4.9", "GET", "/runs", "seven six five"},
		{"5", "GET", "/runs", "seven six"},
		{"5.0", "GET", "/runs", "seven six"},
		{"5.1", "GET", "/runs", "seven six"},
		{"6", "GET", "/runs", "seven"},
		{"7", "GET", "/runs", ""},
		{"8", "GET", "/runs", ""},
		{"4", "POST", "/runs", "six five"}, // seven does not touch POST /runs
		{"6", "POST", "/runs", ""},
	}
	for _, tt := range tests {
		t.Run(tt.client+" "+tt.method+" "+tt.path, func(t *testing.T) {
			var client *version.Version
			if tt.client != "" {
				client = v(tt.client)
			}
			p := chain.Plan(client, tt.method, tt.path)
			if got := names(p); got != tt.want {
				t.Errorf("Plan = %q, want %q", got, tt.want)
			}
			if tt.want == "" && p != nil {
				t.Errorf("an empty plan must be nil (the proxy streams through on nil)")
			}
		})
	}
}

func TestChainPlanBadRunRoutes(t *testing.T) {
	chain := NewChain(NewBadRun(v("5"), Hide))
	tests := []struct {
		method, path string
		want         bool
	}{
		{"GET", "/runs", true},
		{"POST", "/runs", true},
		{"GET", "/runs/8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3", true},
		{"PATCH", "/runs/8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3", true},
		{"GET", "/runs/x", true},
		{"DELETE", "/runs/8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3", false},
		{"PUT", "/runs/8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3", false},
		{"POST", "/runs/8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3", false},
		{"PATCH", "/runs", false},
		{"DELETE", "/runs", false},
		{"HEAD", "/runs", false},
		{"OPTIONS", "/runs", false},
		{"get", "/runs", false},
		{"GET", "/runs/", false},
		{"GET", "/runs//", false},
		{"GET", "/runs/8fa6bcbe/commands", false},
		{"POST", "/runs/8fa6bcbe/commands", false},
		{"GET", "/runs/8fa6bcbe/commands/c1", false},
		{"POST", "/runs/8fa6bcbe/actions", false},
		{"GET", "/runs/8fa6bcbe/currentState", false},
		{"GET", "/runs/8fa6bcbe/", false},
		{"GET", "/runsx", false},
		{"GET", "/run", false},
		{"GET", "/maintenance_runs", false},
		{"GET", "/maintenance_runs/8fa6bcbe", false},
		{"GET", "/protocols", false},
		{"GET", "/", false},
		{"GET", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			p := chain.Plan(v("3"), tt.method, tt.path)
			if got := len(p) == 1; got != tt.want {
				t.Errorf("planned %t, want %t", got, tt.want)
			}
			if got := chain.Changes()[0].Applies(tt.method, tt.path); got != tt.want {
				t.Errorf("Applies = %t, want %t", got, tt.want)
			}
			for _, c := range []*version.Version{nil, v("5"), v("6")} {
				if p := chain.Plan(c, tt.method, tt.path); p != nil {
					t.Errorf("client %v got a plan", c)
				}
			}
		})
	}
}

func TestPlanApply(t *testing.T) {
	t.Run("newest first, each on the previous output", func(t *testing.T) {
		p := NewChain(&fakeChange{name: "a", ver: "5"}, &fakeChange{name: "c", ver: "7"}, &fakeChange{name: "b", ver: "6"}).Plan(v("3"), "GET", "/x")
		out, applied, err := p.Apply(Input{Status: 200, Body: []byte(`""`)})
		if err != nil {
			t.Fatal(err)
		}
		if string(read(t, out.Body)) != `"cba"` || names(applied) != "c b a" {
			t.Errorf("body %s, applied %q; want \"cba\" by c b a", read(t, out.Body), names(applied))
		}
		if len(out.Records) != 3 || out.Records[0].Action != "c" {
			t.Errorf("records %v", out.Records)
		}
	})
	t.Run("stops at an error answer", func(t *testing.T) {
		p := NewChain(&fakeChange{name: "a", ver: "5"},
			&fakeChange{name: "err", ver: "6", outcome: &Outcome{Status: 404, Body: BodyOf([]byte(`{}`)), ErrorBody: true}}).Plan(v("3"), "GET", "/x")
		out, applied, err := p.Apply(Input{Status: 200, Body: []byte(`""`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != 404 || !out.ErrorBody || string(read(t, out.Body)) != `{}` || names(applied) != "err" {
			t.Errorf("got %d %s errorBody=%t applied %q", out.Status, read(t, out.Body), out.ErrorBody, names(applied))
		}
	})
	t.Run("returns a fetch request", func(t *testing.T) {
		p := NewChain(&fakeChange{name: "f", ver: "5", outcome: &Outcome{Fetch: "/runs"}}).Plan(v("3"), "GET", "/x")
		out, applied, err := p.Apply(Input{Status: 200, Body: []byte(`""`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Fetch != "/runs" || out.Changed() || len(applied) != 0 {
			t.Errorf("got %+v applied %q", out, names(applied))
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		p := NewChain(&fakeChange{name: "n", ver: "5", outcome: &Outcome{}}).Plan(v("3"), "GET", "/x")
		out, applied, err := p.Apply(Input{Status: 200, Body: []byte(`""`)})
		if err != nil || out.Changed() || len(applied) != 0 {
			t.Errorf("got %+v applied %q err %v", out, names(applied), err)
		}
	})
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in   string
		want Policy
		ok   bool
	}{
		{"hide", Hide, true},
		{"error", Error, true},
		{"degrade", Degrade, true},
		{"", "", false},
		{"Hide", "", false},
		{"HIDE", "", false},
		{" hide", "", false},
		{"hide ", "", false},
		{"delete", "", false},
		{"hide,error", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePolicy(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParsePolicy(%q) = %q, %v; want %q, ok=%t", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "hide, error, degrade") {
				t.Errorf("error %q does not list the allowed policies", err)
			}
		})
	}
	if Policies[0] != Hide {
		t.Errorf("the default policy (first) is %q, want hide", Policies[0])
	}
}
