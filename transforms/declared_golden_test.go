package transforms

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

const (
	declaredInputs = "testdata/declared/input"
	declaredGolden = "testdata/declared/golden"
)

// The error-recovery statuses robot-server added, and what older clients
// knew instead (see examples/error-recovery.yaml).
var recoveryStatuses = map[string]string{
	"awaiting-recovery":                      "paused",
	"awaiting-recovery-paused":               "paused",
	"awaiting-recovery-blocked-by-open-door": "blocked-by-open-door",
}

type declaredCase struct {
	name  string
	input string
	path  string
	edits []EditSpec

	wantUnchanged bool
	wantErr       bool
}

var declaredCases = []declaredCase{
	{name: "map_list", input: "runs_list.json", path: "/runs",
		edits: []EditSpec{{Kind: EditMap, Path: "data.#.status", Values: recoveryStatuses}}},
	{name: "map_run", input: "run_recovery.json", path: "/runs/7c91d4a2-0b3e-4f58-a6d1-2e9f0c8b7a13",
		edits: []EditSpec{{Kind: EditMap, Path: "data.status", Values: recoveryStatuses}}},
	{name: "map_list_and_run_paths_on_a_run", input: "run_recovery.json", path: "/runs/7c91d4a2-0b3e-4f58-a6d1-2e9f0c8b7a13",
		edits: []EditSpec{{Kind: EditMap, Path: "data.#.status", Values: recoveryStatuses},
			{Kind: EditMap, Path: "data.status", Values: recoveryStatuses}}},
	{name: "map_nothing_to_map", input: "run_plain.json", path: "/runs/3f2b8c1e-6a4d-4e0b-9c7a-1d5e8f2a4b60", wantUnchanged: true,
		edits: []EditSpec{{Kind: EditMap, Path: "data.status", Values: recoveryStatuses}}},
	{name: "map_nested_each", input: "runs_list.json", path: "/runs",
		edits: []EditSpec{{Kind: EditMap, Path: "data.#.actions.#.actionType", Values: map[string]string{"play": "start"}}}},
	{name: "remove_list", input: "runs_list.json", path: "/runs",
		edits: []EditSpec{{Kind: EditRemove, Path: "data.#", Fields: []string{"hasEverEnteredErrorRecovery", "runTimeParameters"}}}},
	{name: "remove_run", input: "run_recovery.json", path: "/runs/x",
		edits: []EditSpec{{Kind: EditRemove, Path: "data", Fields: []string{"hasEverEnteredErrorRecovery", "id"}}}},
	{name: "remove_last_member", input: "action.json", path: "/runs/x/actions",
		edits: []EditSpec{{Kind: EditRemove, Path: "data", Fields: []string{"actionType"}}}},
	{name: "rename_list", input: "runs_list.json", path: "/runs",
		edits: []EditSpec{{Kind: EditRename, Path: "data.#.outputFileIds", To: "outputFiles"}}},
	{name: "rename_onto_taken_name", input: "runs_list.json", path: "/runs", wantErr: true,
		edits: []EditSpec{{Kind: EditRename, Path: "data.#.outputFileIds", To: "status"}}},
	{name: "drop_in_with_count", input: "runs_list.json", path: "/runs",
		edits: []EditSpec{{Kind: EditDrop, Path: "data", Count: "meta.totalLength",
			Where: Predicate{Path: "status", Test: PredIn, Values: []any{"awaiting-recovery", "awaiting-recovery-paused"}}}}},
	{name: "drop_equals_commands", input: "commands.json", path: "/runs/r/commands",
		edits: []EditSpec{{Kind: EditDrop, Path: "data", Count: "meta.totalLength",
			Where: Predicate{Path: "intent", Test: PredEquals, Values: []any{"fixit"}}}}},
	{name: "drop_exists", input: "runs_list.json", path: "/runs",
		edits: []EditSpec{{Kind: EditDrop, Path: "data", Where: Predicate{Path: "actions.0.actionType", Test: PredExists, Exists: true}},
			{Kind: EditMap, Path: "meta.cursor", Values: map[string]string{"0": "never"}}}},
	{name: "drop_count_not_integer", input: "runs_list.json", path: "/runs", wantErr: true,
		edits: []EditSpec{{Kind: EditDrop, Path: "data", Count: "links.current.href",
			Where: Predicate{Path: "current", Test: PredEquals, Values: []any{true}}}}},
	{name: "error_recovery_example", input: "runs_list.json", path: "/runs",
		edits: []EditSpec{
			{Kind: EditMap, Path: "data.#.status", Values: recoveryStatuses},
			{Kind: EditRemove, Path: "data.#", Fields: []string{"hasEverEnteredErrorRecovery"}},
			{Kind: EditRename, Path: "data.#.outputFileIds", To: "outputFiles"},
		}},
}

func (c declaredCase) spec() Spec {
	return Spec{Name: "test-" + c.name[:3], Description: "a test change", Version: "6", Routes: []string{"GET /runs"}, Edits: c.edits}
}

// TestDeclaredGolden checks each edit kind against a golden file, against
// the encoding/json oracle, and that the bytes it must not touch stay.
func TestDeclaredGolden(t *testing.T) {
	for _, c := range declaredCases {
		t.Run(c.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(declaredInputs, c.input))
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDeclared(c.spec())
			if err != nil {
				t.Fatal(err)
			}
			out, err := d.Downgrade(&Input{Method: "GET", Path: c.path, Status: 200, Body: in})
			if c.wantErr {
				if err == nil {
					t.Fatalf("want an error, got a body of %d bytes", len(bodyBytes(out, in)))
				}
				if _, ok := oracleApply(mustTree(t, in), c.spec()); ok {
					t.Errorf("the oracle applies what the change refused")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := bodyBytes(out, in)
			if c.wantUnchanged != (out.Body == nil) {
				t.Errorf("changed %t, want %t", out.Body != nil, !c.wantUnchanged)
			}
			want, ok := oracleApply(mustTree(t, in), c.spec())
			if !ok {
				t.Fatal("the oracle refuses the body")
			}
			if gotTree := mustTree(t, got); !sameTree(gotTree, want) {
				t.Errorf("meaning differs from the oracle's:\n got %s", got)
			}
			checkUntouched(t, c.edits, in, got)
			golden := filepath.Join(declaredGolden, c.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantBytes, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got, wantBytes) {
				t.Errorf("output differs from %s:\n got %s\nwant %s", golden, got, wantBytes)
			}
		})
	}
}

func bodyBytes(o Outcome, in []byte) []byte {
	if o.Body == nil {
		return in
	}
	return bytes.Join(o.Body.Pieces(nil), nil)
}

func mustTree(t testing.TB, b []byte) any {
	t.Helper()
	v, ok := decodeTree(b)
	if !ok {
		t.Fatalf("not one JSON value: %.200s", b)
	}
	return v
}

// checkUntouched checks what an edit kind may change: removals only take
// bytes out, maps and renames only replace string tokens. A spec mixing
// kinds gets the meaning check alone.
func checkUntouched(t testing.TB, edits []EditSpec, in, out []byte) {
	t.Helper()
	kinds := map[string]bool{}
	for _, e := range edits {
		kinds[e.Kind] = true
	}
	switch {
	case len(kinds) != 1:
	case kinds[EditRemove] || kinds[EditDrop] && !hasCount(edits):
		if !isSubsequence(out, in) {
			t.Errorf("a removal did more than take bytes out")
		}
	case kinds[EditMap]:
		if !onlyStringsReplaced(in, out, func(from, to string) bool { return mappedBy(edits, from, to) }) {
			t.Errorf("a map changed bytes other than mapped strings")
		}
	case kinds[EditRename]:
		if !onlyStringsReplaced(in, out, func(from, to string) bool { return renamedBy(edits, from, to) }) {
			t.Errorf("a rename changed bytes other than renamed keys")
		}
	}
}

func hasCount(edits []EditSpec) bool {
	for _, e := range edits {
		if e.Count != "" {
			return true
		}
	}
	return false
}

func mappedBy(edits []EditSpec, from, to string) bool {
	for _, e := range edits {
		if n, ok := e.Values[from]; ok && n == to {
			return true
		}
	}
	return false
}

func renamedBy(edits []EditSpec, from, to string) bool {
	for _, e := range edits {
		steps := oracleSteps(e.Path)
		if unescapeStep(steps[len(steps)-1]) == from && e.To == to {
			return true
		}
	}
	return false
}
