package transforms

import (
	"io"
	"unsafe"
)

// Body is a response body a change produced. A list change makes its new
// body out of the upstream's bytes with a few spans cut or replaced; Body
// keeps it that way, so the proxy streams it without first copying a
// multi-megabyte body into a second buffer.
type Body struct {
	src   []byte
	edits []edit // sorted, non-overlapping
	size  int
}

// BodyOf is a Body holding exactly b.
func BodyOf(b []byte) *Body { return &Body{src: b, size: len(b)} }

// Len is the body's length in bytes.
func (b *Body) Len() int { return b.size }

// Bytes returns the body as one slice: its source when nothing was edited,
// else a new copy.
func (b *Body) Bytes() []byte {
	if len(b.edits) == 0 {
		return b.src
	}
	out := make([]byte, 0, b.size)
	pos := 0
	for _, ed := range b.edits {
		out = append(out, b.src[pos:ed.start]...)
		out = append(out, ed.repl...)
		pos = ed.end
	}
	return append(out, b.src[pos:]...)
}

// Pieces appends the body's pieces to dst, in order and leaving out empty
// ones: spans of the source and the replacements. A writer can send them
// with one vectored write; it must not change them.
func (b *Body) Pieces(dst [][]byte) [][]byte {
	pos := 0
	for _, ed := range b.edits {
		if ed.start > pos {
			dst = append(dst, b.src[pos:ed.start])
		}
		if ed.repl != "" {
			// The writer only reads the piece: no copy of the string.
			dst = append(dst, unsafe.Slice(unsafe.StringData(ed.repl), len(ed.repl)))
		}
		pos = ed.end
	}
	if pos < len(b.src) {
		dst = append(dst, b.src[pos:])
	}
	return dst
}

// Reader reads the body piece by piece.
func (b *Body) Reader() io.Reader { return &bodyReader{b: b} }

// bodyReader walks the pieces: the source up to edit 0, edit 0's
// replacement, the source up to edit 1, …, the source's tail.
type bodyReader struct {
	b     *Body
	piece int // 2k: source before edit k (or the tail); 2k+1: edit k's replacement
	off   int // bytes of the current piece already read
}

func (r *bodyReader) current() []byte {
	k := r.piece / 2
	if r.piece%2 == 1 {
		return []byte(r.b.edits[k].repl)
	}
	start := 0
	if k > 0 {
		start = r.b.edits[k-1].end
	}
	if k < len(r.b.edits) {
		return r.b.src[start:r.b.edits[k].start]
	}
	return r.b.src[start:]
}

// WriteTo writes the remaining pieces straight to w, with no copy through
// an intermediate buffer.
func (r *bodyReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.piece <= 2*len(r.b.edits) {
		cur := r.current()[r.off:]
		n, err := w.Write(cur)
		total += int64(n)
		r.off += n
		if err != nil {
			return total, err
		}
		r.piece, r.off = r.piece+1, 0
	}
	return total, nil
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.piece > 2*len(r.b.edits) {
			break
		}
		cur := r.current()
		c := copy(p[n:], cur[r.off:])
		n += c
		r.off += c
		if r.off == len(cur) {
			r.piece, r.off = r.piece+1, 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
