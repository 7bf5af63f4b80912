package transforms

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// jsonPath is the part of gjson's path syntax a declared change may use:
// field names separated by dots ("\." for a dot inside a name), "#" for each
// element of an array, and a number for one element (or a field of that
// name). Queries, wildcards and modifiers are refused: an edit must name the
// places it changes, so that every other byte can stay as it was.
type jsonPath struct {
	text  string
	steps []pathStep
}

type pathStep struct {
	key    string // the field name, unescaped
	each   bool   // "#": every element of an array
	index  int    // the element a numeric step names in an array; -1 otherwise
	quoted string // key as a JSON string, to look for as text
	gjson  string // key as a gjson path component
}

// newKeyStep is the step to a field.
func newKeyStep(key string) pathStep {
	st := pathStep{key: key, index: -1, quoted: quoteJSON(key)}
	var g strings.Builder
	for i := 0; i < len(key); i++ {
		if strings.IndexByte(gjsonSpecial+`.\`, key[i]) >= 0 {
			g.WriteByte('\\')
		}
		g.WriteByte(key[i])
	}
	st.gjson = g.String()
	return st
}

// textCount says how often an object's raw text spells the field's key
// with no escape: when the raw text holds no backslash, that bounds how
// many members can have that name.
func (st *pathStep) textCount(raw string) (n int, exact bool) {
	if strings.IndexByte(raw, '\\') >= 0 {
		return 0, false
	}
	return strings.Count(raw, st.quoted), true
}

// gjsonSpecial are the characters gjson gives a meaning in a path
// component; unescaped, a declared path refuses them.
const gjsonSpecial = "*?@|#!=<>%()[]{},"

// parsePath reads a declared path.
func parsePath(s string) (jsonPath, error) {
	if s == "" {
		return jsonPath{}, fmt.Errorf("empty path: name a field, such as data.#.status")
	}
	p := jsonPath{text: s}
	var key strings.Builder
	escaped := false // the component held an escape: "\#" is a field named "#"
	flush := func() error {
		k := key.String()
		switch {
		case k == "" && !escaped:
			return fmt.Errorf("path %q: empty component (two dots, or a dot at an end)", s)
		case k == "#" && !escaped:
			p.steps = append(p.steps, pathStep{each: true, index: -1})
		default:
			st := newKeyStep(k)
			if n, err := strconv.Atoi(k); err == nil && n >= 0 && !escaped && strconv.Itoa(n) == k {
				st.index = n
			}
			p.steps = append(p.steps, st)
		}
		key.Reset()
		escaped = false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return jsonPath{}, fmt.Errorf("path %q: a backslash at the end escapes nothing", s)
			}
			i++
			key.WriteByte(s[i])
			escaped = true
		case c == '.':
			if err := flush(); err != nil {
				return jsonPath{}, err
			}
		case c == '#' && key.Len() == 0 && (i+1 == len(s) || s[i+1] == '.'):
			key.WriteByte(c)
		case strings.IndexByte(gjsonSpecial, c) >= 0:
			return jsonPath{}, fmt.Errorf("path %q: %q is gjson query, wildcard or modifier syntax, which can match places no edit names; a path is field names and # (each element), with \\ before a literal %c", s, string(c), c)
		default:
			key.WriteByte(c)
		}
	}
	if err := flush(); err != nil {
		return jsonPath{}, err
	}
	return p, nil
}

// walks reports whether the path steps through array elements with "#".
func (p jsonPath) walks() bool {
	for _, st := range p.steps {
		if st.each {
			return true
		}
	}
	return false
}

// parent is the path without its last step, and that step: the object whose
// field the last step names.
func (p jsonPath) parent() (jsonPath, pathStep) {
	n := len(p.steps) - 1
	return jsonPath{text: p.text, steps: p.steps[:n]}, p.steps[n]
}

// jsonDoc is a validated body as the edits read it: gjson reads its text,
// one string copy whose offsets are the body's, and the scanner steps over
// array elements, which it does several times faster than gjson's ForEach.
type jsonDoc struct {
	body []byte
	text string
}

func newDoc(body []byte) *jsonDoc { return &jsonDoc{body: body, text: string(body)} }

func (d *jsonDoc) root() gjson.Result { return gjson.Parse(d.text) }

// elements calls fn with each element of arr, an array of the document,
// until fn returns false.
func (d *jsonDoc) elements(arr gjson.Result, fn func(el gjson.Result) bool) {
	s := scanner{b: d.body}
	more := true
	s.array(arr.Index, func(start int) (int, bool) {
		end, ok := s.value(start)
		if ok && more {
			el := gjson.Parse(d.text[start:end])
			el.Index = start
			more = fn(el)
		}
		return end, ok
	})
}

// visit calls fn with every value the path reaches from r, in document
// order, until fn returns false. An object field is reached under every key
// that spells it: a body with a duplicated key is edited in each place, so
// that the result reads the same whichever duplicate a decoder keeps.
func (p jsonPath) visit(d *jsonDoc, r gjson.Result, fn func(v gjson.Result) bool) bool {
	return visitSteps(d, r, p.steps, fn)
}

func visitSteps(d *jsonDoc, r gjson.Result, steps []pathStep, fn func(v gjson.Result) bool) bool {
	if len(steps) == 0 {
		return fn(r)
	}
	st, rest := steps[0], steps[1:]
	more := true
	switch {
	case r.IsArray() && (st.each || st.index >= 0):
		i := 0
		d.elements(r, func(v gjson.Result) bool {
			if st.each || i == st.index {
				more = visitSteps(d, v, rest, fn)
			}
			i++
			return more && (st.each || i <= st.index)
		})
	case r.IsObject() && !st.each:
		// Most objects spell a key once or not at all: gjson then finds
		// the member without reading the members after it.
		switch n, exact := st.textCount(r.Raw); {
		case exact && n == 0:
			return true
		case exact && n == 1:
			if v := r.Get(st.gjson); v.Exists() {
				more = visitSteps(d, v, rest, fn)
			}
			return more
		}
		r.ForEach(func(k, v gjson.Result) bool {
			if k.Str == st.key {
				more = visitSteps(d, v, rest, fn)
			}
			return more
		})
	}
	return more
}

// visitObjects calls fn with every object the path reaches, until fn
// returns false; values of other types are passed over.
func (p jsonPath) visitObjects(d *jsonDoc, r gjson.Result, fn func(obj gjson.Result) bool) {
	p.visit(d, r, func(v gjson.Result) bool {
		if !v.IsObject() {
			return true
		}
		return fn(v)
	})
}
