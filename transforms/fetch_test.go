package transforms

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// statusRename is a test-only change newer than BadRun: its version renamed
// a run status, so older clients get the old name back, in run lists and
// single runs alike.
type statusRename struct {
	ver      string
	from, to string // the new name, the old one
}

func (c statusRename) Name() string              { return "status-rename" }
func (c statusRename) Version() *version.Version { return v(c.ver) }
func (c statusRename) Description() string       { return "run status " + c.to + " is now " + c.from }
func (c statusRename) Applies(method, path string) bool {
	return method == "GET" && (path == "/runs" || strings.HasPrefix(path, "/runs/"))
}

func (c statusRename) Downgrade(in *Input) (Outcome, error) {
	if in.Status/100 != 2 {
		return Outcome{}, nil
	}
	var paths []string
	switch data := gjson.GetBytes(in.Body, "data"); {
	case data.IsArray():
		data.ForEach(func(k, run gjson.Result) bool {
			if run.Get("status").Str == c.from {
				paths = append(paths, "data."+k.String()+".status")
			}
			return true
		})
	case data.IsObject() && data.Get("status").Str == c.from:
		paths = append(paths, "data.status")
	}
	if len(paths) == 0 {
		return Outcome{}, nil
	}
	body := bytes.Clone(in.Body) // sjson may write in place; in.Body is not ours
	for _, p := range paths {
		var err error
		if body, err = sjson.SetBytes(body, p, c.to); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{Body: BodyOf(body), Records: []Record{{Action: "renamed", Count: len(paths)}}}, nil
}

// TestFetchComposes refills a pageLength window through a chain of two
// changes: the status rename (version 6) and BadRun (version 5). The window
// of 3 holds a bad run, so BadRun fetches the full list and rebuilds the
// window from it: every run of the refilled window, the one that only the
// fetched list holds included, must carry the rename too.
func TestFetchComposes(t *testing.T) {
	full := readInput(t, "full.json")
	window := readInput(t, "full_page3.json")
	rename := statusRename{ver: "6", from: "succeeded", to: "completed"}
	plan := NewChain(NewBadRun(v("5"), Hide), rename).Plan(v("3"), "GET", "/runs")
	if names(plan) != "status-rename badrun" {
		t.Fatalf("plan %q", names(plan))
	}
	up := func(path string) (int, []byte, bool) { return 200, full, path == "/runs" }
	out, fetches := applyLikeProxy(t, plan, Input{Method: "GET", Path: "/runs", Query: "pageLength=3", Status: 200, Body: window}, up)
	if len(fetches) != 1 || out.Body == nil {
		t.Fatalf("fetches %q, changed %t: the window should have been refilled", fetches, out.Changed())
	}
	got, ok := readList(read(t, out.Body))
	if !ok {
		t.Fatalf("not a run list: %s", read(t, out.Body))
	}
	src, _ := readList(full)
	want := src.lastGood(3)
	inWindow, _ := readList(window)
	fetchedOnly := 0
	if len(got.runs) != len(want) {
		t.Fatalf("%d runs, want %d", len(got.runs), len(want))
	}
	for i, w := range want {
		wantRaw := strings.Replace(string(w.raw), `"status": "succeeded"`, `"status": "completed"`, 1)
		if string(got.runs[i].raw) != wantRaw {
			t.Errorf("run %d:\n got  %s\n want %s", i, got.runs[i].raw, wantRaw)
		}
		if _, found := inWindow.find(w.id); !found {
			fetchedOnly++
			if !strings.Contains(string(w.raw), `"status": "succeeded"`) {
				t.Fatalf("test bug: run %s, only in the fetched list, has no status to rename", w.id)
			}
		}
	}
	if fetchedOnly == 0 {
		t.Fatal("test bug: no run of the refilled window comes from the fetched list only")
	}
	if bytes.Contains(read(t, out.Body), []byte(`"succeeded"`)) {
		t.Errorf("a run kept its new status name: %s", read(t, out.Body))
	}
}

// fetchEcho is a change that fetches /f and answers with the fetched body
// plus its name, as fakeChange appends it: it shows what form it got.
type fetchEcho struct{ fakeChange }

func (f *fetchEcho) Downgrade(in *Input) (Outcome, error) {
	if in.Fetched == nil {
		return Outcome{Fetch: "/f"}, nil
	}
	fb := string(in.Fetched.Body)
	return Outcome{Body: BodyOf([]byte(fb[:len(fb)-1] + f.name + `"`))}, nil
}

// failing is a change that leaves responses of /x alone and fails on a
// fetched /f, or asks for a fetch there.
type failing struct {
	fakeChange
	fetch string
}

func (f *failing) Downgrade(in *Input) (Outcome, error) {
	switch {
	case in.Path != "/f":
		return Outcome{}, nil
	case f.fetch != "":
		return Outcome{Fetch: f.fetch}, nil
	}
	return Outcome{}, errors.New("broken")
}

func TestPlanApplyFetched(t *testing.T) {
	echo := &fetchEcho{fakeChange{name: "e", ver: "5"}}
	tests := []struct {
		name    string
		newer   []Change // newer than echo, newest first
		fetched Fetched
		want    string // the body echo answers with; "" for an Apply error
	}{
		{"no newer change", nil, Fetched{Path: "/f", Status: 200, Body: []byte(`"x"`)}, `"xe"`},
		{"through every newer change, newest first",
			[]Change{&fakeChange{name: "c", ver: "7"}, &fakeChange{name: "b", ver: "6"}},
			Fetched{Path: "/f", Status: 200, Body: []byte(`"x"`)}, `"xcbe"`},
		{"a query is not part of the route",
			[]Change{&fakeChange{name: "b", ver: "6", routes: []string{"GET /x", "GET /f"}}},
			Fetched{Path: "/f?a=1", Status: 200, Body: []byte(`"x"`)}, `"xbe"`},
		{"a change that does not touch the fetched route leaves it",
			[]Change{&fakeChange{name: "b", ver: "6", routes: []string{"GET /x"}}},
			Fetched{Path: "/f", Status: 200, Body: []byte(`"x"`)}, `"xe"`},
		{"an error answer is not reshaped",
			[]Change{&fakeChange{name: "b", ver: "6"}},
			Fetched{Path: "/f", Status: 404, Body: []byte(`"x"`)}, `"xe"`},
		{"a failing newer change fails the plan",
			[]Change{&failing{fakeChange: fakeChange{name: "b", ver: "6", routes: []string{"GET /f"}}}},
			Fetched{Path: "/f", Status: 200, Body: []byte(`"x"`)}, ""},
		{"a newer change may not fetch for the fetched answer",
			[]Change{&failing{fakeChange: fakeChange{name: "b", ver: "6", routes: []string{"GET /f"}}, fetch: "/g"}},
			Fetched{Path: "/f", Status: 200, Body: []byte(`"x"`)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := append(append(Plan{}, tt.newer...), echo)
			fetched := tt.fetched
			orig := bytes.Clone(fetched.Body)
			out, applied, err := plan.Apply(Input{Method: "GET", Path: "/x", Status: 200, Body: []byte(`""`), Fetched: &fetched})
			if !bytes.Equal(fetched.Body, orig) || fetched.Status != tt.fetched.Status {
				t.Fatalf("Apply changed the fetched answer it was given")
			}
			if tt.want == "" {
				if err == nil {
					t.Fatalf("no error; body %s", read(t, out.Body))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(read(t, out.Body)); got != tt.want || applied[len(applied)-1] != echo {
				t.Errorf("echo answered %s (applied %q), want %s", got, names(applied), tt.want)
			}
		})
	}
}
