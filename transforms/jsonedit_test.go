package transforms

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// itemSpans finds the items of the top-level array or object of s with
// encoding/json, independently of gjson: array elements, or object members
// from the key's opening quote to the end of the value.
func itemSpans(t *testing.T, s string) []span {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	isObj := tok == json.Delim('{')
	// start skips the whitespace and separator before the next token.
	start := func() int {
		i := int(dec.InputOffset())
		for i < len(s) && strings.IndexByte(" \t\r\n,", s[i]) >= 0 {
			i++
		}
		return i
	}
	var spans []span
	for dec.More() {
		from := start()
		if isObj {
			if _, err := dec.Token(); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		spans = append(spans, span{from, int(dec.InputOffset())})
	}
	return spans
}

// dropAt marks the items to drop from a string of '.' (keep) and 'x' (drop).
func dropAt(pattern string) []bool {
	d := make([]bool, len(pattern))
	for i := range pattern {
		d[i] = pattern[i] == 'x'
	}
	return d
}

func TestEditorRemoveItems(t *testing.T) {
	tests := []struct {
		name string
		in   string
		drop string // one char per item: x drops it
		want string
	}{
		{"array first", `[1, 2, 3]`, "x..", `[2, 3]`},
		{"array middle", `[1, 2, 3]`, ".x.", `[1, 3]`},
		{"array last", `[1, 2, 3]`, "..x", `[1, 2]`},
		{"array adjacent middle", `[1, 2, 3, 4]`, ".xx.", `[1, 4]`},
		{"array adjacent first", `[1, 2, 3, 4]`, "xx..", `[3, 4]`},
		{"array adjacent last", `[1, 2, 3, 4]`, "..xx", `[1, 2]`},
		{"array alternate", `[1, 2, 3, 4, 5]`, "x.x.x", `[2, 4]`},
		{"array two groups", `[1, 2, 3, 4, 5, 6]`, ".xx.x.", `[1, 4, 6]`},
		{"array all", `[1, 2, 3]`, "xxx", `[]`},
		{"array only item", `[{"a": 1}]`, "x", `[]`},
		{"array none", `[1, 2, 3]`, "...", `[1, 2, 3]`},
		{"array all but first", `[1, 2, 3]`, ".xx", `[1]`},
		{"array all but last", `[1, 2, 3]`, "xx.", `[3]`},
		{"array compact", `[1,2,3]`, ".x.", `[1,3]`},
		{"array compact first", `[1,2,3]`, "x..", `[2,3]`},
		{"array spaces around commas", `[ 1 , 2 , 3 ]`, ".x.", `[ 1 , 3 ]`},
		{"array spaces first", `[ 1 , 2 , 3 ]`, "x..", `[ 2 , 3 ]`},
		{"array spaces last", `[ 1 , 2 , 3 ]`, "..x", `[ 1 , 2 ]`},
		{"array spaces all", `[ 1 , 2 ]`, "xx", `[  ]`},
		{"array pretty", "[\n  {\"a\": 1},\n  {\"b\": [2, 3]},\n  {\"c\": \"]\"}\n]", ".x.", "[\n  {\"a\": 1},\n  {\"c\": \"]\"}\n]"},
		{"array pretty first", "[\n  {\"a\": 1},\n  {\"b\": [2, 3]}\n]", "x.", "[\n  {\"b\": [2, 3]}\n]"},
		{"array pretty last", "[\n  {\"a\": 1},\n  {\"b\": [2, 3]}\n]", ".x", "[\n  {\"a\": 1}\n]"},
		{"array tabs and CRLF", "[1,\r\n\t2,\r\n\t3]", ".x.", "[1,\r\n\t3]"},
		{"array nested values with commas", `[{"x": [1, 2], "y": "a, b"}, "s, t", [3, [4, 5]]]`, ".x.", `[{"x": [1, 2], "y": "a, b"}, [3, [4, 5]]]`},
		{"array strings with escapes", `["a\"b", "c\\", "d\u00b5"]`, "x.x", `["c\\"]`},
		{"object first", `{"a": 1, "b": 2, "c": 3}`, "x..", `{"b": 2, "c": 3}`},
		{"object middle", `{"a": 1, "b": 2, "c": 3}`, ".x.", `{"a": 1, "c": 3}`},
		{"object last", `{"a": 1, "b": 2, "c": 3}`, "..x", `{"a": 1, "b": 2}`},
		{"object adjacent", `{"id": "r", "ok": false, "dataError": {"id": "E"}, "status": "stopped"}`, ".xx.", `{"id": "r", "status": "stopped"}`},
		{"object all", `{"a": 1, "b": 2}`, "xx", `{}`},
		{"object only member", `{"current": {"href": "/runs/x"}}`, "x", `{}`},
		{"object compact", `{"a":1,"b":2,"c":3}`, ".x.", `{"a":1,"c":3}`},
		{"object spaces around colon and comma", `{ "a" : 1 , "b":2 , "c" : [ 3 ] }`, "x..", `{ "b":2 , "c" : [ 3 ] }`},
		{"object spaces last", `{ "a" : 1 , "b":2 , "c" : [ 3 ] }`, "..x", `{ "a" : 1 , "b":2 }`},
		{"object pretty", "{\n  \"a\": {\n    \"x\": 1\n  },\n  \"b\": 2\n}", "x.", "{\n  \"b\": 2\n}"},
		{"object escaped key", `{"d\u0061taError": {}, "ok": true}`, "x.", `{"ok": true}`},
		{"object key with separators", `{"a, b": "c: d", "e": 1}`, ".x", `{"a, b": "c: d"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := itemSpans(t, tt.in)
			if len(items) != len(tt.drop) {
				t.Fatalf("test bug: %d items in %q, %d in drop pattern", len(items), tt.in, len(tt.drop))
			}
			src := []byte(tt.in)
			orig := bytes.Clone(src)
			var e editor
			e.removeItems(items, dropAt(tt.drop))
			if e.empty() != !strings.Contains(tt.drop, "x") {
				t.Errorf("empty() = %t with drop %q", e.empty(), tt.drop)
			}
			got := string(read(t, e.body(src)))
			if got != tt.want {
				t.Errorf("removeItems(%q, %s):\n got  %q\n want %q", tt.in, tt.drop, got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("result is not valid JSON: %q", got)
			}
			if !bytes.Equal(src, orig) {
				t.Errorf("apply modified its source")
			}
		})
	}
}
