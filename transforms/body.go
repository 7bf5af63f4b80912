package transforms

import (
	"bytes"
	"io"
	"net"
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
		if ed.repl != "" {
			// Pieces are only ever read: no copy of the string.
			dst = append(dst, unsafe.Slice(unsafe.StringData(ed.repl), len(ed.repl)))
		}
		pos = ed.end
	}
	if pos < len(b.src) {
		dst = append(dst, b.src[pos:])
	}
	return dst
}

// Reader reads the body; as an io.WriterTo it hands a writer the pieces
// themselves, with no copy through an intermediate buffer.
func (b *Body) Reader() io.Reader {
	pieces := net.Buffers(b.Pieces(nil))
	return &pieces
}
