package transforms

import (
	"bytes"
	"io"
	"net"
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
	return bytes.Join(b.Pieces(nil), nil)
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
		if len(ed.repl) > 0 {
			dst = append(dst, ed.repl)
		}
		pos = ed.end
	}
	if pos < len(b.src) {
		dst = append(dst, b.src[pos:])
	}
	return dst
}

// Reader reads the body; as an io.WriterTo it hands a writer the pieces
// themselves, with no copy through an intermediate buffer. It lists them on
// first use: the proxy's own writer takes them from Pieces instead, and never
// reads the Reader it also keeps.
func (b *Body) Reader() io.Reader { return &bodyReader{body: b} }

type bodyReader struct {
	body   *Body
	pieces net.Buffers
	listed bool
}

func (r *bodyReader) list() *net.Buffers {
	if !r.listed {
		r.pieces, r.listed = r.body.Pieces(nil), true
	}
	return &r.pieces
}

func (r *bodyReader) Read(p []byte) (int, error)         { return r.list().Read(p) }
func (r *bodyReader) WriteTo(w io.Writer) (int64, error) { return r.list().WriteTo(w) }
