package transforms

import (
	"cmp"
	"slices"
)

// The helpers here edit JSON in place, byte-precisely: everything outside an
// edited span stays exactly as the upstream wrote it (separators, escapes,
// number formats), so an edited body is what the upstream would have rendered.

// span is a half-open byte range [start, end) of the body.
type span struct{ start, end int }

// edit replaces the bytes of span with repl.
type edit struct {
	span
	repl []byte
}

// editor collects non-overlapping edits of one body and applies them with a
// single allocation.
type editor struct {
	edits []edit
}

func (e *editor) replace(s span, repl []byte) { e.edits = append(e.edits, edit{s, repl}) }
func (e *editor) delete(s span)               { e.replace(s, nil) }

// removeItems deletes the items (array elements, or object members from key
// to value) for which drop is true, along with exactly one separator each, so
// the container reads as if they had never been there.
func (e *editor) removeItems(items []span, drop []bool) {
	n := len(items)
	for i := 0; i < n; {
		if !drop[i] {
			i++
			continue
		}
		j := i
		for j+1 < n && drop[j+1] {
			j++
		}
		switch {
		case i > 0: // from the end of the kept item before, taking its separator
			e.delete(span{items[i-1].end, items[j].end})
		case j+1 < n: // up to the kept item after, taking the separator before it
			e.delete(span{items[i].start, items[j+1].start})
		default: // every item goes
			e.delete(span{items[0].start, items[n-1].end})
		}
		i = j + 1
	}
}

func (e *editor) empty() bool { return len(e.edits) == 0 }

// body is src with the edits made, as a Body that shares src's bytes.
func (e *editor) body(src []byte) *Body {
	slices.SortFunc(e.edits, func(a, b edit) int { return cmp.Compare(a.start, b.start) })
	size := len(src)
	for _, ed := range e.edits {
		size += len(ed.repl) - (ed.end - ed.start)
	}
	return &Body{src: src, edits: e.edits, size: size}
}
