package transforms

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/hashicorp/go-version"
)

// Spec declares a version change in configuration instead of code: what
// robot-server changed in a version, and the edits that give clients below
// it the shape they knew.
type Spec struct {
	Name        string
	Description string
	Version     string // a go-version string, such as "6" or "7.3.0"
	Routes      []string
	Edits       []EditSpec
}

// EditSpec is one edit of a declared change; Kind says which fields count.
type EditSpec struct {
	Kind   string            // EditMap, EditRemove, EditRename or EditDrop
	Path   string            // the values, objects, field or arrays the edit works on
	Values map[string]string // map: old value -> new value
	Fields []string          // remove: the fields to drop
	To     string            // rename: the field's new name
	Where  Predicate         // drop: which elements go
	Count  string            // drop: the integer field to recount, or ""
}

// Edit kinds.
const (
	EditMap    = "map"
	EditRemove = "remove"
	EditRename = "rename"
	EditDrop   = "drop"
)

// EditKinds lists the edit kinds, for error messages.
var EditKinds = []string{EditMap, EditRemove, EditRename, EditDrop}

// Predicate selects array elements: it holds when Path, taken from the
// element, reaches a value equal to Values[0] (Test "equals") or to one of
// Values ("in"), or reaches a value or not as Exists says ("exists").
type Predicate struct {
	Path   string
	Test   string // PredEquals, PredIn or PredExists
	Values []any  // strings, numbers, booleans or nil (null)
	Exists bool
}

// Predicate tests.
const (
	PredEquals = "equals"
	PredIn     = "in"
	PredExists = "exists"
)

// SpecError is a declared change that cannot be built. Edit is the edit's
// index (-1 for the change itself) and Field the key at fault ("name",
// "version", "routes", "path", "map", "where.path", ...), so that a
// configuration loader can point at its line.
type SpecError struct {
	Change string
	Edit   int
	Kind   string
	Field  string
	Index  int // the element of a list field at fault, or -1
	Err    error
}

func (e *SpecError) Error() string {
	where := fmt.Sprintf("change %q", e.Change)
	if e.Edit >= 0 {
		where += fmt.Sprintf(", edit %d", e.Edit+1)
		if e.Kind != "" {
			where += " (" + e.Kind + ")"
		}
	}
	return where + ": " + e.Field + ": " + e.Err.Error()
}

func (e *SpecError) Unwrap() error { return e.Err }

// namePattern is the form of change names: they are metric label values and
// parts of the Otcompat-Applied header.
var namePattern = regexp.MustCompile(`^[a-z0-9-]+$`)

// builtinNames are taken by the changes built into otcompat.
var builtinNames = []string{badRunName}

// Declared is a version change built from a Spec.
type Declared struct {
	spec              Spec
	name, description string
	version           *version.Version
	routes            routeSet
	edits             []bodyEdit
}

// NewDeclared checks a spec and builds its change.
func NewDeclared(s Spec) (*Declared, error) {
	fail := func(edit int, kind, field string, index int, err error) error {
		return &SpecError{Change: s.Name, Edit: edit, Kind: kind, Field: field, Index: index, Err: err}
	}
	switch {
	case !namePattern.MatchString(s.Name):
		return nil, fail(-1, "", "name", -1, errors.New("want lower-case letters, digits and dashes, such as error-recovery"))
	case slices.Contains(builtinNames, s.Name):
		return nil, fail(-1, "", "name", -1, fmt.Errorf("%s is the name of a built-in change", s.Name))
	case s.Description == "":
		return nil, fail(-1, "", "description", -1, errors.New("missing: it is the change's changelog entry"))
	}
	d := &Declared{spec: s, name: s.Name, description: s.Description}
	var err error
	if d.version, err = version.NewVersion(s.Version); err != nil {
		return nil, fail(-1, "", "version", -1, fmt.Errorf("%q is not a version, such as 6 or 7.3.0", s.Version))
	}
	if len(s.Routes) == 0 {
		return nil, fail(-1, "", "routes", -1, errors.New("missing: name the routes the change touches, such as \"GET /runs\""))
	}
	for i, text := range s.Routes {
		r, err := parseRoute(text)
		if err != nil {
			return nil, fail(-1, "", "routes", i, err)
		}
		d.routes = append(d.routes, r)
	}
	if len(s.Edits) == 0 {
		return nil, fail(-1, "", "edits", -1, errors.New("missing: a change makes at least one edit"))
	}
	for i, es := range s.Edits {
		ed, field, index, err := newEdit(es)
		if err != nil {
			return nil, fail(i, es.Kind, field, index, err)
		}
		d.edits = append(d.edits, ed)
	}
	return d, nil
}

// newEdit compiles one edit; on error it names the field at fault.
func newEdit(s EditSpec) (ed bodyEdit, field string, index int, err error) {
	path, err := parsePath(s.Path)
	if err != nil {
		return nil, "path", -1, err
	}
	switch s.Kind {
	case EditMap:
		if len(s.Values) == 0 {
			return nil, "map", -1, errors.New("no values to map: give old: new pairs")
		}
		m := &mapEdit{path: path, values: make(map[string][]byte, len(s.Values))}
		for old, new := range s.Values {
			if !utf8.ValidString(new) {
				return nil, "map", -1, fmt.Errorf("%q is not UTF-8 text", new)
			}
			m.values[old] = []byte(quoteJSON(new))
		}
		return m, "", -1, nil
	case EditRemove:
		if len(s.Fields) == 0 {
			return nil, "remove", -1, errors.New("no fields to remove")
		}
		r := &removeEdit{path: path, fields: map[string]bool{}}
		for _, f := range s.Fields {
			r.fields[f] = true
		}
		return r, "", -1, nil
	case EditRename:
		parent, last := path.parent()
		switch {
		case last.each:
			return nil, "path", -1, fmt.Errorf("path %q: a rename's path ends at the field to rename, not at #", s.Path)
		case s.To == "":
			return nil, "rename", -1, errors.New("missing: the field's new name")
		case !utf8.ValidString(s.To):
			return nil, "rename", -1, fmt.Errorf("%q is not UTF-8 text", s.To)
		case s.To == last.key:
			return nil, "rename", -1, fmt.Errorf("%s is already the field's name", s.To)
		}
		return &renameEdit{parent: parent, from: last.key, to: s.To, toJSON: []byte(quoteJSON(s.To))}, "", -1, nil
	case EditDrop:
		d := &dropEdit{path: path}
		if d.where, field, index, err = newPredicate(s.Where); err != nil {
			return nil, field, index, err
		}
		if s.Count != "" {
			c, err := parsePath(s.Count)
			if err != nil {
				return nil, "count", -1, err
			}
			if c.walks() {
				return nil, "count", -1, fmt.Errorf("path %q: a count names one field, without #", s.Count)
			}
			d.count = &c
		}
		return d, "", -1, nil
	}
	return nil, "kind", -1, fmt.Errorf("unknown edit %q (allowed: map, remove, rename, drop)", s.Kind)
}

func newPredicate(s Predicate) (p predicate, field string, index int, err error) {
	if p.path, err = parsePath(s.Path); err != nil {
		return p, "where.path", -1, err
	}
	switch s.Test {
	case PredExists:
		exists := s.Exists
		p.exists = &exists
		return p, "", -1, nil
	case PredEquals, PredIn:
		if len(s.Values) == 0 || (s.Test == PredEquals && len(s.Values) != 1) {
			return p, "where." + s.Test, -1, errors.New("give the value(s) to compare with")
		}
		for i, v := range s.Values {
			sc, err := scalarOf(v)
			if err != nil {
				return p, "where." + s.Test, i, err
			}
			p.values = append(p.values, sc)
		}
		return p, "", -1, nil
	}
	return p, "where", -1, fmt.Errorf("unknown test %q (allowed: equals, exists, in)", s.Test)
}

func (d *Declared) Name() string              { return d.name }
func (d *Declared) Version() *version.Version { return d.version }
func (d *Declared) Description() string       { return d.description }

// Spec is the spec the change was built from.
func (d *Declared) Spec() Spec { return d.spec }

// Routes lists the change's routes as declared.
func (d *Declared) Routes() []string { return d.routes.texts() }

func (d *Declared) Applies(method, path string) bool { return d.routes.matches(method, path) }

// errNotJSON is a body a declared change's route answered that is not JSON.
var errNotJSON = errors.New("the body is not valid JSON")

// Downgrade makes the edits in order, each on the previous one's result.
// Paths that reach nothing change nothing; a body the edits cannot apply to
// is an error, and the proxy then passes the response through unchanged.
func (d *Declared) Downgrade(in *Input) (Outcome, error) {
	if in.Status/100 != 2 {
		return Outcome{}, nil
	}
	// The scanner validates faster than gjson, and like robot-server
	// (Python's json) it takes NaN and Infinity, which gjson reads as numbers.
	if !validJSON(in.Body) {
		return Outcome{}, fmt.Errorf("change %s: %w", d.name, errNotJSON)
	}
	body := in.Body
	doc := newDoc(body)
	var out Outcome
	for i, ed := range d.edits {
		var e editor
		n, err := ed.queue(doc, &e)
		if err != nil {
			return Outcome{}, fmt.Errorf("change %s, edit %d (%s): %w", d.name, i+1, ed.action(), err)
		}
		if e.empty() {
			continue
		}
		edited := e.body(body)
		for j := 1; j < len(e.edits); j++ {
			if e.edits[j].start < e.edits[j-1].end {
				return Outcome{}, fmt.Errorf("change %s, edit %d (%s): it changes a place twice", d.name, i+1, ed.action())
			}
		}
		out.Body = edited
		out.Records = addRecord(out.Records, ed.action(), n)
		if i < len(d.edits)-1 {
			body = edited.Bytes() // the next edit reads this one's result
			doc = newDoc(body)
		}
	}
	return out, nil
}

func addRecord(rs []Record, action string, n int) []Record {
	for i := range rs {
		if rs[i].Action == action {
			rs[i].Count += n
			return rs
		}
	}
	return append(rs, Record{Action: action, Count: n})
}
