package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// frontWriter is the front lane's http.ResponseWriter. It follows net/http's
// response rules for what the direct path writes (status, Date, sniffed
// Content-Type, Content-Length or chunked framing, bodiless statuses), but
// gathers the head and a body of up to 64 KiB into one buffer and one write:
// net/http's 4 KiB buffer split such a response into at least three writes,
// each a trip through the TCP stack. Longer bodies of known length are
// spliced from the upstream socket, as before.
type frontWriter struct {
	c           *frontConn
	req         *http.Request
	header      http.Header
	status      int
	wroteHeader bool
	headDone    bool    // the head is in buf or sent
	chunked     bool    // no Content-Length: chunked framing
	bodiless    bool    // HEAD, 204 or 304
	declared    int64   // Content-Length, or -1
	written     int64   // body bytes taken
	buf         []byte  // the response so far, in *bufp
	bufp        *[]byte // from copyBuffers
	err         error   // the first failed write to the client
	closeAfter  bool
}

func (w *frontWriter) reset(c *frontConn, r *http.Request) {
	// One header map serves the connection's requests: nothing keeps a
	// response's header past its request.
	if c.header == nil {
		c.header = make(http.Header, 8)
	}
	clear(c.header)
	*w = frontWriter{c: c, req: r, header: c.header, declared: -1}
}

func (w *frontWriter) Header() http.Header { return w.header }

// WriteHeader records the final status. The direct path sends no interim
// (1xx) responses, so they are ignored here.
func (w *frontWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader || code < 200 {
		return
	}
	w.wroteHeader, w.status = true, code
	w.bodiless = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	if v := w.header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.declared = n
		} else {
			w.header.Del("Content-Length") // as net/http does with an invalid value
		}
	}
	if w.bodiless || w.declared == 0 {
		w.complete()
	}
}

// complete sends a response whose body is all there, before the handler
// returns: it still writes the access log.
func (w *frontWriter) complete() {
	if !w.headDone {
		w.writeHead(nil)
	}
	w.flush()
}

func (w *frontWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.bodiless {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	if !w.headDone {
		w.writeHead(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	w.written += int64(len(p))
	switch {
	case w.chunked:
		if len(p) == 0 {
			return 0, nil
		}
		w.buf = append(strconv.AppendInt(w.buf, int64(len(p)), 16), '\r', '\n')
		w.out(p)
		w.out(crlf)
	case w.written == w.declared:
		// The body's last bytes leave with the buffer in one writev,
		// without a copy into it (the direct path hands over whole bodies
		// from its read buffer).
		w.send(p)
	default:
		w.out(p)
	}
	return len(p), w.err
}

var crlf = []byte("\r\n")

// ReadFrom takes a body the direct path copies from the upstream socket.
// When the rest fits in the buffer it is read there and leaves with the head
// in one write; otherwise it is spliced socket to socket.
func (w *frontWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	lr, ok := src.(*io.LimitedReader)
	rf, rfOK := w.c.raw.(io.ReaderFrom)
	if !ok || !rfOK || w.bodiless || w.err != nil || (!w.headDone && w.needsSniff()) {
		return io.Copy(writerOnly{w}, src)
	}
	if !w.headDone {
		w.writeHead(nil)
	}
	if w.chunked {
		return io.Copy(writerOnly{w}, src)
	}
	if w.declared >= 0 && w.written+lr.N > w.declared {
		lr = &io.LimitedReader{R: lr.R, N: w.declared - w.written}
	}
	if lr.N <= int64(cap(w.buf)-len(w.buf)) {
		start := len(w.buf)
		n, err := io.ReadFull(lr, w.buf[start:start+int(lr.N)])
		w.buf = w.buf[:start+n]
		w.written += int64(n)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil // a short body: the caller compares lengths
		}
		if w.written == w.declared {
			w.complete()
		}
		return int64(n), err
	}
	w.flush()
	if w.err != nil {
		return 0, w.err
	}
	n, err := rf.ReadFrom(lr)
	w.written += n
	if errors.Is(err, syscall.EPIPE) {
		w.fail(err) // certainly the client's side; other errors may be either
	}
	return n, err
}

// writerOnly hides ReadFrom, so io.Copy uses Write.
type writerOnly struct{ io.Writer }

func (w *frontWriter) needsSniff() bool {
	_, typed := w.header["Content-Type"]
	return !typed && w.header.Get("Content-Encoding") == ""
}

// Flush sends what is buffered (streamed bodies of unknown length).
func (w *frontWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.complete()
}

// finish completes the response once the handler is done and reports
// whether the connection can carry another request.
func (w *frontWriter) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headDone {
		w.writeHead(nil)
	}
	if w.chunked {
		w.buf = append(w.buf, "0\r\n\r\n"...)
	}
	w.flush()
	if !w.bodiless && w.declared >= 0 && w.written < w.declared {
		w.closeAfter = true // a short body: only closing tells the client
	}
	if w.bufp != nil {
		copyBuffers.pool.Put(w.bufp) // the pointer it came as: Put([]byte) would allocate a box
	}
	keep := w.err == nil && !w.closeAfter
	*w = frontWriter{} // an idle connection holds on to nothing of the request
	return keep
}

// writeHead puts the status line and header in the buffer, adding what
// net/http adds. p is the first body bytes, for Content-Type sniffing.
func (w *frontWriter) writeHead(p []byte) {
	w.headDone = true
	w.bufp = copyBuffers.pool.Get().(*[]byte)
	w.buf = (*w.bufp)[:0]
	h := w.header
	delete(h, "Transfer-Encoding") // the framing is decided here
	// Fields net/http adds go after the handler's, as net/http writes them.
	var contentType, transferEncoding, date, connection string
	switch {
	case w.status == http.StatusNotModified:
		delete(h, "Content-Type")
		delete(h, "Content-Length")
	case w.status == http.StatusNoContent:
		delete(h, "Content-Length")
	case w.req.Method != http.MethodHead:
		if w.declared < 0 {
			w.chunked = true
			transferEncoding = "chunked"
		}
		if len(p) > 0 && w.needsSniff() {
			contentType = http.DetectContentType(p)
		}
	}
	if _, ok := h["Date"]; !ok {
		date = httpDate(time.Now())
	}
	if w.c.front.closing.Load() {
		w.closeAfter = true
		delete(h, "Connection")
		connection = "close"
	}
	w.buf = append(w.buf, "HTTP/1.1 "...)
	w.buf = strconv.AppendInt(w.buf, int64(w.status), 10)
	w.buf = append(w.buf, ' ')
	if text := http.StatusText(w.status); text != "" {
		w.buf = append(w.buf, text...)
	} else {
		w.buf = append(w.buf, "status code "...)
		w.buf = strconv.AppendInt(w.buf, int64(w.status), 10)
	}
	w.buf = append(w.buf, crlf...)
	w.buf, w.c.keys = appendHeader(w.buf, h, w.c.keys)
	for _, f := range [...]struct{ k, v string }{{"Content-Type", contentType},
		{"Connection", connection}, {"Transfer-Encoding", transferEncoding}, {"Date", date}} {
		if f.v != "" {
			w.buf = append(append(append(append(w.buf, f.k...), ": "...), f.v...), crlf...)
		}
	}
	w.buf = append(w.buf, crlf...)
}

// httpDate formats now for the Date field, once a second.
func httpDate(now time.Time) string {
	sec := now.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &formattedDate{sec, now.UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.text
}

type formattedDate struct {
	sec  int64
	text string
}

var lastDate atomic.Pointer[formattedDate]

// appendHeader appends h's fields as net/http writes a response's: sorted by
// name, invalid names dropped, line breaks in values blanked, values
// trimmed. keys is scratch space, returned for reuse (Header.Write's sorter
// cost more than the rest of the head).
func appendHeader(b []byte, h http.Header, keys []string) ([]byte, []string) {
	keys = keys[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range h[k] {
			if strings.IndexByte(v, '\r') >= 0 || strings.IndexByte(v, '\n') >= 0 {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, strings.Trim(v, " \t")...)
			b = append(b, crlf...)
		}
	}
	return b, keys
}

// out buffers p, or sends the buffer and p when p does not fit.
func (w *frontWriter) out(p []byte) {
	if w.err != nil {
		return
	}
	if len(w.buf)+len(p) <= cap(w.buf) {
		w.buf = append(w.buf, p...)
		return
	}
	w.send(p)
}

// send writes the buffer and p together.
func (w *frontWriter) send(p []byte) {
	if w.err != nil || len(w.buf)+len(p) == 0 {
		return
	}
	w.sendVector(append(w.c.vec[:0], w.buf, p))
}

// sendVector writes vec, the buffer and what follows it, in one writev.
func (w *frontWriter) sendVector(vec [][]byte) {
	c := w.c
	c.vec = vec
	_, err := c.sock.WriteVector(vec)
	clear(c.vec) // holds on to no body
	w.buf = w.buf[:0]
	if err != nil {
		w.fail(err)
	}
}

// pieceBody is a body in pieces (transforms.Body).
type pieceBody interface{ Pieces(dst [][]byte) [][]byte }

// writeVector takes a body's last pieces and sends them with what is
// buffered in one writev, without copying them; they need not outlive the
// call. What is not a plain body of declared length that the pieces
// complete goes through Write.
func (w *frontWriter) writeVector(body pieceBody) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	vec := body.Pieces(append(w.c.vec[:0], nil)) // [0]: the buffer, below
	w.c.vec = vec
	pieces := vec[1:]
	var total int64
	for _, p := range pieces {
		total += int64(len(p))
	}
	if w.bodiless || w.err != nil || w.written+total != w.declared || (!w.headDone && w.needsSniff()) {
		// Write may reuse the vector's first two slots: by then the
		// pieces there (none, then pieces[0]) are written.
		var written int64
		for _, p := range pieces {
			n, err := w.Write(p)
			written += int64(n)
			if err != nil {
				return written, err
			}
		}
		return written, nil
	}
	if !w.headDone {
		w.writeHead(nil)
	}
	w.written += total
	vec[0] = w.buf
	w.sendVector(vec)
	return total, w.err
}

func (w *frontWriter) flush() {
	if w.err != nil || len(w.buf) == 0 {
		return
	}
	_, err := w.c.sock.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.fail(err)
	}
}

// fail notes that the client can no longer be written to: the request is
// over, and its context says so (the direct path stops reading upstream).
func (w *frontWriter) fail(err error) {
	w.err, w.closeAfter = err, true
	w.c.cancelRequest()
}
