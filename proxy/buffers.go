package proxy

import (
	"bytes"
	"io"
	"sync"

	"otcompat/transforms"
)

// copyBuffers lends the reverse proxy its 64 KiB streaming buffers, so a
// pass-through response allocates none; 64 KiB reads halve the syscalls of
// a multi-megabyte body against 32 KiB.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}}

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

// readBody reads a body to change. When the upstream connection's read
// buffer holds all of it (a 57 KB run list does), the body is those bytes,
// not a copy: they stay put until the response is sent and the connection
// goes back to the pool. Otherwise it is read with readLimited, and pooled
// is the bodyBuffers buffer to give back (nil for a lent body).
func readBody(r io.Reader, limit, size int64) (body, pooled []byte, complete bool, err error) {
	if wb, ok := r.(wholeBody); ok && size <= limit {
		if b, ok := wb.buffered(); ok {
			return b, nil, true, nil
		}
	}
	body, complete, err = readLimited(r, limit, size)
	return body, body, complete, err
}

// wholeBody is a body that may be entirely in its connection's buffer.
type wholeBody interface {
	// buffered returns the whole body and marks it read, if it is all
	// buffered; the bytes stay valid until the connection is used again.
	buffered() ([]byte, bool)
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
	bufs    [2][]byte
	changed *transforms.Body // the body, when it is a change's (not re-encoded)
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
