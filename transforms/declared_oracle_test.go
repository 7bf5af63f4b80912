package transforms

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The oracle makes a declared change's edits on a body decoded with
// encoding/json (maps and slices), sharing no code with the byte editor, so
// that tests can state what an edited body must mean.

// decodeTree decodes a JSON body with numbers kept as written.
func decodeTree(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// oracleSteps splits a declared path the way its syntax document says.
func oracleSteps(path string) []string {
	var steps []string
	var cur strings.Builder
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '\\':
			i++
			cur.WriteString("\x00" + string(path[i])) // escaped: never "#" nor an index
		case '.':
			steps = append(steps, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(path[i])
		}
	}
	return append(steps, cur.String())
}

func unescapeStep(s string) string { return strings.ReplaceAll(s, "\x00", "") }

// oracleVisit calls fn with a pointer-like setter for every place the path
// reaches in v: get reads it, set replaces it.
func oracleVisit(v any, steps []string, fn func(get func() any, set func(any))) {
	if len(steps) == 0 {
		return
	}
	st, rest := steps[0], steps[1:]
	visitOne := func(get func() any, set func(any)) {
		if len(rest) == 0 {
			fn(get, set)
		} else {
			oracleVisit(get(), rest, fn)
		}
	}
	switch x := v.(type) {
	case []any:
		if st == "#" {
			for i := range x {
				visitOne(func() any { return x[i] }, func(n any) { x[i] = n })
			}
		} else if n, err := strconv.Atoi(st); err == nil && n >= 0 && n < len(x) && strconv.Itoa(n) == st {
			visitOne(func() any { return x[n] }, func(nv any) { x[n] = nv })
		}
	case map[string]any:
		if st == "#" {
			return
		}
		k := unescapeStep(st)
		if _, ok := x[k]; ok {
			visitOne(func() any { return x[k] }, func(n any) { x[k] = n })
		}
	}
}

// oracleApply makes the spec's edits on tree, in order. It reports false
// where the byte editor must refuse the body (a rename onto a taken name, a
// count that is not an integer or goes below zero).
func oracleApply(tree any, s Spec) (any, bool) {
	root := []any{tree} // a holder, so a path can reach the root's fields
	for _, e := range s.Edits {
		steps := append([]string{"0"}, oracleSteps(e.Path)...)
		switch e.Kind {
		case EditMap:
			oracleVisit(root, steps, func(get func() any, set func(any)) {
				if s, ok := get().(string); ok {
					if n, ok := e.Values[s]; ok {
						set(n)
					}
				}
			})
		case EditRemove:
			oracleVisit(root, steps, func(get func() any, _ func(any)) {
				if m, ok := get().(map[string]any); ok {
					for _, f := range e.Fields {
						delete(m, f)
					}
				}
			})
		case EditRename:
			parent, last := steps[:len(steps)-1], unescapeStep(steps[len(steps)-1])
			ok := true
			visitParent := func(get func() any, _ func(any)) {
				m, isObj := get().(map[string]any)
				if !isObj {
					return
				}
				if v, has := m[last]; has {
					if _, taken := m[e.To]; taken {
						ok = false
						return
					}
					delete(m, last)
					m[e.To] = v
				}
			}
			if len(parent) == 1 {
				visitParent(func() any { return root[0] }, nil)
			} else {
				oracleVisit(root, parent, visitParent)
			}
			if !ok {
				return nil, false
			}
		case EditDrop:
			dropped := 0
			oracleVisit(root, steps, func(get func() any, set func(any)) {
				arr, ok := get().([]any)
				if !ok {
					return
				}
				var kept []any
				for _, el := range arr {
					if oracleHolds(el, e.Where) {
						dropped++
					} else {
						kept = append(kept, el)
					}
				}
				if len(kept) < len(arr) {
					if kept == nil {
						kept = []any{}
					}
					set(kept)
				}
			})
			if dropped > 0 && e.Count != "" {
				ok := true
				oracleVisit(root, append([]string{"0"}, oracleSteps(e.Count)...), func(get func() any, set func(any)) {
					n, isNum := get().(json.Number)
					total, err := strconv.ParseInt(string(n), 10, 64)
					if !isNum || err != nil || total < int64(dropped) {
						ok = false
						return
					}
					set(json.Number(strconv.FormatInt(total-int64(dropped), 10)))
				})
				if !ok {
					return nil, false
				}
			}
		}
	}
	return root[0], true
}

func oracleHolds(el any, p Predicate) bool {
	var found []any
	oracleVisit([]any{el}, append([]string{"0"}, oracleSteps(p.Path)...), func(get func() any, _ func(any)) {
		found = append(found, get())
	})
	if p.Test == PredExists {
		return (len(found) > 0) == p.Exists
	}
	return slices.ContainsFunc(found, func(f any) bool {
		return slices.ContainsFunc(p.Values, func(want any) bool { return oracleEqual(f, want) })
	})
}

func oracleEqual(got, want any) bool {
	switch w := want.(type) {
	case int:
		n, ok := got.(json.Number)
		f, err := n.Float64()
		return ok && err == nil && f == float64(w)
	case float64:
		n, ok := got.(json.Number)
		f, err := n.Float64()
		return ok && err == nil && f == w
	}
	return reflect.DeepEqual(got, want)
}

// sameTree compares decoded bodies, numbers as written.
func sameTree(a, b any) bool { return reflect.DeepEqual(a, b) }

// isSubsequence reports whether out is in with some bytes left out: what a
// body edited only by removals must be.
func isSubsequence(out, in []byte) bool {
	i := 0
	for _, c := range out {
		for i < len(in) && in[i] != c {
			i++
		}
		if i == len(in) {
			return false
		}
		i++
	}
	return true
}

// tokenSegments splits a JSON text into its tokens as json.Decoder reads
// them, each with the bytes from the end of the previous token to its own
// end (blanks, separators and the token as written).
func tokenSegments(b []byte) (toks []any, segs [][]byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return toks, segs, err.Error() == "EOF"
		}
		end := dec.InputOffset()
		toks, segs = append(toks, tok), append(segs, b[prev:end])
		prev = end
	}
}

// onlyStringsReplaced reports whether out is in with some string tokens
// replaced and every other byte as it was: both have the same tokens, and
// each token whose bytes differ is a string, preceded by the same blanks
// and separators, that allowed accepts as a replacement.
func onlyStringsReplaced(in, out []byte, allowed func(from, to string) bool) bool {
	it, is, ok1 := tokenSegments(in)
	ot, os, ok2 := tokenSegments(out)
	if !ok1 || !ok2 || len(it) != len(ot) {
		return false
	}
	for i := range it {
		if bytes.Equal(is[i], os[i]) {
			continue
		}
		from, fok := it[i].(string)
		to, tok := ot[i].(string)
		if !fok || !tok || !allowed(from, to) {
			return false
		}
		pi, po := bytes.IndexByte(is[i], '"'), bytes.IndexByte(os[i], '"')
		if pi < 0 || po < 0 || !bytes.Equal(is[i][:pi], os[i][:po]) {
			return false
		}
	}
	return true
}

// hasDuplicateKeys reports whether an object in b repeats a key (or b is
// not JSON): decoders differ on which duplicate they keep, so the oracle
// cannot speak for such bodies.
func hasDuplicateKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys     map[string]bool
		isObject bool
		wantKey  bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return err.Error() != "EOF"
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].isObject && stack[top].wantKey {
			if k, ok := tok.(string); ok {
				if stack[top].keys[k] {
					return true
				}
				stack[top].keys[k] = true
				stack[top].wantKey = false
				continue
			}
		}
		if top >= 0 && stack[top].isObject {
			stack[top].wantKey = true // this token is a value (or the object's end)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, isObject: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if n := len(stack) - 1; n >= 0 && stack[n].isObject {
				stack[n].wantKey = true
			}
		}
	}
}
