package transforms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
)

// bodyEdit is one compiled edit of a declared change.
type bodyEdit interface {
	// queue queues in e the replacements the edit makes in the document,
	// and says how many places it changed. An error means the body is not
	// one the edit can apply to.
	queue(d *jsonDoc, e *editor) (n int, err error)
	// action names what the edit does to records, for metrics and logs.
	action() string
}

// Record actions of declared changes.
const (
	ActionMapped  = "mapped"
	ActionRemoved = "removed"
	ActionRenamed = "renamed"
	ActionDropped = "dropped"
)

var errUnplaced = errors.New("gjson could not place a value of the body")

// spanOf is where a gjson result taken from the body's text sits in the
// body; ok is false when gjson could not place it.
func spanOf(r gjson.Result) (span, bool) {
	if r.Index <= 0 || r.Raw == "" {
		return span{}, false
	}
	return span{r.Index, r.Index + len(r.Raw)}, true
}

// memberSpans lists the members of an object from key to value, calling
// visit with each key; ok is false when gjson could not place one.
func memberSpans(obj gjson.Result, dst []span, visit func(key gjson.Result)) ([]span, bool) {
	ok := true
	obj.ForEach(func(key, value gjson.Result) bool {
		v, vok := spanOf(value)
		if key.Index <= 0 || !vok {
			ok = false
			return false
		}
		visit(key)
		dst = append(dst, span{key.Index, v.end})
		return true
	})
	return dst, ok
}

// mapEdit replaces string values: each value the path reaches that is a
// JSON string equal to a key of values becomes that key's value.
type mapEdit struct {
	path   jsonPath
	values map[string][]byte // old value -> the new value as JSON text
}

func (m *mapEdit) action() string { return ActionMapped }

func (m *mapEdit) queue(doc *jsonDoc, e *editor) (n int, err error) {
	m.path.visit(doc, doc.root(), func(v gjson.Result) bool {
		if v.Type != gjson.String {
			return true
		}
		repl, ok := m.values[v.Str]
		if !ok {
			return true
		}
		s, ok := spanOf(v)
		if !ok {
			err = errUnplaced
			return false
		}
		e.replace(s, repl)
		n++
		return true
	})
	return n, err
}

// removeEdit drops fields (with one separator each) from the objects the
// path reaches.
type removeEdit struct {
	path   jsonPath
	fields map[string]bool
}

func (r *removeEdit) action() string { return ActionRemoved }

func (r *removeEdit) queue(doc *jsonDoc, e *editor) (n int, err error) {
	var members []span
	var drop []bool
	r.path.visitObjects(doc, doc.root(), func(obj gjson.Result) bool {
		found := 0
		drop = drop[:0]
		var ok bool
		members, ok = memberSpans(obj, members[:0], func(key gjson.Result) {
			d := r.fields[key.Str]
			drop = append(drop, d)
			if d {
				found++
			}
		})
		if !ok {
			err = errUnplaced
			return false
		}
		if found > 0 {
			e.removeItems(members, drop)
			n += found
		}
		return true
	})
	return n, err
}

// renameEdit renames a field of the objects its parent path reaches,
// rewriting only the key.
type renameEdit struct {
	parent   jsonPath
	from, to string
	toJSON   []byte
}

func (r *renameEdit) action() string { return ActionRenamed }

func (r *renameEdit) queue(doc *jsonDoc, e *editor) (n int, err error) {
	r.parent.visitObjects(doc, doc.root(), func(obj gjson.Result) bool {
		var keys []span
		taken := false
		obj.ForEach(func(k, _ gjson.Result) bool {
			switch k.Str {
			case r.from:
				keys = append(keys, span{k.Index, k.Index + len(k.Raw)})
			case r.to:
				taken = true
			}
			return true
		})
		if len(keys) == 0 {
			return true
		}
		if taken {
			// Renaming would make two members of one name: which one a
			// client reads would depend on its decoder.
			err = fmt.Errorf("rename %s to %s: the object already has a field %s", r.from, r.to, r.to)
			return false
		}
		for _, k := range keys {
			if k.start <= 0 {
				err = errUnplaced
				return false
			}
			e.replace(k, r.toJSON)
			n++
		}
		return true
	})
	return n, err
}

// dropEdit removes the elements of the arrays the path reaches for which
// the predicate holds, and lowers the integer the count path names (such
// as meta.totalLength) by the number removed.
type dropEdit struct {
	path  jsonPath
	where predicate
	count *jsonPath
}

func (d *dropEdit) action() string { return ActionDropped }

func (d *dropEdit) queue(doc *jsonDoc, e *editor) (n int, err error) {
	root := doc.root()
	var items []span
	var drop []bool
	d.path.visit(doc, root, func(arr gjson.Result) bool {
		if !arr.IsArray() {
			return true
		}
		items, drop = items[:0], drop[:0]
		found := 0
		doc.elements(arr, func(el gjson.Result) bool {
			s, ok := spanOf(el)
			if !ok {
				err = errUnplaced
				return false
			}
			holds := d.where.holds(doc, el)
			items, drop = append(items, s), append(drop, holds)
			if holds {
				found++
			}
			return true
		})
		if err != nil {
			return false
		}
		if found > 0 {
			e.removeItems(items, drop)
			n += found
		}
		return true
	})
	if err != nil || n == 0 || d.count == nil {
		return n, err
	}
	d.count.visit(doc, root, func(c gjson.Result) bool {
		var total int64
		total, err = strconv.ParseInt(c.Raw, 10, 64)
		if c.Type != gjson.Number || err != nil {
			err = fmt.Errorf("count %s: %s is not an integer", d.count.text, c.Raw)
			return false
		}
		if total < int64(n) {
			err = fmt.Errorf("count %s: %d is less than the %d elements dropped", d.count.text, total, n)
			return false
		}
		s, ok := spanOf(c)
		if !ok {
			err = errUnplaced
			return false
		}
		e.replace(s, strconv.AppendInt(nil, total-int64(n), 10))
		return true
	})
	return n, err
}

// predicate decides which array elements a drop edit removes.
type predicate struct {
	path   jsonPath
	exists *bool    // the test is whether the path reaches a value
	values []scalar // else: whether a value it reaches equals one of these
}

func (p *predicate) holds(doc *jsonDoc, el gjson.Result) bool {
	found := false
	p.path.visit(doc, el, func(v gjson.Result) bool {
		if p.exists != nil {
			found = true
			return false
		}
		for _, s := range p.values {
			if s.equal(v) {
				found = true
				return false
			}
		}
		return true
	})
	if p.exists != nil {
		return found == *p.exists
	}
	return found
}

// scalar is a JSON string, number, boolean or null a predicate compares
// values with.
type scalar struct {
	typ gjson.Type
	str string
	num float64
}

// scalarOf reads a value as a configuration decoder gives it.
func scalarOf(v any) (scalar, error) {
	switch x := v.(type) {
	case nil:
		return scalar{typ: gjson.Null}, nil
	case bool:
		if x {
			return scalar{typ: gjson.True}, nil
		}
		return scalar{typ: gjson.False}, nil
	case string:
		return scalar{typ: gjson.String, str: x}, nil
	case int:
		return scalar{typ: gjson.Number, num: float64(x)}, nil
	case int64:
		return scalar{typ: gjson.Number, num: float64(x)}, nil
	case uint64:
		return scalar{typ: gjson.Number, num: float64(x)}, nil
	case float64:
		return scalar{typ: gjson.Number, num: x}, nil
	}
	return scalar{}, fmt.Errorf("%v is not a string, number, boolean or null", v)
}

func (s scalar) equal(v gjson.Result) bool {
	if v.Type != s.typ {
		return false
	}
	switch s.typ {
	case gjson.String:
		return v.Str == s.str
	case gjson.Number:
		return v.Num == s.num
	}
	return true
}

// quoteJSON is s as a JSON string. Like robot-server, it leaves <, > and &
// as they are.
func quoteJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
