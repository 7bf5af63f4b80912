package proxy

import (
	"bytes"
	"io"
	"sync"
)

// copyBuffers lends the reverse proxy its 32 KiB streaming buffers, so a
// pass-through response allocates none.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// readLimited reads r to the end if it holds at most limit bytes. When it
// holds more, it returns what it read with complete false, and the caller
// streams that prefix followed by the rest of r: nothing is lost.
func readLimited(r io.Reader, limit, sizeHint int64) (body []byte, complete bool, err error) {
	size := int64(bytes.MinRead)
	if sizeHint > 0 && sizeHint <= limit {
		size = sizeHint + 1 // +1 so the final Read sees EOF without growing
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return buf.Bytes(), false, err
	}
	return buf.Bytes(), n <= limit, nil
}

// prefixedBody streams a read prefix, then the rest of the original body.
type prefixedBody struct {
	io.Reader
	io.Closer
}

func streamRest(prefix []byte, rest io.ReadCloser) io.ReadCloser {
	return prefixedBody{io.MultiReader(bytes.NewReader(prefix), rest), rest}
}
