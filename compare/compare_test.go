package compare

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"

	"otcompat/clients"
	"otcompat/fixtures"
	"otcompat/negotiate"
	"otcompat/proxy"
	"otcompat/transforms"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// externalRef finds what would make a page load or link to anything: tags
// that fetch, src/href attributes, CSS url() and @import.
var externalRef = regexp.MustCompile(`(?i)<(script|img|link|iframe|object|embed|video|audio|source|base)\b|<[a-z][^>]*\s(src|href|srcset|action)\s*=|url\(|@import`)

// startProxy runs the otcompat proxy (BadRun at 5, hide) in front of h and
// returns the proxy's and the upstream's URLs.
func startProxy(t *testing.T, h http.Handler) (string, string) {
	t.Helper()
	return startProxyWithRules(t, h, nil)
}

// startProxyWithRules is startProxy with client rules.
func startProxyWithRules(t *testing.T, h http.Handler, rules *clients.Rules) (string, string) {
	t.Helper()
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	u, err := proxy.ParseUpstream(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	chain := transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion("5")), transforms.Hide))
	p := proxy.New(proxy.Config{Upstream: u, Chain: chain, Clients: rules, Logger: slog.New(slog.DiscardHandler),
		Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest())})
	t.Cleanup(p.Close)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, up.URL
}

// source names a server by a fixed name, so reports do not depend on ports.
func source(name, url string) Source {
	return Source{Name: name, URL: url, Client: http.DefaultClient}
}

// fixtureOptions compares the fixture run store through the proxy, with the
// store itself as the direct upstream.
func fixtureOptions(t *testing.T, paths ...string) Options {
	t.Helper()
	target, up := startProxy(t, fixtures.NewServer(fixtures.Default()))
	direct := source("http://robot-server", up)
	return Options{Target: source("http://otcompat", target), Direct: &direct, Method: http.MethodGet,
		Paths: paths, Versions: []string{"3", "5"}, Header: http.Header{}, FailOnDiff: []string{"3", "5"}}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./compare -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./compare -update and read the diff):\n%s", name,
			unified("golden", "got", string(want), string(got)))
	}
}

func TestGolden(t *testing.T) {
	bad := fixtures.Default().BadIDs()[1]
	tests := []struct {
		name  string
		paths []string
	}{
		{"fixtures", []string{"/runs?pageLength=4", "/runs/" + bad, "/health"}},
		{"same", []string{"/runs/" + fixtures.Default().CurrentID(), "/openapi.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(context.Background(), fixtureOptions(t, tt.paths...))
			if err != nil {
				t.Fatal(err)
			}
			renders := []struct {
				ext    string
				render func(io.Writer) error
			}{
				{"txt", func(w io.Writer) error { return WriteText(w, rep, false) }},
				{"color.txt", func(w io.Writer) error { return WriteText(w, rep, true) }},
				{"json", func(w io.Writer) error { return WriteJSON(w, rep) }},
			}
			for _, r := range renders {
				var b bytes.Buffer
				if err := r.render(&b); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, tt.name+"."+r.ext+".golden", b.Bytes())
			}
		})
	}
}

// TestBadRunsHiddenFromOldVersions is the question compare answers: which
// runs does each version see?
func TestBadRunsHiddenFromOldVersions(t *testing.T) {
	store := fixtures.Default()
	o := fixtureOptions(t, "/runs")
	o.Versions = []string{"2", "3", "4", "5", "*"}
	o.FailOnDiff = []string{"3", "*"}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rep.Versions {
		old := v.Version != "5" && v.Version != "*"
		for _, id := range store.BadIDs() {
			if hidden := slices.Contains(v.HiddenRunIDs, id); hidden != old {
				t.Errorf("version %s: bad run %s hidden %v", v.Version, id, hidden)
			}
			if seen := slices.Contains(v.SeenRunIDs, id) && slices.Contains(v.BadRunIDs, id); seen == old {
				t.Errorf("version %s: bad run %s seen as bad %v", v.Version, id, seen)
			}
			if notPassedOn := slices.Contains(v.HiddenFromUpstreamRunIDs, id); notPassedOn != old {
				t.Errorf("version %s: bad run %s not passed on from upstream %v", v.Version, id, notPassedOn)
			}
		}
		if len(v.SeenRunIDs) != store.Len()-len(store.BadIDs()) && old {
			t.Errorf("version %s sees %d runs", v.Version, len(v.SeenRunIDs))
		}
	}
	if !rep.Differences || rep.FailOnDiff == nil || !rep.FailOnDiff.Differ || rep.FailOnDiff.Paths[0] != "/runs" {
		t.Errorf("3 and * should differ at /runs: %+v", rep.FailOnDiff)
	}
	a := rep.Paths[0].Answers[1]
	if a.Applied != "badrun@5" || a.ExplainServed != "3" {
		t.Errorf("explain headers of version 3: applied %q served %q", a.Applied, a.ExplainServed)
	}
	// The fail-on-diff pair is compared even though it is not consecutive.
	var pairs []string
	for _, d := range rep.Paths[0].Diffs {
		pairs = append(pairs, d.Kind+" "+d.From+">"+d.To)
	}
	want := []string{"versions 2>3", "versions 3>4", "versions 4>5", "versions 5>*", "versions 3>*",
		"upstream 2>2", "upstream 3>3", "upstream 4>4", "upstream 5>5", "upstream *>*"}
	if !slices.Equal(pairs, want) {
		t.Errorf("diffs %v, want %v", pairs, want)
	}
}

func TestRunErrors(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	o := Options{Target: source("dead", dead.URL), Method: "GET", Paths: []string{"/runs"}, Versions: []string{"3"}}
	_, err := Run(context.Background(), o)
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Source != "dead" || !strings.Contains(err.Error(), "dead: GET /runs: ") {
		t.Errorf("dead target: %v, want a ConnError naming the request", err)
	}
	o.Method = "DELETE"
	if _, err := Run(context.Background(), o); err == nil || errors.As(err, &ce) {
		t.Errorf("DELETE: %v, want a refusal", err)
	}
}

// TestHTMLSelfContained: one page, nothing loaded from elsewhere, every
// version shown, and bodies escaped.
func TestHTMLSelfContained(t *testing.T) {
	hostile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data": [{"id": "<script>alert(1)</script>", "ok": false}], "x": "</pre><img src=x>"}`)
	})
	target, _ := startProxy(t, hostile)
	rep, err := Run(context.Background(), Options{Target: source("http://otcompat", target), Method: "GET",
		Paths: []string{"/runs"}, Versions: []string{"2", "3", "4", "5", "*"}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if refs := externalRef.FindAllString(page, -1); len(refs) > 0 {
		t.Errorf("the page loads or links to something: %q", refs)
	}
	for _, v := range []string{"2", "3", "4", "5", "*"} {
		if !strings.Contains(page, "<h3>version "+v+"</h3>") {
			t.Errorf("no column for version %s", v)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the run id is not escaped")
	}
}
