package transforms

import (
	"errors"
	"strings"
	"testing"
)

func TestRouteMatching(t *testing.T) {
	rs := mustRoutes("GET /runs", "GET /runs/{id}", "POST /runs/{id}/actions", "GET /")
	for _, tt := range []struct {
		method, path string
		want         bool
	}{
		{"GET", "/runs", true},
		{"GET", "/runs/abc", true},
		{"POST", "/runs/abc/actions", true},
		{"GET", "/", true},
		{"POST", "/runs", false},
		{"GET", "/runs/", false},
		{"GET", "/runs/abc/commands", false},
		{"GET", "/runs//actions", false},
		{"POST", "/runs//actions", false},
		{"GET", "runs", false},
		{"GET", "", false},
		{"GET", "/runsx", false},
		{"get", "/runs", false},
	} {
		if got := rs.matches(tt.method, tt.path); got != tt.want {
			t.Errorf("%s %s: matches %t, want %t", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestParseRouteErrors(t *testing.T) {
	for _, s := range []string{"", "GET", "/runs", "get /runs", "GET runs", "GET  /runs", "GET /runs?x=1",
		"GET /runs/{id", "GET /runs/x{id}", "GET /runs//x", "GET /runs/{}", "GET /runs/{{id}}", "G3T /runs"} {
		if _, err := parseRoute(s); err == nil {
			t.Errorf("parseRoute(%q): no error", s)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want: the steps, "#" for each, "[n]" for an index
	}{
		{"data.#.status", "data # status"},
		{"data.status", "data status"},
		{"data.0.status", "data [0] status"},
		{`a\.b.c`, "a.b c"},
		{`data.\#`, "data #"}, // a field named "#"
		{"meta.totalLength", "meta totalLength"},
		{"data.01", "data 01"},
	} {
		p, err := parsePath(tt.in)
		if err != nil {
			t.Errorf("parsePath(%q): %v", tt.in, err)
			continue
		}
		var got []string
		for _, st := range p.steps {
			switch {
			case st.each:
				got = append(got, "#")
			case st.index >= 0:
				got = append(got, "["+st.key+"]")
			default:
				got = append(got, st.key)
			}
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("parsePath(%q) = %q, want %q", tt.in, g, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "data.", ".data", "a..b", "data.#(status==x)", "data.@reverse", "data|x",
		"data.*", "data.st?tus", "data.#x", `data\`, "data.[0]", "a,b", "data.{id}"} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("parsePath(%q): no error", bad)
		}
	}
}

func TestNewDeclaredErrors(t *testing.T) {
	good := func() Spec {
		return Spec{Name: "error-recovery", Description: "d", Version: "6", Routes: []string{"GET /runs"},
			Edits: []EditSpec{{Kind: EditMap, Path: "data.#.status", Values: map[string]string{"a": "b"}}}}
	}
	if _, err := NewDeclared(good()); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	for _, tt := range []struct {
		name   string
		modify func(*Spec)
		edit   int
		field  string
		index  int
	}{
		{"bad name", func(s *Spec) { s.Name = "Error_Recovery" }, -1, "name", -1},
		{"built-in name", func(s *Spec) { s.Name = "badrun" }, -1, "name", -1},
		{"no description", func(s *Spec) { s.Description = "" }, -1, "description", -1},
		{"bad version", func(s *Spec) { s.Version = "six" }, -1, "version", -1},
		{"no routes", func(s *Spec) { s.Routes = nil }, -1, "routes", -1},
		{"bad route", func(s *Spec) { s.Routes = []string{"GET /runs", "runs"} }, -1, "routes", 1},
		{"no edits", func(s *Spec) { s.Edits = nil }, -1, "edits", -1},
		{"unknown kind", func(s *Spec) { s.Edits[0].Kind = "replace" }, 0, "kind", -1},
		{"modifier", func(s *Spec) { s.Edits[0].Path = "data.@reverse" }, 0, "path", -1},
		{"query", func(s *Spec) { s.Edits[0].Path = `data.#(status=="x")` }, 0, "path", -1},
		{"empty path", func(s *Spec) { s.Edits[0].Path = "" }, 0, "path", -1},
		{"map no values", func(s *Spec) { s.Edits[0].Values = nil }, 0, "map", -1},
		{"remove nothing", func(s *Spec) { s.Edits = append(s.Edits, EditSpec{Kind: EditRemove, Path: "data"}) }, 1, "remove", -1},
		{"rename to nothing", func(s *Spec) { s.Edits[0] = EditSpec{Kind: EditRename, Path: "data.x"} }, 0, "rename", -1},
		{"rename to itself", func(s *Spec) { s.Edits[0] = EditSpec{Kind: EditRename, Path: "data.x", To: "x"} }, 0, "rename", -1},
		{"rename each", func(s *Spec) { s.Edits[0] = EditSpec{Kind: EditRename, Path: "data.#", To: "x"} }, 0, "path", -1},
		{"drop bad where path", func(s *Spec) {
			s.Edits[0] = EditSpec{Kind: EditDrop, Path: "data", Where: Predicate{Path: "a..b", Test: PredExists}}
		}, 0, "where.path", -1},
		{"drop no test", func(s *Spec) { s.Edits[0] = EditSpec{Kind: EditDrop, Path: "data", Where: Predicate{Path: "a"}} }, 0, "where", -1},
		{"drop in nothing", func(s *Spec) {
			s.Edits[0] = EditSpec{Kind: EditDrop, Path: "data", Where: Predicate{Path: "a", Test: PredIn}}
		}, 0, "where.in", -1},
		{"drop in a list value", func(s *Spec) {
			s.Edits[0] = EditSpec{Kind: EditDrop, Path: "data", Where: Predicate{Path: "a", Test: PredIn, Values: []any{"x", []any{1}}}}
		}, 0, "where.in", 1},
		{"drop count walks", func(s *Spec) {
			s.Edits[0] = EditSpec{Kind: EditDrop, Path: "data", Count: "data.#.n", Where: Predicate{Path: "a", Test: PredExists}}
		}, 0, "count", -1},
	} {
		s := good()
		tt.modify(&s)
		_, err := NewDeclared(s)
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v, want a *SpecError", tt.name, err)
			continue
		}
		if se.Edit != tt.edit || se.Field != tt.field || se.Index != tt.index {
			t.Errorf("%s: error at edit %d field %q index %d, want %d %q %d (%v)", tt.name, se.Edit, se.Field, se.Index, tt.edit, tt.field, tt.index, err)
		}
		if !strings.Contains(err.Error(), `change "`+s.Name+`"`) {
			t.Errorf("%s: %q does not name the change", tt.name, err)
		}
	}
}

// TestDeclaredBodiesItCannotEdit: a body that is not JSON is an error (the
// proxy passes it through and counts it); a non-2xx answer is left alone.
func TestDeclaredBodiesItCannotEdit(t *testing.T) {
	d, err := NewDeclared(Spec{Name: "x", Description: "d", Version: "6", Routes: []string{"GET /runs"},
		Edits: []EditSpec{{Kind: EditMap, Path: "data.#.status", Values: map[string]string{"a": "b"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"", "{", `{"data": [}`, "not json", `{"data": [{"status": "a"}]} x`} {
		if _, err := d.Downgrade(&Input{Method: "GET", Path: "/runs", Status: 200, Body: []byte(body)}); !errors.Is(err, errNotJSON) {
			t.Errorf("%q: error %v, want errNotJSON", body, err)
		}
	}
	out, err := d.Downgrade(&Input{Method: "GET", Path: "/runs", Status: 404, Body: []byte(`{"data": [{"status": "a"}]}`)})
	if err != nil || out.Changed() {
		t.Errorf("a 404: changed %t, err %v", out.Changed(), err)
	}
	out, err = d.Downgrade(&Input{Method: "GET", Path: "/runs", Status: 200, Body: []byte(`{"data": [{"status": "a"}, {"status": "c"}, {"status": "a"}]}`)})
	if err != nil || string(bodyBytes(out, nil)) != `{"data": [{"status": "b"}, {"status": "c"}, {"status": "b"}]}` {
		t.Errorf("map: %v %s", err, bodyBytes(out, nil))
	}
	if len(out.Records) != 1 || out.Records[0] != (Record{Action: ActionMapped, Count: 2}) {
		t.Errorf("records %+v, want mapped 2", out.Records)
	}
}

func TestChangelog(t *testing.T) {
	six, err := NewDeclared(Spec{Name: "six", Description: "Six.", Version: "6", Routes: []string{"GET /runs", "GET /runs/{id}"},
		Edits: []EditSpec{{Kind: EditMap, Path: "data.status", Values: map[string]string{"a": "b"}}}})
	if err != nil {
		t.Fatal(err)
	}
	alsoSix, err := NewDeclared(Spec{Name: "also-six", Description: "Also six.", Version: "6.0", Routes: []string{"GET /x"},
		Edits: []EditSpec{{Kind: EditRemove, Path: "data", Fields: []string{"f"}}}})
	if err != nil {
		t.Fatal(err)
	}
	l := NewChain(NewBadRun(v("5"), Hide), six, alsoSix).Changelog()
	var got []string
	for _, ver := range l.Versions {
		for _, c := range ver.Changes {
			got = append(got, ver.Version+":"+c.Name+":"+strings.Join(c.Routes, ","))
		}
	}
	want := "6:six:GET /runs,GET /runs/{id} 6:also-six:GET /x 5:badrun:GET /runs,POST /runs,GET /runs/{id},PATCH /runs/{id}"
	if strings.Join(got, " ") != want || l.Newest != "6" || len(l.Versions) != 2 {
		t.Errorf("changelog %q newest %q, want %q newest 6 in two versions", strings.Join(got, " "), l.Newest, want)
	}
	var md strings.Builder
	if err := l.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"## Version 6\n\n### six\n\nSix.\n\nRoutes: `GET /runs`, `GET /runs/{id}`\n", "## Version 5\n\n### badrun\n"} {
		if !strings.Contains(md.String(), part) {
			t.Errorf("markdown lacks %q:\n%s", part, md.String())
		}
	}
	if strings.Index(md.String(), "Version 6") > strings.Index(md.String(), "Version 5") {
		t.Errorf("markdown not newest first")
	}
}
