package transforms

import (
	"bytes"

	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"otcompat/fixtures"
	"otcompat/fixtures/recorded"
	"otcompat/negotiate"
)

// The two configured changes of the chain tests, beside BadRun at 5. Their
// edits hit values the real recordings hold, so every version differs.
var (
	chainStatusSpec = Spec{Name: "status-names", Description: "Run status succeeded was called completed.", Version: "6",
		Routes: []string{"GET /runs", "GET /runs/{id}"},
		Edits: []EditSpec{
			{Kind: EditMap, Path: "data.#.status", Values: map[string]string{"succeeded": "completed", "awaiting-recovery": "paused"}},
			{Kind: EditMap, Path: "data.status", Values: map[string]string{"succeeded": "completed", "awaiting-recovery": "paused"}},
		}}
	chainFieldsSpec = Spec{Name: "run-fields", Description: "Runs gained runTimeParameters and hasEverEnteredErrorRecovery.", Version: "7",
		Routes: []string{"GET /runs", "GET /runs/{id}"},
		Edits: []EditSpec{
			{Kind: EditRemove, Path: "data.#", Fields: []string{"runTimeParameters", "hasEverEnteredErrorRecovery"}},
			{Kind: EditRemove, Path: "data", Fields: []string{"runTimeParameters", "hasEverEnteredErrorRecovery"}},
		}}
)

func mustDeclared(t testing.TB, s Spec) *Declared {
	t.Helper()
	d, err := NewDeclared(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testChain is BadRun (5, hide) and the two configured changes (6, 7).
func testChain(t testing.TB) *Chain {
	return NewChain(mustDeclared(t, chainStatusSpec), NewBadRun(v("5"), Hide), mustDeclared(t, chainFieldsSpec))
}

// chainClients are the versions the chain tests ask at.
var chainClients = []string{"2", "3", "4", "5", "6", "7", "*"}

// upstreamAnswer is a GET answer from the upstream.
type upstreamAnswer struct {
	status int
	body   []byte
}

// chainExpectation states, for one request, what each version must get:
// upstream is what the upstream answers, hidden what it answers once the
// bad runs are really deleted.
type chainExpectation struct {
	path             string // with query
	upstream, hidden upstreamAnswer
	fetch            func(path string) upstreamAnswer
}

// check runs the chain as the proxy would (negotiation, plan, fetch) for
// every client version and compares with expectations worked out apart:
//   - 7 and *: the upstream's bytes;
//   - 6: run-fields undone, by the oracle, and only bytes taken out;
//   - 5: status-names undone too, by the oracle, and only strings replaced;
//   - 4 and below: BadRun too: the hidden answer with the two configured
//     changes undone (by the oracle), byte for byte what 5's edits make of
//     the hidden answer.
func (x chainExpectation) check(t *testing.T, chain *Chain) {
	t.Helper()
	n := negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest())
	got := map[string]upstreamAnswer{}
	for _, client := range chainClients {
		_, cv, ok := n.Served(negotiate.Parse([]string{client}))
		if !ok {
			t.Fatalf("version %s not served", client)
		}
		got[client] = runChain(t, chain.Plan(cv, "GET", pathOnly(x.path)), x.path, x.upstream, x.fetch)
	}
	for _, client := range []string{"7", "*"} {
		if g := got[client]; g.status != x.upstream.status || !bytes.Equal(g.body, x.upstream.body) {
			t.Errorf("%s at %s: not the upstream's bytes", x.path, client)
		}
	}
	ok2xx := x.upstream.status/100 == 2
	if ok2xx {
		want, _ := oracleApply(mustTree(t, x.upstream.body), chainFieldsSpec)
		if g := got["6"]; !sameTree(mustTree(t, g.body), want) || !isSubsequence(g.body, x.upstream.body) {
			t.Errorf("%s at 6: not the upstream without the new fields:\n%.300s", x.path, g.body)
		}
		want, _ = oracleApply(want, chainStatusSpec)
		if g := got["5"]; !sameTree(mustTree(t, g.body), want) ||
			!onlyStringsReplaced(got["6"].body, g.body, func(from, to string) bool { return mappedBy(chainStatusSpec.Edits, from, to) }) {
			t.Errorf("%s at 5: not 6's answer with the statuses mapped:\n%.300s", x.path, g.body)
		}
	}
	wantOld := x.hidden
	if x.hidden.status/100 == 2 {
		tree, _ := oracleApply(mustTree(t, x.hidden.body), chainFieldsSpec)
		tree, _ = oracleApply(tree, chainStatusSpec)
		edited := runChain(t, Plan{mustDeclared(t, chainFieldsSpec), mustDeclared(t, chainStatusSpec)}, x.path, x.hidden, nil)
		if !sameTree(mustTree(t, edited.body), tree) {
			t.Fatalf("%s: the configured changes on the hidden answer disagree with the oracle", x.path)
		}
		wantOld = edited
	}
	for _, client := range []string{"2", "3", "4"} {
		if g := got[client]; g.status != wantOld.status || !bytes.Equal(g.body, wantOld.body) {
			t.Errorf("%s at %s: got %d %.300s\nwant %d %.300s", x.path, client, g.status, g.body, wantOld.status, wantOld.body)
		}
	}
}

func pathOnly(p string) string { u, _ := url.Parse(p); return u.Path }

// runChain applies a plan to one upstream answer as the proxy does,
// answering a fetch from fetch.
func runChain(t *testing.T, p Plan, path string, up upstreamAnswer, fetch func(string) upstreamAnswer) upstreamAnswer {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Method: "GET", Path: u.Path, Query: u.RawQuery, Status: up.status, Body: up.body}
	out, _, err := p.Apply(in)
	if err == nil && out.Fetch != "" {
		if fetch == nil {
			t.Fatalf("%s: a fetch of %s where none is possible", path, out.Fetch)
		}
		f := fetch(out.Fetch)
		in.Fetched = &Fetched{Path: out.Fetch, Status: f.status, Body: f.body}
		out, _, err = p.Apply(in)
	}
	if err != nil || out.Fetch != "" {
		t.Fatalf("%s: %v (fetch %q)", path, err, out.Fetch)
	}
	res := up
	if out.Status != 0 {
		res.status = out.Status
	}
	if out.Body != nil {
		res.body = out.Body.Bytes()
	}
	return res
}

// TestDeclaredChainRecordings runs the chain over every exchange recorded
// from the real robot-server, at every version.
func TestDeclaredChainRecordings(t *testing.T) {
	sc, err := recorded.LoadScenario(recordings)
	if err != nil {
		t.Fatal(err)
	}
	chain := testChain(t)
	checked := 0
	for _, x := range sc.Upstream {
		if x.Version != "*" {
			continue // robot-server answers runs the same at every version
		}
		h := recorded.Find(sc.ExpectedHide, x.Method, x.Path, x.Version)
		hidden := upstreamAnswer{x.Status, x.Body}
		if h != nil {
			hidden = upstreamAnswer{h.Status, h.Body}
		} else if x.Path != "/health" {
			t.Fatalf("no hidden answer for %s", x.Path)
		}
		exp := chainExpectation{path: x.Path, upstream: upstreamAnswer{x.Status, x.Body}, hidden: hidden,
			fetch: func(p string) upstreamAnswer {
				f := recorded.Find(sc.Upstream, "GET", p, "*")
				if f == nil {
					t.Fatalf("fetch of %s: not recorded", p)
				}
				return upstreamAnswer{f.Status, f.Body}
			}}
		t.Run(strings.TrimPrefix(x.Path, "/"), func(t *testing.T) { exp.check(t, chain) })
		checked++
	}
	if checked != 22 {
		t.Errorf("checked %d exchanges, want 22", checked)
	}
}

// TestDeclaredChainFixtures runs the chain over the fake robot-server's run
// store, with runs set to the error-recovery statuses, at every version.
func TestDeclaredChainFixtures(t *testing.T) {
	store, hiddenStore := fixtures.Default(), fixtures.Default()
	ids, bad := store.IDs(), store.BadIDs()
	for i, status := range []string{"awaiting-recovery", "awaiting-recovery-paused"} {
		good := goodIDs(ids, bad)[i+1]
		for _, s := range []*fixtures.Store{store, hiddenStore} {
			if err := s.SetStatus(good, status); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range bad {
		if err := hiddenStore.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	up, hidden := httptest.NewServer(fixtures.NewServer(store)), httptest.NewServer(fixtures.NewServer(hiddenStore))
	defer up.Close()
	defer hidden.Close()
	paths := []string{"/runs", "/runs?pageLength=0", "/runs?pageLength=3", "/runs?pageLength=8"}
	for _, id := range ids {
		paths = append(paths, "/runs/"+id)
	}
	chain := testChain(t)
	for _, p := range paths {
		exp := chainExpectation{path: p, upstream: httpGet(t, up.URL+p), hidden: httpGet(t, hidden.URL+p),
			fetch: func(f string) upstreamAnswer { return httpGet(t, up.URL+f) }}
		t.Run(strings.TrimPrefix(p, "/"), func(t *testing.T) { exp.check(t, chain) })
	}
	list := httpGet(t, up.URL+"/runs")
	if !bytes.Contains(list.body, []byte(`"status": "awaiting-recovery"`)) {
		t.Fatalf("the store shows no run awaiting recovery")
	}
}

func goodIDs(ids, bad []string) []string {
	var out []string
	for _, id := range ids {
		isBad := false
		for _, b := range bad {
			isBad = isBad || b == id
		}
		if !isBad {
			out = append(out, id)
		}
	}
	return out
}

func httpGet(t *testing.T, u string) upstreamAnswer {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Opentrons-Version", "*")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return upstreamAnswer{resp.StatusCode, b}
}
