package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"otcompat/transforms"
)

// changesFile is the shape of the README and examples: the path first.
const changesFile = `changes:
  - name: error-recovery
    description: Runs can enter error recovery.
    version: 6
    routes: ["GET /runs", "GET /runs/{id}"]
    edits:
      - path: data.#.status
        map: {awaiting-recovery: paused}
      - path: data.status
        map: {awaiting-recovery: paused}
      - path: data.#
        remove: [hasEverEnteredErrorRecovery]
      - path: data.#.outputFileIds
        rename: outputFiles
      - path: data
        drop: {path: status, in: [awaiting-recovery]}
        count: meta.totalLength
`

// changesFileKindFirst is the same change with the kind first.
const changesFileKindFirst = `changes:
  - name: error-recovery
    description: Runs can enter error recovery.
    version: "6"
    routes: ["GET /runs", "GET /runs/{id}"]
    edits:
      - map: {path: data.#.status, values: {awaiting-recovery: paused}}
      - map: {path: data.status, values: {awaiting-recovery: paused}}
      - remove: {path: data.#, fields: [hasEverEnteredErrorRecovery]}
      - rename: {path: data.#.outputFileIds, to: outputFiles}
      - drop: {path: data, where: {path: status, in: [awaiting-recovery]}, count: meta.totalLength}
`

// changesFileByField writes the map edits field by field under their path,
// the other forms' edits as they are.
const changesFileByField = `changes:
  - name: error-recovery
    description: Runs can enter error recovery.
    version: 6
    routes: ["GET /runs", "GET /runs/{id}"]
    edits:
      - path: data.#
        map: {status: {awaiting-recovery: paused}}
      - map: {path: data, values: {status: {awaiting-recovery: paused}}}
      - path: data.#
        remove: [hasEverEnteredErrorRecovery]
      - path: data.#.outputFileIds
        rename: outputFiles
      - path: data
        drop: {path: status, in: [awaiting-recovery]}
        count: meta.totalLength
`

// TestParseChangesBothForms: every form declares the same change, which
// edits a body the same way.
func TestParseChangesBothForms(t *testing.T) {
	body := []byte(`{"data": [{"id": "a", "status": "awaiting-recovery", "hasEverEnteredErrorRecovery": true, "outputFileIds": []}, ` +
		`{"id": "b", "status": "succeeded", "hasEverEnteredErrorRecovery": false, "outputFileIds": ["f"]}], "meta": {"cursor": 0, "totalLength": 2}}`)
	var outs []string
	for _, text := range []string{changesFile, changesFileKindFirst, changesFileByField} {
		f, err := testSchema.Parse("otcompat.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Changes) != 1 {
			t.Fatalf("%d changes", len(f.Changes))
		}
		c := f.Changes[0]
		if c.Name() != "error-recovery" || c.Version().String() != "6.0.0" || !c.Applies("GET", "/runs/x") || c.Applies("POST", "/runs") {
			t.Errorf("change %s@%s", c.Name(), c.Version())
		}
		out, err := c.Downgrade(&transforms.Input{Method: "GET", Path: "/runs", Status: 200, Body: body})
		if err != nil || out.Body == nil {
			t.Fatalf("Downgrade: %v", err)
		}
		outs = append(outs, string(out.Body.Bytes()))
	}
	// The drop runs last: the run awaiting recovery is paused by then.
	want := `{"data": [{"id": "a", "status": "paused", "outputFiles": []}, {"id": "b", "status": "succeeded", "outputFiles": ["f"]}], "meta": {"cursor": 0, "totalLength": 2}}`
	for i, o := range outs {
		if o != want {
			t.Errorf("form %d: %s\nwant %s", i+1, o, want)
		}
	}
}

func TestParseChangesErrors(t *testing.T) {
	const head = "changes:\n  - name: x\n    description: d\n    version: 6\n    routes: [\"GET /runs\"]\n    edits:\n"
	for _, tt := range []struct {
		name, text string
		want       []string // each a whole error line
	}{
		{"unknown edit kind", head + "      - path: data.status\n        replace: {a: b}\n",
			[]string{`f.yaml:8:9: changes: change "x", edit 1: unknown edit "replace"; allowed: path, map, remove, rename, drop, count`}},
		{"unknown edit kind first", head + "      - replace: {path: data.status, values: {a: b}}\n",
			[]string{`f.yaml:7:9: changes: change "x", edit 1: unknown edit "replace"; allowed: map, remove, rename, drop`}},
		{"modifier path", head + "      - path: data.@reverse\n        map: {a: b}\n",
			[]string{`f.yaml:7:15: changes: change "x", edit 1 (map): path: path "data.@reverse": "@" is gjson query, wildcard or modifier syntax, which can match places no edit names; a path is field names and # (each element), with \ before a literal @`}},
		{"query path kind first", head + "      - map: {path: \"data.#(status==x)\", values: {a: b}}\n",
			[]string{`f.yaml:7:21: changes: change "x", edit 1 (map): path: path "data.#(status==x)": "#" is gjson query, wildcard or modifier syntax, which can match places no edit names; a path is field names and # (each element), with \ before a literal #`}},
		{"empty path", head + "      - remove: {path: \"\", fields: [f]}\n",
			[]string{`f.yaml:7:24: changes: change "x", edit 1 (remove): path: empty path: name a field, such as data.#.status`}},
		{"bad route", strings.Replace(head, `["GET /runs"]`, `["GET /runs", "runs/{id}"]`, 1) + "      - path: data\n        remove: [f]\n",
			[]string{`f.yaml:5:27: changes: change "x": routes: route "runs/{id}": want METHOD /path, such as "GET /runs/{id}" (method in upper case)`}},
		{"bad version", strings.Replace(head, "version: 6", "version: six", 1) + "      - path: data\n        remove: [f]\n",
			[]string{`f.yaml:4:14: changes: change "x": version: "six" is not a version, such as 6 or 7.3.0`}},
		{"same name twice", head + "      - path: data\n        remove: [f]\n" + strings.TrimPrefix(head, "changes:\n") + "      - path: data\n        remove: [g]\n",
			[]string{`f.yaml:9:5: changes: change name "x" used twice (first on line 2)`}},
		{"built-in name", strings.Replace(head, "name: x", "name: badrun", 1) + "      - path: data\n        remove: [f]\n",
			[]string{`f.yaml:2:11: changes: change "badrun": name: badrun is the name of a built-in change`}},
		{"two kinds", head + "      - path: data\n        remove: [f]\n        rename: g\n",
			[]string{`f.yaml:9:9: changes: change "x", edit 1: an edit is one of map, remove, rename, drop: remove and rename both given`}},
		{"no kind", head + "      - path: data\n",
			[]string{`f.yaml:7:9: changes: change "x", edit 1: an edit needs one of map, remove, rename, drop`}},
		{"drop without test", head + "      - path: data\n        drop: {path: status}\n",
			[]string{`f.yaml:8:15: changes: change "x", edit 1: drop: needs a test: equals, exists or in`}},
		{"map by field, then not", head + "      - path: data.#\n        map: {status: {a: b}, current: x}\n",
			[]string{`f.yaml:8:40: changes: change "x", edit 1: map: current: want that field's values, old: new, not "x" (write every field of a map the same way)`}},
		{"map by field, not a field", head + "      - path: data.#\n        map: {\"st.atus\": {a: b}}\n",
			[]string{`f.yaml:8:15: changes: change "x", edit 1: map: field "st.atus": want a plain field name (letters, digits, _ and -) when map is written field by field`}},
		{"map by field, bad path", head + "      - path: \"data.#(x)\"\n        map: {status: {a: b}}\n",
			[]string{`f.yaml:7:15: changes: change "x", edit 1 (map): path: path "data.#(x).status": "#" is gjson query, wildcard or modifier syntax, which can match places no edit names; a path is field names and # (each element), with \ before a literal #`}},
		{"count on a map", head + "      - path: data.status\n        map: {a: b}\n        count: meta.totalLength\n",
			[]string{`f.yaml:9:16: changes: change "x", edit 1: count: only a drop edit recounts`}},
		{"unknown change key", head + "      - path: data\n        remove: [f]\n    since: 6\n",
			[]string{`f.yaml:9:5: changes: change "x", unknown key "since" in a change; allowed: name, description, version, routes, edits`}},
		{"every problem at once", "changes:\n  - name: Bad_Name\n    description: d\n    version: 6\n    routes: [\"GET /runs\"]\n    edits: [{path: data, remove: [f]}]\n" +
			"  - name: y\n    description: d\n    version: 7..0\n    routes: [\"GET /runs\"]\n    edits: [{path: data, remove: [f]}]\n",
			[]string{`f.yaml:2:11: changes: change "Bad_Name": name: want lower-case letters, digits and dashes, such as error-recovery`,
				`f.yaml:9:14: changes: change "y": version: "7..0" is not a version, such as 6 or 7.3.0`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testSchema.Parse("f.yaml", []byte(tt.text))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestRenderChangesRoundTrip: what config check prints of the changes
// parses back to the same specs.
func TestRenderChangesRoundTrip(t *testing.T) {
	const more = `  - name: drops
    description: d
    version: 7.3.0
    routes: ["GET /runs/{id}/commands"]
    edits:
      - drop: {path: data, where: {path: n, equals: 5}, count: meta.totalLength}
      - drop: {path: data.#.a, where: {path: b, exists: false}}
      - drop: {path: data, where: {path: "x\\.y", in: [true, null, 1.5, "s"]}}
`
	f, err := testSchema.Parse("f.yaml", []byte(changesFile+more))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, f.Changes)
	if empty, err := RenderChanges(nil); err != nil || string(empty) != "changes: []\n" {
		t.Errorf("no changes: %q %v", empty, err)
	}
}

// FuzzParseChanges: any changes section is answered without a panic, with
// changes or with problems that each name a line and column; changes that
// pass, rendered again, read back to the same specs.
func FuzzParseChanges(f *testing.F) {
	for _, s := range []string{changesFile, changesFileKindFirst, "changes: []\n", "changes: [{name: x}]\n",
		"changes:\n  - {name: a, description: d, version: 1, routes: ['GET /'], edits: [{path: a, drop: {path: b, in: [1, null, x]}, count: c}]}\n",
		"changes:\n  - {name: a, description: d, version: 1, routes: ['GET /{x}'], edits: [{rename: {path: 'a\\.b.c', to: d}}]}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		file, err := testSchema.Parse("f.yaml", []byte(text))
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v (%T)", err, err)
			}
			for _, e := range es {
				if e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("no position: %v", e)
				}
			}
			return
		}
		roundTrip(t, file.Changes)
	})
}

// roundTrip checks that changes, rendered as config check prints them, read
// back to the same specs.
func roundTrip(t *testing.T, changes []*transforms.Declared) {
	t.Helper()
	out, err := RenderChanges(changes)
	if err != nil {
		t.Fatal(err)
	}
	again, err := testSchema.Parse("rendered.yaml", out)
	if err != nil {
		t.Fatalf("rendered changes do not pass: %v\n%s", err, out)
	}
	if len(again.Changes) != len(changes) {
		t.Fatalf("%d changes, read back %d", len(changes), len(again.Changes))
	}
	for i := range changes {
		if a, b := changes[i].Spec(), again.Changes[i].Spec(); !reflect.DeepEqual(a, b) {
			t.Fatalf("change %d:\n%#v\nread back\n%#v\nfrom\n%s", i, a, b, out)
		}
	}
}
