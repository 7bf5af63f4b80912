package transforms

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/badrun/golden from the current output")

const (
	goldenInputs = "testdata/badrun/input"
	goldenDir    = "testdata/badrun/golden"
)

// Run ids of the golden inputs (see testdata/badrun/gen_inputs.py).
const (
	g1 = "3f2b8c1e-6a4d-4e0b-9c7a-1d5e8f2a4b60" // succeeded, modules, labware, liquids, offset
	g2 = "7c91d4a2-0b3e-4f58-a6d1-2e9f0c8b7a13" // stopped
	g3 = "b5e0a7f3-2c19-4d6b-8e4a-9f1c3d7e5b28" // failed, with a wrapped error and traceback
	g4 = "e4a6c2d8-91f7-4b3a-b0e5-7d2c8a6f1e94" // succeeded, runTimeParameters, outputFileIds
	g5 = "0d8f3b6a-5e2c-47a9-8b1d-c6e4f2a9d357" // succeeded, two labware offsets
	g6 = "a9c1e5f7-3b8d-4c2e-9f6a-0e7d1b4c8a52" // the current run, idle
	bn = "1a7e9c3b-d2f4-4e86-a05b-3c9d7f1e2b84" // BadRun: no stored summary
	ba = "c6d2f8a4-7e1b-4935-b8c0-5a3f9e2d6c17" // BadRun: bad actions, summary kept
	bs = "58b3e1d9-a4c6-4f2a-9d7e-b1f0c3a8e652" // BadRun: bogus summary
	bd = "f0e4b7c2-8a9d-4b15-a3e6-6d2c1f9b0a78" // development-era BadRun: dataError, no ok
	bb = "2c5a9e7d-6f13-4a8b-b4c2-8e1d0f7a3c96" // BadRun: summary and actions both failed
	bc = "94f1d6b8-0c7e-4d2a-8b5f-3a6e9c2d1f47" // BadRun that is the current run
)

// answer is an upstream answer: a status and an input file.
type answer struct {
	status int
	file   string
}

type goldenCase struct {
	name   string
	client string // the client's Opentrons-Version; "*" is the newest
	policy Policy
	method string
	path   string
	query  string
	in     answer
	fetch  map[string]answer // the upstream's answers to the GETs the change may ask for

	// What the output must be, stated independently of the golden file.
	wantUnchanged bool
	wantStatus    int      // 0: the input's status
	wantRuns      []string // for lists: the ids of the output's data, in order
	wantCurrent   string   // for lists: the run links.current names, "" for none
	wantFetches   []string // the paths the change asked for, in order
}

func (c goldenCase) status() int {
	if c.wantStatus != 0 {
		return c.wantStatus
	}
	return c.in.status
}

func list(file string) answer    { return answer{200, file} }
func ids(ids ...string) []string { return append([]string{}, ids...) }

var goldenCases = []goldenCase{
	// Lists, policy hide.
	{name: "list_bad_first", in: list("list_bad_first.json"), wantRuns: ids(g2, g3, g6), wantCurrent: g6},
	{name: "list_bad_middle", in: list("list_bad_middle.json"), wantRuns: ids(g1, g2, g6), wantCurrent: g6},
	{name: "list_bad_last_links_empty", in: list("list_bad_last.json"), wantRuns: ids(g1, g2)},
	{name: "list_bad_adjacent_and_dev_shape", in: list("list_bad_adjacent.json"), wantRuns: ids(g1, g2, g5, g6), wantCurrent: g6},
	{name: "list_all_bad", in: list("list_all_bad.json"), wantRuns: ids()},
	{name: "list_none_bad", in: list("list_none_bad.json"), wantUnchanged: true, wantRuns: ids(g1, g2, g3, g6), wantCurrent: g6},
	{name: "list_empty", in: list("list_empty.json"), wantUnchanged: true, wantRuns: ids()},
	{name: "list_current_bad", in: list("list_current_bad.json"), wantRuns: ids(g1)},
	{name: "list_no_links", in: list("list_no_links.json"), wantRuns: ids(g1)},
	{name: "list_full", in: list("full.json"), wantRuns: ids(g1, g2, g3, g4, g5, g6), wantCurrent: g6},

	// Lists, other policies.
	{name: "list_bad_middle_error", policy: Error, in: list("list_bad_middle.json"), wantRuns: ids(g1, g2, g6), wantCurrent: g6},
	{name: "list_current_bad_error", policy: Error, in: list("list_current_bad.json"), wantRuns: ids(g1)},
	{name: "list_bad_adjacent_degrade", policy: Degrade, in: list("list_bad_adjacent.json"), wantRuns: ids(g1, ba, g2, bn, bs, g5, bd, g6), wantCurrent: g6},
	{name: "list_all_bad_degrade", policy: Degrade, in: list("list_all_bad.json"), wantRuns: ids(ba, bn, bs, bd)},
	{name: "list_current_bad_degrade", policy: Degrade, in: list("list_current_bad.json"), wantRuns: ids(g1, bn, bc), wantCurrent: bc},
	{name: "list_none_bad_degrade", policy: Degrade, in: list("list_none_bad.json"), wantUnchanged: true, wantRuns: ids(g1, g2, g3, g6), wantCurrent: g6},

	// pageLength windows of the robot in full.json: g1 ba g2 bn g3 g4 bs g5 g6 (current).
	{name: "page3_fetches_full_list", query: "pageLength=3", in: list("full_page3.json"),
		fetch: map[string]answer{"/runs": list("full.json")}, wantFetches: []string{"/runs"},
		wantRuns: ids(g4, g5, g6), wantCurrent: g6},
	{name: "page5_fetches_full_list", query: "pageLength=5", in: list("full_page5.json"),
		fetch: map[string]answer{"/runs": list("full.json")}, wantFetches: []string{"/runs"},
		wantRuns: ids(g2, g3, g4, g5, g6), wantCurrent: g6},
	{name: "page8_fetches_full_list", query: "pageLength=8", in: list("full_page8.json"),
		fetch: map[string]answer{"/runs": list("full.json")}, wantFetches: []string{"/runs"},
		wantRuns: ids(g1, g2, g3, g4, g5, g6), wantCurrent: g6},
	{name: "page9_window_is_whole_list_fetches", query: "pageLength=9", in: list("full.json"),
		fetch: map[string]answer{"/runs": list("full.json")}, wantFetches: []string{"/runs"},
		wantRuns: ids(g1, g2, g3, g4, g5, g6), wantCurrent: g6},
	{name: "page20_window_not_full_no_fetch", query: "pageLength=20", in: list("full.json"),
		wantRuns: ids(g1, g2, g3, g4, g5, g6), wantCurrent: g6},
	{name: "page2_no_bad_no_fetch", query: "pageLength=2", in: list("full_page2.json"),
		wantUnchanged: true, wantRuns: ids(g5, g6), wantCurrent: g6},
	{name: "page3_full_list_fetch_fails", query: "pageLength=3", in: list("full_page3.json"),
		fetch: map[string]answer{"/runs": {500, "error_unexpected.json"}}, wantFetches: []string{"/runs"},
		wantRuns: ids(g5, g6), wantCurrent: g6},
	{name: "page3_full_list_fetch_not_a_list", query: "pageLength=3", in: list("full_page3.json"),
		fetch: map[string]answer{"/runs": list("data_string.json")}, wantFetches: []string{"/runs"},
		wantRuns: ids(g5, g6), wantCurrent: g6},
	{name: "page3_error", policy: Error, query: "pageLength=3", in: list("full_page3.json"),
		fetch: map[string]answer{"/runs": list("full.json")}, wantFetches: []string{"/runs"},
		wantRuns: ids(g4, g5, g6), wantCurrent: g6},
	{name: "page3_degrade_no_fetch", policy: Degrade, query: "pageLength=3", in: list("full_page3.json"),
		wantRuns: ids(bs, g5, g6), wantCurrent: g6},
	{name: "page0_current_good", query: "pageLength=0", in: list("full_page0.json"),
		fetch: map[string]answer{"/runs/" + g6: list("run_good_current.json")}, wantFetches: []string{"/runs/" + g6},
		wantUnchanged: true, wantRuns: ids(), wantCurrent: g6},
	{name: "page0_current_bad", query: "pageLength=0", in: list("curbad_page0.json"),
		fetch: map[string]answer{"/runs/" + bc: list("run_bad_current.json")}, wantFetches: []string{"/runs/" + bc},
		wantRuns: ids()},
	{name: "page0_current_not_found", query: "pageLength=0", in: list("curbad_page0.json"),
		fetch: map[string]answer{"/runs/" + bc: {404, "error_run_not_found.json"}}, wantFetches: []string{"/runs/" + bc},
		wantUnchanged: true, wantRuns: ids(), wantCurrent: bc},
	{name: "page0_current_bad_degrade", policy: Degrade, query: "pageLength=0", in: list("curbad_page0.json"),
		wantUnchanged: true, wantRuns: ids(), wantCurrent: bc},
	{name: "page0_no_current", query: "pageLength=0", in: list("list_empty.json"),
		wantUnchanged: true, wantRuns: ids()},
	{name: "page1_current_outside_bad", query: "pageLength=1", in: list("curbad_page1.json"),
		fetch: map[string]answer{"/runs/" + bc: list("run_bad_current.json")}, wantFetches: []string{"/runs/" + bc},
		wantRuns: ids(g5)},
	{name: "page1_current_outside_good", query: "pageLength=1", in: list("curgood_page1.json"),
		fetch: map[string]answer{"/runs/" + g6: list("run_good_current.json")}, wantFetches: []string{"/runs/" + g6},
		wantUnchanged: true, wantRuns: ids(g5), wantCurrent: g6},

	// Single runs, each policy, each route.
	{name: "get_run_bad_hide", path: "/runs/" + ba, in: list("run_bad_actions.json"), wantStatus: 404},
	{name: "get_run_bad_error", policy: Error, path: "/runs/" + ba, in: list("run_bad_actions.json"), wantStatus: 500},
	{name: "get_run_bad_degrade", policy: Degrade, path: "/runs/" + ba, in: list("run_bad_actions.json")},
	{name: "get_run_dev_shape_hide", path: "/runs/" + bd, in: list("run_bad_dev.json"), wantStatus: 404},
	{name: "get_run_dev_shape_error", policy: Error, path: "/runs/" + bd, in: list("run_bad_dev.json"), wantStatus: 500},
	{name: "get_run_dev_shape_degrade", policy: Degrade, path: "/runs/" + bd, in: list("run_bad_dev.json")},
	{name: "get_run_bad_summary_error", policy: Error, path: "/runs/" + bs, in: list("run_bad_summary.json"), wantStatus: 500},
	{name: "get_run_bad_both_error", policy: Error, path: "/runs/" + bb, in: list("run_bad_both.json"), wantStatus: 500},
	{name: "get_run_bad_both_degrade", policy: Degrade, path: "/runs/" + bb, in: list("run_bad_both.json")},
	{name: "get_run_ok_false_without_data_error_error", policy: Error, path: "/runs/" + bn, in: list("run_ok_false_only.json"), wantStatus: 500},
	{name: "get_run_ok_false_without_data_error_degrade", policy: Degrade, path: "/runs/" + bn, in: list("run_ok_false_only.json")},
	{name: "patch_run_bad_hide", method: "PATCH", path: "/runs/" + bn, in: list("run_bad_nosummary.json"), wantStatus: 404},
	{name: "patch_run_bad_error", method: "PATCH", policy: Error, path: "/runs/" + bn, in: list("run_bad_nosummary.json"), wantStatus: 500},
	{name: "patch_run_bad_degrade", method: "PATCH", policy: Degrade, path: "/runs/" + bn, in: list("run_bad_nosummary.json")},
	{name: "post_runs_bad_hide", method: "POST", in: answer{201, "run_bad_current.json"}, wantStatus: 404},
	{name: "post_runs_bad_error", method: "POST", policy: Error, in: answer{201, "run_bad_current.json"}, wantStatus: 500},
	{name: "post_runs_bad_degrade", method: "POST", policy: Degrade, in: answer{201, "run_bad_current.json"}},
	{name: "get_run_good_hide", path: "/runs/" + g5, in: list("run_good.json"), wantUnchanged: true},
	{name: "get_run_good_error", policy: Error, path: "/runs/" + g5, in: list("run_good.json"), wantUnchanged: true},
	{name: "get_run_good_degrade", policy: Degrade, path: "/runs/" + g5, in: list("run_good.json"), wantUnchanged: true},
	{name: "patch_run_good", method: "PATCH", path: "/runs/" + g5, in: list("run_good.json"), wantUnchanged: true},
	{name: "post_runs_good", method: "POST", in: answer{201, "run_good_current.json"}, wantUnchanged: true},

	// Not a 2xx run body: unchanged.
	{name: "get_run_404", path: "/runs/" + bn, in: answer{404, "error_run_not_found.json"}, wantUnchanged: true},
	{name: "post_runs_409", method: "POST", in: answer{409, "error_run_already_active.json"}, wantUnchanged: true},
	{name: "list_500", in: answer{500, "error_unexpected.json"}, wantUnchanged: true},
	{name: "list_503_with_bad_runs", in: answer{503, "list_bad_middle.json"}, wantUnchanged: true},
	{name: "get_run_500_with_bad_run", policy: Error, path: "/runs/" + ba, in: answer{500, "run_bad_actions.json"}, wantUnchanged: true},
	{name: "list_not_json", in: list("not_json.txt"), wantUnchanged: true},
	{name: "list_html", in: list("html.txt"), wantUnchanged: true},
	{name: "list_empty_body", in: list("empty.txt"), wantUnchanged: true},
	{name: "list_truncated_mid_run", in: list("truncated_mid.json"), wantUnchanged: true},
	{name: "list_truncated_last_byte", in: list("truncated_end.json"), wantUnchanged: true},
	{name: "list_data_string", in: list("data_string.json"), wantUnchanged: true},
	{name: "list_data_null", in: list("data_null.json"), wantUnchanged: true},
	{name: "list_data_missing", in: list("data_missing.json"), wantUnchanged: true},
	{name: "list_elements_not_objects", in: list("data_not_objects.json"), wantUnchanged: true},
	{name: "list_elements_nested_lists", in: list("data_nested_list.json"), wantUnchanged: true},
	{name: "list_top_level_array", in: list("top_level_array.json"), wantUnchanged: true},
	{name: "list_empty_object", in: list("delete_ok.json"), wantUnchanged: true},
	{name: "get_run_data_string", path: "/runs/" + bn, in: list("data_string.json"), wantUnchanged: true},
	{name: "get_run_truncated", path: "/runs/" + ba, in: list("truncated_mid.json"), wantUnchanged: true},
	{name: "get_run_degrade_not_json", policy: Degrade, path: "/runs/" + ba, in: list("not_json.txt"), wantUnchanged: true},

	// Routes the change does not touch: no plan.
	{name: "delete_run_no_plan", method: "DELETE", path: "/runs/" + bn, in: list("delete_ok.json"), wantUnchanged: true},
	{name: "run_commands_no_plan", path: "/runs/" + ba + "/commands", in: list("run_bad_actions.json"), wantUnchanged: true},
	{name: "runs_slash_no_plan", path: "/runs/", in: list("list_bad_middle.json"), wantUnchanged: true},

	// Client versions: only clients older than the change (5) get a plan.
	{name: "client_2", client: "2", in: list("list_bad_middle.json"), wantRuns: ids(g1, g2, g6), wantCurrent: g6},
	{name: "client_4", client: "4", in: list("list_bad_middle.json"), wantRuns: ids(g1, g2, g6), wantCurrent: g6},
	{name: "client_4.9", client: "4.9", in: list("list_bad_middle.json"), wantRuns: ids(g1, g2, g6), wantCurrent: g6},
	{name: "client_5_no_plan", client: "5", in: list("list_bad_middle.json"), wantUnchanged: true},
	{name: "client_6_no_plan", client: "6", in: list("list_bad_middle.json"), wantUnchanged: true},
	{name: "client_newest_no_plan", client: "*", in: list("list_bad_middle.json"), wantUnchanged: true},
	{name: "client_5_single_no_plan", client: "5", path: "/runs/" + ba, in: list("run_bad_actions.json"), wantUnchanged: true},
	{name: "client_newest_page3_no_fetch", client: "*", query: "pageLength=3", in: list("full_page3.json"), wantUnchanged: true},
}

// goldenResult is what the proxy would send for one case.
type goldenResult struct {
	plan      []string
	fetches   []string
	status    int
	body      []byte
	changed   bool
	errorBody bool
	records   []Record
}

func readInput(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenInputs, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run plays the case as the proxy would: plan, apply, serve the fetches the
// change asks for from the case's upstream answers, apply again.
func (c goldenCase) run(t *testing.T) goldenResult {
	t.Helper()
	var client *version.Version
	if c.client != "*" {
		client = version.Must(version.NewVersion(c.client))
	}
	chain := NewChain(NewBadRun(version.Must(version.NewVersion("5")), c.policy))
	plan := chain.Plan(client, c.method, c.path)
	in := Input{Method: c.method, Path: c.path, Query: c.query, Status: c.in.status, Body: readInput(t, c.in.file)}
	res := goldenResult{status: in.Status, body: in.Body}
	for _, ch := range plan {
		res.plan = append(res.plan, ch.Name())
	}
	up := func(path string) (int, []byte, bool) {
		a, ok := c.fetch[path]
		if !ok {
			return 0, nil, false
		}
		return a.status, readInput(t, a.file), true
	}
	var out Outcome
	out, res.fetches = applyLikeProxy(t, plan, in, up)
	res.changed, res.errorBody, res.records = out.Changed(), out.ErrorBody, out.Records
	if out.Status != 0 {
		res.status = out.Status
	}
	if out.Body != nil {
		res.body = read(t, out.Body)
	}
	return res
}

// render is the golden file: a header a reviewer can read, a blank line, and
// the body byte for byte (no newline added).
func (c goldenCase) render(r goldenResult) []byte {
	var b bytes.Buffer
	target := c.path
	if c.query != "" {
		target += "?" + c.query
	}
	fmt.Fprintf(&b, "request: %s %s (client %s, policy %s)\n", c.method, target, c.client, c.policy)
	fmt.Fprintf(&b, "upstream: %d %s\n", c.in.status, c.in.file)
	plan := "none"
	if len(r.plan) > 0 {
		plan = strings.Join(r.plan, ", ")
	}
	fmt.Fprintf(&b, "plan: %s\n", plan)
	for _, f := range r.fetches {
		a := c.fetch[f]
		fmt.Fprintf(&b, "fetch: GET %s -> %d %s\n", f, a.status, a.file)
	}
	fmt.Fprintf(&b, "status: %d\n", r.status)
	fmt.Fprintf(&b, "changed: %t\n", r.changed)
	fmt.Fprintf(&b, "errorBody: %t\n", r.errorBody)
	for _, rec := range r.records {
		fmt.Fprintf(&b, "records: %s=%d\n", rec.Action, rec.Count)
	}
	b.WriteString("\n")
	b.Write(r.body)
	return b.Bytes()
}

func (c *goldenCase) defaults() {
	if c.client == "" {
		c.client = "3" // what the Opentrons App sends
	}
	if c.policy == "" {
		c.policy = Hide
	}
	if c.method == "" {
		c.method = "GET"
	}
	if c.path == "" {
		c.path = "/runs"
	}
}

func TestBadRunGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range goldenCases {
		c.defaults()
		t.Run(c.name, func(t *testing.T) {
			if seen[c.name] {
				t.Fatalf("duplicate case name %q", c.name)
			}
			seen[c.name] = true
			r := c.run(t)
			c.check(t, r)

			got := c.render(r)
			file := filepath.Join(goldenDir, c.name+".golden")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update, then review the diff):\n%s", file, firstDiff(want, got))
			}
		})
	}
	if !*update {
		// Every golden file belongs to a case.
		files, _ := filepath.Glob(filepath.Join(goldenDir, "*.golden"))
		for _, f := range files {
			if name := strings.TrimSuffix(filepath.Base(f), ".golden"); !seen[name] {
				t.Errorf("%s has no case in goldenCases (stale?)", f)
			}
		}
	}
}

// check states, independently of the golden file, what the output must be.
func (c goldenCase) check(t *testing.T, r goldenResult) {
	t.Helper()
	in := readInput(t, c.in.file)
	if r.status != c.status() {
		t.Errorf("status %d, want %d", r.status, c.status())
	}
	if !equalStrings(r.fetches, c.wantFetches) {
		t.Errorf("fetches %q, want %q", r.fetches, c.wantFetches)
	}
	if c.wantUnchanged {
		if r.changed || !bytes.Equal(r.body, in) {
			t.Errorf("response changed (%d bytes -> %d), want it unchanged", len(in), len(r.body))
		}
	} else {
		if !r.changed {
			t.Errorf("response unchanged, want a change")
		}
		if !json.Valid(r.body) {
			t.Errorf("output is not valid JSON: %.200s", r.body)
		}
	}
	if c.wantRuns != nil {
		c.checkList(t, r)
		return
	}
	if c.wantUnchanged {
		return
	}
	c.checkSingle(t, in, r)
}

// checkList checks a list output: the runs it holds, links.current, and, for
// a robot-server-formatted input, the exact bytes: the source with the bad
// runs (and one ", " each) removed, totalLength recounted, and "links": {}
// when the current run was removed; under degrade, bad runs lose "ok" and
// "dataError" and nothing else changes.
func (c goldenCase) checkList(t *testing.T, r goldenResult) {
	t.Helper()
	out, ok := readList(r.body)
	if !ok {
		t.Fatalf("output is not a run list: %.200s", r.body)
	}
	var got []string
	for _, run := range out.runs {
		got = append(got, run.id)
	}
	if !equalStrings(got, c.wantRuns) {
		t.Errorf("runs\n  %q\nwant\n  %q", got, c.wantRuns)
	}
	if out.currentID != c.wantCurrent {
		t.Errorf("links.current names %q, want %q", out.currentID, c.wantCurrent)
	}
	var meta struct {
		Meta struct{ TotalLength *int } `json:"meta"`
	}
	if err := json.Unmarshal(r.body, &meta); err != nil || meta.Meta.TotalLength == nil || *meta.Meta.TotalLength != len(out.runs) {
		t.Errorf("meta.totalLength is not %d: %v", len(out.runs), err)
	}
	if c.wantUnchanged {
		return
	}
	for _, run := range out.runs {
		if run.bad {
			t.Errorf("bad run %s left in the output (policy %s)", run.id, c.policy)
		}
	}

	// The byte-exact expectation, rebuilt from the source list.
	srcBody := readInput(t, c.in.file)
	if len(r.fetches) == 1 && r.fetches[0] == "/runs" {
		if a := c.fetch["/runs"]; a.status/100 == 2 {
			if _, ok := readList(readInput(t, a.file)); ok {
				srcBody = readInput(t, a.file)
			}
		}
	}
	src, ok := readList(srcBody)
	if !ok {
		t.Fatalf("source %s is not a list", c.in.file)
	}
	links := []byte(src.links)
	if src.currentID != "" && c.wantCurrent == "" {
		links = []byte("{}")
	}
	var elems []json.RawMessage
	for _, id := range c.wantRuns {
		run, ok := src.find(id)
		if !ok {
			t.Fatalf("run %s is not in the source", id)
		}
		if run.bad && c.policy == Degrade {
			elems = append(elems, run.pyStripped())
		} else {
			elems = append(elems, run.raw)
		}
	}
	if want := pyList(elems, links); !bytes.Equal(r.body, want) {
		t.Errorf("output is not the source list with only the expected edits:\n%s", firstDiff(want, r.body))
	}
}

// checkSingle checks the answer for one bad run per policy.
func (c goldenCase) checkSingle(t *testing.T, in []byte, r goldenResult) {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(in, &env); err != nil {
		t.Fatalf("input: %v", err)
	}
	run, ok := readRun(env.Data)
	if !ok || !run.bad {
		t.Fatalf("input %s is not a bad run", c.in.file)
	}
	var want []byte
	switch c.policy {
	case Hide: // robot-server's own 404 for an unknown run (see ROBOT_SERVER_API.md)
		want = []byte(`{"errors":[{"id":"RunNotFound","title":"Run Not Found","detail":"Error 4000 GENERAL_ERROR (RunNotFoundError): Run ` +
			run.id + ` was not found.","errorCode":"4000"}]}`)
		if run.id == bn && !bytes.Equal(want, readInput(t, "error_run_not_found.json")) {
			t.Errorf("the expected 404 differs from robot-server's formatting in error_run_not_found.json")
		}
	case Error: // the run's own dataError as the error, as servers before BadRun answered
		var de json.RawMessage
		for _, m := range run.ms {
			if m.key == "dataError" {
				de = m.raw
			}
		}
		if de == nil {
			var e struct {
				Errors []struct{ ID, ErrorCode string }
			}
			if err := json.Unmarshal(r.body, &e); err != nil || len(e.Errors) != 1 || e.Errors[0].ErrorCode != "4008" {
				t.Errorf("want one error with errorCode 4008, got %s", r.body)
			}
			return
		}
		// Error bodies are compact, as robot-server's are.
		var compact bytes.Buffer
		if err := json.Compact(&compact, de); err != nil {
			t.Fatal(err)
		}
		want = []byte(`{"errors":[` + compact.String() + `]}`)
	case Degrade:
		want = []byte(`{"data": ` + string(run.pyStripped()) + `}`)
	}
	if (c.policy == Hide || c.policy == Error) != r.errorBody {
		t.Errorf("ErrorBody %t under %s", r.errorBody, c.policy)
	}
	if !bytes.Equal(r.body, want) {
		t.Errorf("body:\n%s", firstDiff(want, r.body))
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// firstDiff shows where two bodies part.
func firstDiff(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-60)
	return fmt.Sprintf("lengths want %d, got %d; first difference at byte %d\n  want ...%q...\n  got  ...%q...",
		len(want), len(got), i, want[from:min(len(want), i+60)], got[from:min(len(got), i+60)])
}

// TestBadRunConcurrent runs one change over shared inputs from many
// goroutines, as the proxy does (meaningful under -race): the change keeps no
// state and never writes to the bodies it reads.
func TestBadRunConcurrent(t *testing.T) {
	bodies := [][]byte{readInput(t, "full.json"), readInput(t, "list_bad_adjacent.json"), readInput(t, "run_bad_actions.json")}
	for _, p := range Policies {
		change := NewBadRun(v("5"), p)
		want := make([][]byte, len(bodies))
		for i, b := range bodies {
			out, err := change.Downgrade(&Input{Method: "GET", Path: "/runs", Status: 200, Body: b})
			if err != nil {
				t.Fatal(err)
			}
			want[i] = read(t, out.Body)
		}
		t.Run(string(p), func(t *testing.T) {
			done := make(chan error)
			for g := 0; g < 8; g++ {
				go func() {
					for n := 0; n < 50; n++ {
						i := (g + n) % len(bodies)
						out, err := change.Downgrade(&Input{Method: "GET", Path: "/runs", Status: 200, Body: bodies[i]})
						if err == nil && !bytes.Equal(out.Body.Bytes(), want[i]) {
							err = fmt.Errorf("goroutine %d: output %d differs", g, i)
						}
						if err != nil {
							done <- err
							return
						}
					}
					done <- nil
				}()
			}
			for range 8 {
				if err := <-done; err != nil {
					t.Error(err)
				}
			}
		})
	}
}
