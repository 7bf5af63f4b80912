package transforms

import (
	"encoding/json"
	"fmt"
	"testing"
)

// runCases are run objects and how the one BadRun rule judges them.
var runCases = []struct {
	name string
	run  string
	id   string
	bad  bool
}{
	{"good", `{"id": "a", "ok": true, "status": "succeeded"}`, "a", false},
	{"no ok at all", `{"id": "a", "status": "stopped"}`, "a", false},
	{"ok false", `{"id": "a", "ok": false}`, "a", true},
	{"dataError only", `{"id": "a", "dataError": {"id": "RunDataError"}}`, "a", true},
	{"dataError null", `{"id": "a", "ok": true, "dataError": null}`, "a", true},
	{"ok false and dataError", `{"id": "a", "ok": false, "dataError": {}}`, "a", true},
	{"ok not a boolean", `{"id": "a", "ok": "false"}`, "a", false},
	{"ok null", `{"id": "a", "ok": null}`, "a", false},
	{"escaped ok key", `{"id": "a", "\u006fk": false}`, "a", true},
	{"escaped ok key, upper-case hex", `{"id": "a", "\u006F\u006B": false}`, "a", true},
	{"escaped dataError key", `{"id": "a", "d\u0061taError": {}}`, "a", true},
	{"escaped id key", `{"\u0069d": "a", "ok": false}`, "a", true},
	{"escaped id value", `{"id": "a\u002db", "ok": false}`, "a-b", true},
	{"a key that only looks like ok", `{"id": "a", "ok ": false, "Ok": false, "ok\u0000": false}`, "a", false},
	{"duplicate ok, false first", `{"id": "a", "ok": false, "ok": true}`, "a", true},
	{"duplicate ok, false last", `{"id": "a", "ok": true, "ok": false}`, "a", true},
	{"nested ok false does not count", `{"id": "a", "ok": true, "errors": [{"ok": false, "dataError": {}}]}`, "a", false},
	{"ok false as text in a value", `{"id": "a", "detail": "\"ok\": false, \"dataError\""}`, "a", false},
	{"the last id counts", `{"id": "a", "id": "b"}`, "b", false},
	{"an id that is not a string", `{"id": 7, "ok": false}`, "", true},
	{"no id", `{"ok": false}`, "", true},
	{"compact", `{"id":"a","ok":false}`, "a", true},
	{"indented", "{\n  \"id\" : \"a\" ,\n  \"ok\" :\tfalse\n}", "a", true},
}

// TestRunJudgedAloneAndListed reads each run as the one element of a list
// and as a single run body: both readings give the same id and verdict.
func TestRunJudgedAloneAndListed(t *testing.T) {
	for _, tc := range runCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, b := range []struct {
				body  string
				shape bodyShape
			}{
				{`{"data": [` + tc.run + `]}`, listBody},
				{`{"data": ` + tc.run + `}`, runBody},
			} {
				l, shape := readRunList([]byte(b.body), false)
				if shape != b.shape || len(l.items) != 1 {
					t.Fatalf("%s: shape %d with %d items, want %d with 1", b.body, shape, len(l.items), b.shape)
				}
				if got := string(l.ids[0]); got != tc.id || l.bad[0] != tc.bad {
					t.Errorf("%s: id %q bad %t, want %q %t", b.body, got, l.bad[0], tc.id, tc.bad)
				}
				if wantBad := l.nBad == 1; wantBad != tc.bad || l.nBad > 1 {
					t.Errorf("%s: nBad %d", b.body, l.nBad)
				}
				if s := l.items[0]; b.body[s.start:s.end] != tc.run {
					t.Errorf("%s: the run's span holds %q", b.body, b.body[s.start:s.end])
				}
			}
		})
	}
}

// TestReadRunListShape covers the top level: which bodies are run bodies,
// and that the first of duplicate keys counts.
func TestReadRunListShape(t *testing.T) {
	tests := []struct {
		body  string
		shape bodyShape
		items int
	}{
		{`{"data": []}`, listBody, 0},
		{` {"data": [{"id": "a"}, {"id": "b"}], "meta": {}} ` + "\n", listBody, 2},
		{`{"data": {"id": "a"}}`, runBody, 1},
		{`{"d\u0061ta": {"id": "a"}}`, runBody, 1},
		{`{"data": [{"id": "a"}], "data": {"id": "b"}}`, listBody, 1},
		{`{"data": {"id": "a"}, "data": [{"id": "b"}, {"id": "c"}]}`, runBody, 1},
		{`{"data": null}`, notRunBody, 0},
		{`{"data": "x"}`, notRunBody, 0},
		{`{"meta": {"totalLength": 0}}`, notRunBody, 0},
		{`{"data": [1, 2]}`, notRunBody, 0},
		{`{"data": [[{"id": "a"}]]}`, notRunBody, 0},
		{`[{"data": []}]`, notRunBody, 0},
		{`{"data": []} {}`, notRunBody, 0},
		{`{"data": [{"id": "a"}]`, notRunBody, 0},
		{`{"data": [{"id": "a", "ok": fals}]}`, notRunBody, 0},
		{`{"data": [], "other": NaN}`, listBody, 0},
		{``, notRunBody, 0},
		{`<html>`, notRunBody, 0},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			l, shape := readRunList([]byte(tt.body), false)
			if shape != tt.shape {
				t.Fatalf("shape %d, want %d", shape, tt.shape)
			}
			if shape != notRunBody && len(l.items) != tt.items {
				t.Errorf("%d items, want %d", len(l.items), tt.items)
			}
		})
	}
}

// TestReadRunListLinks covers links: its members' spans, which is
// "current", and the run its href names.
func TestReadRunListLinks(t *testing.T) {
	tests := []struct {
		links   string
		members []string
		current int // index among members, -1 for none
		id      string
	}{
		{`{}`, nil, -1, ""},
		{`{"current": {"href": "/runs/abc"}}`, []string{`"current": {"href": "/runs/abc"}`}, 0, "abc"},
		{`{"other": 1, "current": {"href": "/runs/abc", "meta": {}}}`,
			[]string{`"other": 1`, `"current": {"href": "/runs/abc", "meta": {}}`}, 1, "abc"},
		{`{"curr\u0065nt": {"hr\u0065f": "\/runs\/a\u0062c"}}`, []string{`"curr\u0065nt": {"hr\u0065f": "\/runs\/a\u0062c"}`}, 0, "abc"},
		{`{"current": {"href": "/runs/"}}`, []string{`"current": {"href": "/runs/"}`}, 0, ""},
		{`{"current": {"href": "/protocols/abc"}}`, []string{`"current": {"href": "/protocols/abc"}`}, 0, ""},
		{`{"current": {"href": 7}}`, []string{`"current": {"href": 7}`}, 0, ""},
		{`{"current": "/runs/abc"}`, []string{`"current": "/runs/abc"`}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.links, func(t *testing.T) {
			body := `{"data": [], "links": ` + tt.links + `}`
			l, shape := readRunList([]byte(body), false)
			if shape != listBody {
				t.Fatalf("shape %d", shape)
			}
			if len(l.links) != len(tt.members) || len(l.current) != len(tt.members) {
				t.Fatalf("%d members (%d marks), want %d", len(l.links), len(l.current), len(tt.members))
			}
			for i, want := range tt.members {
				if got := body[l.links[i].start:l.links[i].end]; got != want {
					t.Errorf("member %d is %q, want %q", i, got, want)
				}
				if l.current[i] != (i == tt.current) {
					t.Errorf("member %d current %t", i, l.current[i])
				}
			}
			if string(l.currentID) != tt.id {
				t.Errorf("current id %q, want %q", l.currentID, tt.id)
			}
		})
	}
}

// TestReadRunListMeta covers meta: the first numeric totalLength is the one
// the change rewrites.
func TestReadRunListMeta(t *testing.T) {
	tests := []struct {
		meta  string
		total string // "" when none
	}{
		{`{"cursor": 0, "totalLength": 12}`, "12"},
		{`{"totalLength": -1.5e2}`, "-1.5e2"},
		{`{"tot\u0061lLength": 3}`, "3"},
		{`{"totalLength": "3"}`, ""},
		{`{"totalLength": null, "totalLength": 4}`, "4"},
		{`{"totalLength": 4, "totalLength": 5}`, "4"},
		{`{"cursor": 0}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.meta, func(t *testing.T) {
			body := `{"data": [], "meta": ` + tt.meta + `}`
			l, shape := readRunList([]byte(body), false)
			if shape != listBody {
				t.Fatalf("shape %d", shape)
			}
			got := ""
			if l.hasTotal {
				got = body[l.total.start:l.total.end]
			}
			if got != tt.total {
				t.Errorf("totalLength %q, want %q", got, tt.total)
			}
		})
	}
}

// TestReadRunListDegradeEdits checks that under degrade exactly the "ok"
// and "dataError" members of bad runs are queued for removal.
func TestReadRunListDegradeEdits(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"data": [{"id": "a", "ok": false, "dataError": {}, "x": 1}, {"id": "b", "ok": true}]}`,
			`{"data": [{"id": "a", "x": 1}, {"id": "b", "ok": true}]}`},
		{`{"data": {"\u006fk": false, "id": "a"}}`, `{"data": {"id": "a"}}`},
		{`{"data": {"id": "a", "ok": true, "ok": false}}`, `{"data": {"id": "a"}}`},
		{`{"data": [{"id": "a", "ok": true}]}`, `{"data": [{"id": "a", "ok": true}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			l, shape := readRunList([]byte(tt.body), true)
			if shape == notRunBody {
				t.Fatal("not a run body")
			}
			if got := string(read(t, l.strip.body([]byte(tt.body)))); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestJSONMemberIs(t *testing.T) {
	tests := []struct {
		key  string // as written, without quotes
		name string
		want bool
	}{
		{`ok`, "ok", true},
		{`ok`, "okay", false},
		{`\u006fk`, "ok", true},
		{`\u006Fk`, "ok", true},
		{`o\u006b`, "ok", true},
		{`\u006f`, "ok", false},
		{`d\u0061taError`, "dataError", true},
		{`\"ok\"`, "ok", false},
		{`ok\n`, "ok", false},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.name, func(t *testing.T) {
			s := scanner{b: []byte(`"` + tt.key + `"`)}
			if _, ok := s.str(0); !ok {
				t.Fatalf("test bug: %q is not a JSON string", tt.key)
			}
			m := jsonMember{key: []byte(tt.key), keyHasEscape: s.escaped}
			if got := m.is(tt.name); got != tt.want {
				t.Errorf("is(%q) = %t, want %t", tt.name, got, tt.want)
			}
		})
	}
}

func TestJSONString(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		ok   bool // false: nil, not a string
	}{
		{`"abc"`, "abc", true},
		{`""`, "", true},
		{`"a\"b"`, `a"b`, true},
		{`"\u00b5\n"`, "\u00b5\n", true},
		{`"\/runs\/x"`, "/runs/x", true},
		{`7`, "", false},
		{`null`, "", false},
		{`{"a": "b"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got := jsonString([]byte(tt.raw))
			if (got != nil) != tt.ok || string(got) != tt.want {
				t.Errorf("jsonString(%s) = %q (nil %t), want %q", tt.raw, got, got == nil, tt.want)
			}
		})
	}
}

// TestBadRunEscapedOKKey is the regression test for a run whose ok key is
// written with an escape: under every policy it is treated as the BadRun it
// is, in a list and alone.
func TestBadRunEscapedOKKey(t *testing.T) {
	const run = `{"id": "r1", "\u006fk": false, "status": "stopped"}`
	list := []byte(`{"data": [{"id": "r0", "ok": true}, ` + run + `], "links": {}, "meta": {"cursor": 0, "totalLength": 2}}`)
	single := []byte(`{"data": ` + run + `}`)
	wantList := map[Policy]string{
		Hide:    `{"data": [{"id": "r0", "ok": true}], "links": {}, "meta": {"cursor": 0, "totalLength": 1}}`,
		Error:   `{"data": [{"id": "r0", "ok": true}], "links": {}, "meta": {"cursor": 0, "totalLength": 1}}`,
		Degrade: `{"data": [{"id": "r0", "ok": true}, {"id": "r1", "status": "stopped"}], "links": {}, "meta": {"cursor": 0, "totalLength": 2}}`,
	}
	wantSingle := map[Policy]struct {
		status int
		body   string
	}{
		Hide:    {404, string(RunNotFound("r1"))},
		Error:   {500, `{"errors":[` + fallbackDataError + `]}`},
		Degrade: {200, `{"data": {"id": "r1", "status": "stopped"}}`},
	}
	for _, p := range Policies {
		t.Run(string(p), func(t *testing.T) {
			r := applyBadRun(t, p, "GET", "/runs", "", 200, list, nil)
			if !r.changed || string(r.body) != wantList[p] {
				t.Errorf("list: changed %t\n got  %s\n want %s", r.changed, r.body, wantList[p])
			}
			r = applyBadRun(t, p, "GET", "/runs/r1", "", 200, single, nil)
			if w := wantSingle[p]; !r.changed || r.status != w.status || string(r.body) != w.body {
				t.Errorf("single: changed %t, %d\n got  %s\n want %d %s", r.changed, r.status, r.body, w.status, w.body)
			}
		})
	}
}

// FuzzBadRunAloneAndListed checks that the list path and the single-run
// path always agree on a run: for any run object R, the hide policy removes
// R from {"data": [R]} exactly when it answers {"data": R} with RunNotFound,
// and degrade changes the one exactly when it changes the other.
func FuzzBadRunAloneAndListed(f *testing.F) {
	for _, tc := range runCases {
		f.Add([]byte(tc.run))
	}
	for _, runs := range modelRuns {
		for _, r := range runs {
			f.Add([]byte(fmt.Sprintf(r, "8fa6bcbe-a069-4b03-96f5-68a83bd1fcc3")))
		}
	}
	f.Fuzz(func(t *testing.T, run []byte) {
		if _, ok := objectMembers(run); !ok || !json.Valid(run) {
			return // not one run object
		}
		list := []byte(`{"data": [` + string(run) + `]}`)
		single := []byte(`{"data": ` + string(run) + `}`)
		l := applyBadRun(t, Hide, "GET", "/runs", "", 200, list, nil)
		s := applyBadRun(t, Hide, "GET", "/runs/x", "", 200, single, nil)
		hidden := l.changed && string(l.body) == `{"data": []}`
		notFound := s.status == 404
		if hidden != notFound || l.changed != hidden || s.changed != notFound {
			t.Fatalf("hide: listed %s -> %s (changed %t); alone -> %d %s", list, l.body, l.changed, s.status, s.body)
		}
		ld := applyBadRun(t, Degrade, "GET", "/runs", "", 200, list, nil)
		sd := applyBadRun(t, Degrade, "GET", "/runs/x", "", 200, single, nil)
		if ld.changed != hidden || sd.changed != hidden {
			t.Fatalf("degrade: listed changed %t, alone changed %t, hidden under hide %t for %s", ld.changed, sd.changed, hidden, run)
		}
		if rr, _ := readRun(run); rr.bad != hidden {
			t.Fatalf("the change says bad=%t, the oracle %t, for %s", hidden, rr.bad, run)
		}
	})
}

// TestRunListState covers how the change looks up the current run.
func TestRunListState(t *testing.T) {
	l, shape := readRunList([]byte(`{"data": [{"id": "a"}, {"id": "b", "ok": false}, {"ok": false}, {"id": "a", "ok": false}]}`), false)
	if shape != listBody {
		t.Fatalf("shape %d", shape)
	}
	tests := []struct {
		id         string
		found, bad bool
	}{
		{"a", true, false}, // the first run with the id counts
		{"b", true, true},
		{"c", false, false},
		{"", false, false}, // no id names no run, not even one without an id
	}
	for _, tt := range tests {
		if found, bad := l.state([]byte(tt.id)); found != tt.found || bad != tt.bad {
			t.Errorf("state(%q) = %t, %t; want %t, %t", tt.id, found, bad, tt.found, tt.bad)
		}
	}
}
