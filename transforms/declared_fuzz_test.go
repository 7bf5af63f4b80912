package transforms

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

var fuzzPaths = []string{"data.#.status", "data.status", "data", "data.#", "meta.totalLength", "#", "data.#.actions.#", "data.0", "links.current"}

// fuzzSpec builds one edit from the fuzzer's choices; ok is false when the
// choices make no valid spec (the fuzzer's key is not a field name).
func fuzzSpec(kind, sel uint8, key, val string) (Spec, bool) {
	path := fuzzPaths[int(sel)%len(fuzzPaths)]
	e := EditSpec{Path: path}
	switch kind % 4 {
	case 0:
		e.Kind, e.Values = EditMap, map[string]string{key: val}
	case 1:
		e.Kind, e.Fields = EditRemove, []string{key}
	case 2:
		e.Kind, e.To = EditRename, key
	case 3:
		e.Kind = EditDrop
		e.Where = Predicate{Path: "status", Test: PredEquals, Values: []any{val}}
		switch (sel / 16) % 4 {
		case 1:
			e.Where = Predicate{Path: "status", Test: PredExists, Exists: sel&1 == 0}
		case 2:
			e.Where = Predicate{Path: "ok", Test: PredIn, Values: []any{false, val}}
		case 3:
			e.Where.Path = "actions.#.actionType"
		}
		if sel&2 != 0 {
			e.Count = "meta.totalLength"
		}
	}
	s := Spec{Name: "fuzz", Description: "fuzz", Version: "6", Routes: []string{"GET /runs"}, Edits: []EditSpec{e}}
	_, err := NewDeclared(s)
	return s, err == nil
}

// FuzzDeclaredEdit: no panic; a body that is not JSON is an error; an
// edited body is valid JSON, means what the encoding/json oracle says,
// differs from the input only where the edit kind may change bytes, and
// stays as it is when edited again (for edits that are idempotent).
func FuzzDeclaredEdit(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join(declaredInputs, "*.json"))
	for i, name := range inputs {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for kind := range uint8(4) {
			f.Add(b, kind, uint8(i*7+int(kind)), "awaiting-recovery", "paused")
			f.Add(b, kind, uint8(i*5+int(kind)*3), "hasEverEnteredErrorRecovery", "fixit")
		}
	}
	f.Add([]byte(`{"data": [{"status": "a", "st\u0061tus": "a"}], "meta": {"totalLength": 1}}`), uint8(3), uint8(2), "status", "a")
	f.Add([]byte(`{"data": {"status": "a"}, "meta": {"totalLength": 1e3}}`), uint8(0), uint8(1), "a", "b")
	f.Fuzz(func(t *testing.T, body []byte, kind, sel uint8, key, val string) {
		s, ok := fuzzSpec(kind, sel, key, val)
		if !ok {
			return
		}
		d, err := NewDeclared(s)
		if err != nil {
			t.Fatal(err)
		}
		in := &Input{Method: "GET", Path: "/runs", Status: 200, Body: body}
		out, err := d.Downgrade(in)
		if !validJSON(body) {
			if err == nil {
				t.Fatalf("no error for a body that is not JSON")
			}
			return
		}
		got := bodyBytes(out, body)
		if err == nil && json.Valid(body) && !json.Valid(got) {
			t.Fatalf("invalid JSON out of valid JSON:\n in %q\nout %q", body, got)
		}
		oracleSpeaks := json.Valid(body) && utf8.Valid(body) && !hasDuplicateKeys(body)
		if oracleSpeaks {
			want, ok := oracleApply(mustTree(t, body), s)
			switch {
			case !ok && err == nil:
				t.Fatalf("edited a body the oracle refuses:\n in %q\nout %q", body, got)
			case ok && err != nil:
				t.Fatalf("refused a body the oracle edits: %v\n in %q", err, body)
			case ok && !sameTree(mustTree(t, got), want):
				t.Fatalf("meaning differs from the oracle's:\n in %q\nout %q", body, got)
			}
		}
		if err != nil {
			return
		}
		if oracleSpeaks {
			checkUntouched(t, s.Edits, body, got)
		}
		e := s.Edits[0]
		if e.Kind == EditMap && e.Values[key] == key {
			return // a map onto its own value is its own fixed point anyway
		}
		again, err := d.Downgrade(&Input{Method: "GET", Path: "/runs", Status: 200, Body: got})
		if err != nil || again.Body != nil && string(bodyBytes(again, got)) != string(got) {
			t.Fatalf("a second pass changed the body (err %v):\nonce %q\ntwice %q", err, got, bodyBytes(again, got))
		}
	})
}

// FuzzParsePathAndRoute: the path and route parsers never panic; a path
// they accept walks any JSON without a panic, and a route they accept
// matches a request built from its own segments.
func FuzzParsePathAndRoute(f *testing.F) {
	for _, s := range []string{"data.#.status", `a\.b.#.0`, "data.@x", "#", "GET /runs/{id}", "PATCH /", "GET /a//b"} {
		f.Add(s, []byte(`{"data": [{"status": "a", "a.b": [[1]]}], "#": {"0": 1}}`))
	}
	f.Fuzz(func(t *testing.T, s string, body []byte) {
		if p, err := parsePath(s); err == nil && validJSON(body) {
			doc := newDoc(body)
			p.visit(doc, doc.root(), func(v gjson.Result) bool {
				if !v.Exists() {
					t.Fatalf("%q reached a value that does not exist", s)
				}
				return true
			})
		}
		r, err := parseRoute(s)
		if err != nil {
			return
		}
		parts := make([]string, len(r.segments))
		for i, seg := range r.segments {
			parts[i] = seg
			if seg == anySegment {
				parts[i] = "x"
			}
		}
		if path := "/" + strings.Join(parts, "/"); !r.matches(r.method, path) {
			t.Fatalf("route %q does not match %s %s", s, r.method, path)
		}
	})
}
