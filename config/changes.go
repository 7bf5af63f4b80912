package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"otcompat/transforms"
)

// The changes section declares version changes (see transforms.Spec). The
// section decodes the YAML shape; transforms checks what the values mean,
// and its errors name the key at fault, which the decoder turns back into
// the node of that key so each problem gets its line and column.
func init() { sections["changes"] = decodeChanges }

func decodeChanges(d *decoder, n *yaml.Node, f *File) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "changes: want a list of changes, not %s", kindName(n))
		return
	}
	names := map[string]int{}
	for _, cn := range n.Content {
		c, ok := d.change(cn)
		if !ok {
			continue
		}
		if line, dup := names[c.Name()]; dup {
			d.errorf(cn, "changes: change name %q used twice (first on line %d)", c.Name(), line)
			continue
		}
		names[c.Name()] = cn.Line
		f.Changes = append(f.Changes, c)
	}
}

// specNodes remembers where each part of a change was written.
type specNodes struct {
	change *yaml.Node
	keys   map[string]*yaml.Node // the values of name, description, version, routes, edits
	routes []*yaml.Node
	edits  []editNodes
}

// editNodes are where one edit's parts were written, by the field names
// transforms.SpecError uses.
type editNodes struct {
	edit   *yaml.Node
	fields map[string]*yaml.Node
	lists  map[string][]*yaml.Node
	// perField holds a map edit written field by field under its path
	// (path: data.#, map: {status: {old: new}}): one map edit a field.
	perField []fieldValues
}

// fieldValues is one field's old -> new values of a map written field by
// field.
type fieldValues struct {
	field  string
	values map[string]string
}

// change decodes one entry of changes; ok is false when it had a problem
// (reported).
func (d *decoder) change(n *yaml.Node) (*transforms.Declared, bool) {
	before := len(d.errs)
	var s transforms.Spec
	at := specNodes{change: n, keys: map[string]*yaml.Node{}}
	d.mapping(n, "changes: a change", func(key string, k, v *yaml.Node) {
		at.keys[key] = v
		switch key {
		case "name", "description", "version":
			text, ok := d.scalar(v, key)
			if !ok {
				return
			}
			switch key {
			case "name":
				s.Name = text
			case "description":
				s.Description = strings.TrimSpace(text)
			case "version":
				s.Version = text
			}
		case "routes":
			at.routes = d.strings(v, "routes", func(text string) { s.Routes = append(s.Routes, text) })
		case "edits":
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "edits: want a list of edits, not %s", kindName(v))
				return
			}
			for i, en := range v.Content {
				mark := len(d.errs)
				e, nodes := d.edit(en)
				for _, err := range d.errs[mark:] {
					err.Msg = fmt.Sprintf("edit %d: %s", i+1, err.Msg)
				}
				if len(nodes.perField) == 0 {
					s.Edits = append(s.Edits, e)
					at.edits = append(at.edits, nodes)
					continue
				}
				for _, fv := range nodes.perField {
					one, fn := e, nodes
					one.Path, one.Values = e.Path+"."+fv.field, fv.values
					// A path error is the written path's: plainField vetted the field.
					fn.fields = nodes.fields
					s.Edits = append(s.Edits, one)
					at.edits = append(at.edits, fn)
				}
			}
		default:
			d.errorf(k, "unknown key %q in a change; allowed: name, description, version, routes, edits", key)
		}
	})
	if n.Kind != yaml.MappingNode || len(d.errs) > before {
		// Each problem names the change it is in, as NewDeclared's do.
		for _, err := range d.errs[before:] {
			if s.Name != "" {
				err.Msg = fmt.Sprintf("changes: change %q, %s", s.Name, err.Msg)
			} else if !strings.HasPrefix(err.Msg, "changes:") {
				err.Msg = "changes: " + err.Msg
			}
		}
		return nil, false
	}
	c, err := transforms.NewDeclared(s)
	var se *transforms.SpecError
	switch {
	case errors.As(err, &se):
		d.errorf(at.node(se), "changes: %v", err)
		return nil, false
	case err != nil:
		d.errorf(n, "changes: %v", err)
		return nil, false
	}
	return c, true
}

// node is where the part of the change a SpecError names was written: the
// value of that key where the file has it, else the entry it belongs to.
func (at *specNodes) node(se *transforms.SpecError) *yaml.Node {
	if se.Edit < 0 {
		if se.Field == "routes" && se.Index >= 0 && se.Index < len(at.routes) {
			return at.routes[se.Index]
		}
		if v := at.keys[se.Field]; v != nil {
			return v
		}
		return at.change
	}
	if se.Edit >= len(at.edits) {
		return at.change
	}
	e := at.edits[se.Edit]
	if l := e.lists[se.Field]; se.Index >= 0 && se.Index < len(l) {
		return l[se.Index]
	}
	if v := e.fields[se.Field]; v != nil {
		return v
	}
	return e.edit
}

// strings decodes a list of text values, calling add with each.
func (d *decoder) strings(n *yaml.Node, key string, add func(string)) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, not %s", key, kindName(n))
		return nil
	}
	for _, e := range n.Content {
		if s, ok := d.scalar(e, key); ok {
			add(s)
		}
	}
	return n.Content
}

// edit decodes one edit in either form, the path first:
//
//	path: data.#.status
//	map: {awaiting-recovery: paused}
//
// or the kind first:
//
//	map: {path: data.#.status, values: {awaiting-recovery: paused}}
func (d *decoder) edit(n *yaml.Node) (transforms.EditSpec, editNodes) {
	var e transforms.EditSpec
	before := len(d.errs)
	at := editNodes{edit: n, fields: map[string]*yaml.Node{}, lists: map[string][]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "edits: want an edit (a mapping such as {path: data.status, map: {old: new}}), not %s", kindName(n))
		return e, at
	}
	pathFirst := false
	for i := 0; i < len(n.Content); i += 2 {
		pathFirst = pathFirst || n.Content[i].Value == "path"
	}
	if pathFirst {
		d.mapping(n, "an edit", func(key string, k, v *yaml.Node) {
			switch key {
			case "path":
				e.Path = d.text(v, key, &at)
			case "count":
				e.Count = d.text(v, key, &at)
			default:
				d.editKind(&e, &at, key, k, v, false)
			}
		})
		if e.Count != "" && e.Kind != transforms.EditDrop && e.Kind != "" {
			d.errorf(at.fields["count"], "count: only a drop edit recounts")
		}
	} else {
		d.mapping(n, "an edit", func(key string, k, v *yaml.Node) { d.editKind(&e, &at, key, k, v, true) })
	}
	if e.Kind == "" && len(d.errs) == before {
		d.errorf(n, "an edit needs one of %s", strings.Join(transforms.EditKinds, ", "))
	}
	return e, at
}

func (d *decoder) text(v *yaml.Node, key string, at *editNodes) string {
	at.fields[key] = v
	s, _ := d.scalar(v, key)
	return s
}

// editKind decodes the key naming an edit's kind. In the kind-first form
// (nested) its value holds the path and the kind's own keys.
func (d *decoder) editKind(e *transforms.EditSpec, at *editNodes, key string, k, v *yaml.Node, nested bool) {
	known := false
	for _, kind := range transforms.EditKinds {
		known = known || kind == key
	}
	if !known {
		allowed := "path, " + strings.Join(transforms.EditKinds, ", ") + ", count"
		if nested {
			allowed = strings.Join(transforms.EditKinds, ", ")
		}
		d.errorf(k, "unknown edit %q; allowed: %s", key, allowed)
		return
	}
	if e.Kind != "" {
		d.errorf(k, "an edit is one of %s: %s and %s both given", strings.Join(transforms.EditKinds, ", "), e.Kind, key)
		return
	}
	e.Kind = key
	at.fields["kind"], at.fields[key] = k, v
	if !nested {
		d.kindValue(e, at, key, v)
		return
	}
	// The kind-first form: {path: ..., <the kind's keys>}.
	valueKey := map[string]string{transforms.EditMap: "values", transforms.EditRemove: "fields",
		transforms.EditRename: "to", transforms.EditDrop: "where"}[key]
	d.mapping(v, key, func(sub string, sk, sv *yaml.Node) {
		switch {
		case sub == "path":
			e.Path = d.text(sv, sub, at)
		case sub == "count" && key == transforms.EditDrop:
			e.Count = d.text(sv, sub, at)
		case sub == valueKey:
			at.fields[key] = sv
			d.kindValue(e, at, key, sv)
		default:
			allowed := "path, " + valueKey
			if key == transforms.EditDrop {
				allowed += ", count"
			}
			d.errorf(sk, "unknown key %q in %s; allowed: %s", sub, key, allowed)
		}
	})
}

// kindValue decodes what an edit of kind does: the values a map maps, the
// fields a remove drops, a rename's new name, a drop's predicate.
func (d *decoder) kindValue(e *transforms.EditSpec, at *editNodes, kind string, v *yaml.Node) {
	switch kind {
	case transforms.EditMap:
		if v.Kind == yaml.MappingNode && len(v.Content) > 1 && v.Content[1].Kind == yaml.MappingNode {
			d.mapByField(at, v)
			return
		}
		e.Values = map[string]string{}
		d.mapping(v, "map", func(old string, _, nv *yaml.Node) {
			if s, ok := d.scalar(nv, "map: "+old); ok {
				e.Values[old] = s
			}
		})
	case transforms.EditRemove:
		at.lists[kind] = d.strings(v, kind, func(s string) { e.Fields = append(e.Fields, s) })
	case transforms.EditRename:
		e.To, _ = d.scalar(v, kind)
	case transforms.EditDrop:
		d.predicate(&e.Where, at, v)
	}
}

// mapByField decodes a map written field by field, {status: {old: new},
// ...}: each key a field name under the edit's path, each value that
// field's old -> new values.
func (d *decoder) mapByField(at *editNodes, v *yaml.Node) {
	d.mapping(v, "map", func(field string, k, fv *yaml.Node) {
		if !plainField(field) {
			d.errorf(k, "map: field %q: want a plain field name (letters, digits, _ and -) when map is written field by field", field)
			return
		}
		if fv.Kind != yaml.MappingNode {
			d.errorf(fv, "map: %s: want that field's values, old: new, not %s (write every field of a map the same way)", field, kindName(fv))
			return
		}
		values := map[string]string{}
		d.mapping(fv, "map: "+field, func(old string, _, nv *yaml.Node) {
			if s, ok := d.scalar(nv, "map: "+field+": "+old); ok {
				values[old] = s
			}
		})
		at.perField = append(at.perField, fieldValues{field: field, values: values})
	})
}

func plainField(s string) bool {
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// predicate decodes a drop's {path, equals | exists | in}.
func (d *decoder) predicate(p *transforms.Predicate, at *editNodes, n *yaml.Node) {
	d.mapping(n, "drop", func(key string, k, v *yaml.Node) {
		switch key {
		case "path":
			at.fields["where.path"] = v
			p.Path, _ = d.scalar(v, "path")
		case transforms.PredEquals, transforms.PredExists, transforms.PredIn:
			if p.Test != "" {
				d.errorf(k, "drop: one test of equals, exists, in: %s and %s both given", p.Test, key)
				return
			}
			p.Test = key
			at.fields["where."+key] = v
			switch key {
			case transforms.PredExists:
				var b bool
				if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
					d.errorf(v, "exists: want true or false, not %s", kindName(v))
				}
				p.Exists = b
			case transforms.PredEquals:
				p.Values = []any{d.scalarValue(v, key)}
			case transforms.PredIn:
				if v.Kind != yaml.SequenceNode {
					d.errorf(v, "in: want a list of values, not %s", kindName(v))
					return
				}
				at.lists["where.in"] = v.Content
				for _, e := range v.Content {
					p.Values = append(p.Values, d.scalarValue(e, key))
				}
			}
		default:
			d.errorf(k, "unknown key %q in a drop's test; allowed: path, equals, exists, in", key)
		}
	})
	if n.Kind == yaml.MappingNode && p.Test == "" {
		d.errorf(n, "drop: needs a test: equals, exists or in")
	}
}

// scalarValue is a YAML scalar as the value it denotes (a string, number,
// boolean or null), for comparing with JSON values.
func (d *decoder) scalarValue(n *yaml.Node, key string) any {
	var v any
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		d.errorf(n, "%s: want a string, number, boolean or null, not %s", key, kindName(n))
		return nil
	}
	// A number is a JSON number, whichever way YAML wrote it (8, 8.0,
	// 0o10): one type, so a file and its rendering read the same.
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

// RenderChanges writes declared changes as the changes section, the path
// first in each edit: what Parse reads back to the same changes.
func RenderChanges(changes []*transforms.Declared) ([]byte, error) {
	list := &yaml.Node{Kind: yaml.SequenceNode}
	if len(changes) == 0 {
		list.Style = yaml.FlowStyle
	}
	for _, c := range changes {
		s := c.Spec()
		routes := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, r := range s.Routes {
			routes.Content = append(routes.Content, str(r))
		}
		edits := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range s.Edits {
			n, err := editNode(e)
			if err != nil {
				return nil, err
			}
			edits.Content = append(edits.Content, n)
		}
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			str("name"), str(s.Name), str("description"), str(s.Description), str("version"), str(s.Version),
			str("routes"), routes, str("edits"), edits}})
	}
	return yaml.Dump(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("changes"), list}})
}

func editNode(e transforms.EditSpec) (*yaml.Node, error) {
	m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("path"), str(e.Path)}}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
	switch e.Kind {
	case transforms.EditMap:
		values := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		olds := make([]string, 0, len(e.Values))
		for old := range e.Values {
			olds = append(olds, old)
		}
		slices.Sort(olds)
		for _, old := range olds {
			values.Content = append(values.Content, str(old), str(e.Values[old]))
		}
		add(e.Kind, values)
	case transforms.EditRemove:
		fields := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, f := range e.Fields {
			fields.Content = append(fields.Content, str(f))
		}
		add(e.Kind, fields)
	case transforms.EditRename:
		add(e.Kind, str(e.To))
	case transforms.EditDrop:
		where := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{str("path"), str(e.Where.Path)}}
		var test yaml.Node
		var err error
		switch e.Where.Test {
		case transforms.PredExists:
			err = test.Encode(e.Where.Exists)
		case transforms.PredEquals:
			err = test.Encode(e.Where.Values[0])
		default:
			err = test.Encode(e.Where.Values)
			test.Style = yaml.FlowStyle
		}
		if err != nil {
			return nil, err
		}
		where.Content = append(where.Content, str(e.Where.Test), &test)
		add(e.Kind, where)
		if e.Count != "" {
			add("count", str(e.Count))
		}
	}
	return m, nil
}
