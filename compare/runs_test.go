package compare

import (
	"reflect"
	"testing"
)

func TestKindOf(t *testing.T) {
	tests := map[string]string{
		"/runs": KindRunList, "/runs?pageLength=0": KindRunList, "/runs/": KindRunList,
		"/runs/abc": KindRun, "/runs/abc?x=1": KindRun,
		"/runs/abc/commands": KindOther, "/health": KindOther, "/maintenance_runs": KindOther, "/runsx": KindOther,
	}
	for path, want := range tests {
		if got := kindOf(path); got != want {
			t.Errorf("kindOf(%q) = %s, want %s", path, got, want)
		}
	}
}

func TestRunsOf(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		status int
		body   string
		want   []RunMark
	}{
		{"list", KindRunList, 200, `{"data": [{"id": "a", "ok": true}, {"id": "b", "ok": false, "dataError": {}}, {"id": "c", "dataError": null}, {"id": "d"}], "meta": {}}`,
			[]RunMark{{"a", false}, {"b", true}, {"c", true}, {"d", false}}},
		{"single bad", KindRun, 200, `{"data": {"id": "b", "ok": false}}`, []RunMark{{"b", true}}},
		{"single good", KindRun, 200, `{"data": {"id": "a", "ok": true}}`, []RunMark{{"a", false}}},
		{"not found", KindRun, 404, `{"errors": [{"id": "RunNotFound"}]}`, nil},
		{"empty list", KindRunList, 200, `{"data": [], "links": {}}`, []RunMark{}},
		{"not JSON", KindRunList, 200, `<html>`, nil},
		{"data of the wrong shape", KindRunList, 200, `{"data": {"id": "a"}}`, nil},
		{"other path", KindOther, 200, `{"data": [{"id": "a"}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runsOf(tt.kind, tt.status, []byte(tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMergeOrder(t *testing.T) {
	tests := []struct {
		lists [][]string
		want  []string
	}{
		{[][]string{{"a", "c"}, {"a", "b", "c"}}, []string{"a", "b", "c"}},
		{[][]string{{"b", "d"}, {"a", "b", "c", "d"}, {"d", "e"}}, []string{"a", "b", "c", "d", "e"}},
		{[][]string{{"x"}, {"a", "b"}}, []string{"x", "a", "b"}},
		{[][]string{{"a", "z"}, {"a", "b"}}, []string{"a", "b", "z"}},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := mergeOrder(tt.lists...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("mergeOrder(%q) = %q, want %q", tt.lists, got, tt.want)
		}
	}
}
