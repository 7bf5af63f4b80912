// Package config loads otcompat's configuration file: YAML, decoded
// strictly from the node tree so that every problem is reported with its
// file, line and column, and all of them at once. Keys named after the
// command line's flags hold those flags' values; the other top-level keys
// are sections, each with its own decoder in the sections table.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"otcompat/clients"
	"otcompat/transforms"
)

// Pos is a place in a file; Line and Col count from 1.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is one problem, at the place in the file it concerns.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors are every problem found in a file, in the file's order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Setting is the value the file gives a flag-named key, as text.
type Setting struct {
	Value string
	Pos   Pos
}

// File is a configuration file that passed every check: one value, built
// whole, so a running proxy can swap it for the next at once.
type File struct {
	Path string
	// Settings holds the flag-named keys the file sets.
	Settings map[string]Setting
	// Clients holds the clients rules and trustedProxies (the default when
	// the file does not name them). It is never nil.
	Clients *clients.Rules
	// Changes are the version changes the file declares, in its order.
	Changes []*transforms.Declared
}

// Rules returns the client rules of f; a nil f (no file) has none.
func (f *File) Rules() *clients.Rules {
	if f == nil {
		return nil
	}
	return f.Clients
}

// Schema says which flag-named keys a file may hold and how each value is
// checked: the check returns an error saying what is wrong with the value,
// which the loader places at the value (after the key, unless the message
// starts with it).
type Schema struct {
	Settings map[string]func(value string) error
}

// Load reads and checks the file at path. Its error is an Errors when the
// file was read.
func (s *Schema) Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return s.Parse(path, data)
}

// Parse checks data, the text of the file at path.
func (s *Schema) Parse(path string, data []byte) (*File, error) {
	d := &decoder{file: path}
	f := &File{Path: path, Settings: map[string]Setting{},
		Clients: &clients.Rules{Trusted: clients.DefaultTrusted}}
	var doc, more yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF { // io.EOF: an empty file
		d.yamlError(err)
		return nil, d.errs
	}
	// A second document would be ignored by everything that reads the file.
	if err := dec.Decode(&more); err == nil {
		d.errorf(&more, "a second YAML document (after ---): the file is one document")
		return nil, d.errs
	} else if err != io.EOF {
		d.yamlError(err)
		return nil, d.errs
	}
	if len(doc.Content) > 0 { // an empty file (or only comments) sets nothing
		root := doc.Content[0]
		d.mapping(root, "the file", func(key string, k, v *yaml.Node) {
			if check, ok := s.Settings[key]; ok {
				d.setting(f, key, v, check)
				return
			}
			if decode, ok := sections[key]; ok {
				decode(d, v, f)
				return
			}
			d.errorf(k, "unknown key %q; allowed: %s", key, strings.Join(s.keys(), ", "))
		})
	}
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return f, nil
}

// keys lists the keys a file may hold, sorted.
func (s *Schema) keys() []string {
	keys := make([]string, 0, len(s.Settings)+len(sections))
	for k := range s.Settings {
		keys = append(keys, k)
	}
	for k := range sections {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decoder collects the problems of one file.
type decoder struct {
	file string
	errs Errors
}

// yamlError reports a file that is not YAML at all, where the parser stopped.
func (d *decoder) yamlError(err error) {
	var le *yaml.LoadError
	if errors.As(err, &le) {
		d.errs = append(d.errs, &Error{Pos{d.file, max(le.Mark.Line, 1), max(le.Mark.Column, 1)}, "not valid YAML: " + le.Message})
		return
	}
	d.errs = append(d.errs, &Error{Pos{d.file, 1, 1}, "not valid YAML: " + err.Error()})
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{d.file, n.Line, n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{d.pos(n), fmt.Sprintf(format, args...)})
}

// kindName names a node's type for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.ShortTag() == "!!null" {
		return "no value"
	}
	return fmt.Sprintf("%q", n.Value)
}

// mapping calls each for the entries of n, a mapping described by what,
// reporting keys that are not plain strings and keys given twice.
func (d *decoder) mapping(n *yaml.Node, what string, each func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping of keys to values, not %s", what, kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.errorf(k, "%s: a key must be a name, not %s", what, kindName(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, "key %q given twice (first on line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		each(k.Value, k, v)
	}
}

// scalar returns n's text, reporting n when it is not a single value.
func (d *decoder) scalar(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, "%s: want a value, not %s", key, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) setting(f *File, key string, v *yaml.Node, check func(string) error) {
	s, ok := d.scalar(v, key)
	if !ok {
		return
	}
	if check != nil {
		if err := check(s); err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, key) {
				msg = key + ": " + msg
			}
			d.errorf(v, "%s", msg)
			return
		}
	}
	f.Settings[key] = Setting{Value: s, Pos: d.pos(v)}
}
