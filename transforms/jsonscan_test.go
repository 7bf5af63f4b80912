package transforms

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSON(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{` {"a": [1, -2.5e+3, true, false, null, "x\u00b5\n"]} `, true},
		{`{"a": NaN, "b": Infinity, "c": -Infinity}`, true}, // Python's json.dumps writes these
		{`[]`, true},
		{`"s"`, true},
		{`{"a": 1,}`, false},
		{`{"a" 1}`, false},
		{`{"a": 01}`, false},
		{`{"a": 1.}`, false},
		{`{"a": 1e}`, false},
		{`{"a": -}`, false},
		{`{"a": "\x"}`, false},
		{`{"a": "\u12"}`, false},
		{"{\"a\": \"tab\there\"}", false},
		{`{"a": tru}`, false},
		{`{"a": "unterminated}`, false},
		{`{"a": [1, 2}`, false},
		{`{} {}`, false},
		{``, false},
		{strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), false},
		{strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), true},
	}
	for _, tt := range tests {
		if got := validJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("validJSON(%.60q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzValidJSON: the scanner accepts exactly what encoding/json accepts, plus
// Python's NaN and Infinity literals (and never panics).
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"data": [{"id": "a", "ok": false}], "meta": {"totalLength": 1}}`,
		`[1, 2.5e-3, "\u00b5"]`, `{"a": NaN}`, `"\ud800"`, `{"a":}`, "\"\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, std := validJSON(b), json.Valid(b)
		if got == std {
			return
		}
		python := strings.Contains(string(b), "NaN") || strings.Contains(string(b), "Infinity")
		deep := strings.Count(string(b), "[")+strings.Count(string(b), "{") > maxDepth
		if !(got && python) && !(std && deep) {
			t.Fatalf("validJSON = %v, encoding/json.Valid = %v for %q", got, std, b)
		}
	})
}
