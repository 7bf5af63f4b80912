package proxy

import (
	"bytes"
	"io"
	"sync"
)

// copyBuffers lends the reverse proxy its 256 KiB streaming buffers, so a
// pass-through response allocates none and a multi-megabyte body (protocol
// analyses) moves in few large writes: each response being streamed holds
// one buffer, and the pool lets them go when idle.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// bodyBuffers recycles the buffers that hold bodies being transformed: a
// run list is read whole before it is changed, and at tens of requests a
// second reallocating megabytes each time would keep the garbage collector
// (and the process's memory) busy.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// readLimited reads r to the end if it holds at most limit bytes, into a
// buffer from bodyBuffers (give it back with releaseBody). When r holds more,
// it returns what it read with complete false, and the caller streams that
// prefix followed by the rest of r: nothing is lost.
func readLimited(r io.Reader, limit, sizeHint int64) (body []byte, complete bool, err error) {
	buf := *bodyBuffers.Get().(*[]byte)
	want := int64(bytes.MinRead)
	if sizeHint > 0 && sizeHint <= limit {
		want = sizeHint + 1 // +1 so the final Read sees EOF without growing
	}
	if int64(cap(buf)) < want {
		buf = make([]byte, 0, want)
	}
	b := bytes.NewBuffer(buf[:0])
	n, err := b.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return b.Bytes(), false, err
	}
	return b.Bytes(), n <= limit, nil
}

// releaseBody returns a buffer from readLimited for reuse.
func releaseBody(b []byte) {
	b = b[:0]
	bodyBuffers.Put(&b)
}

// pooledBody is a response body whose buffers (the upstream's body, and a
// fetched one it may be built from) go back to bodyBuffers once it is sent.
type pooledBody struct {
	io.Reader
	bufs [2][]byte
}

// WriteTo lets io.Copy hand the body to its writer without a copy buffer
// when the reader can (transforms.Body and bytes.Reader can).
func (p *pooledBody) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, p.Reader) }

func (p *pooledBody) Close() error {
	for i, b := range p.bufs {
		if b != nil {
			releaseBody(b)
			p.bufs[i] = nil
		}
	}
	return nil
}

// prefixedBody streams a read prefix, then the rest of the original body.
type prefixedBody struct {
	io.Reader
	io.Closer
}

func streamRest(prefix []byte, rest io.ReadCloser) io.ReadCloser {
	return prefixedBody{io.MultiReader(bytes.NewReader(prefix), rest), rest}
}
