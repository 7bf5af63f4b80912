package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"otcompat/internal/sockio"
)

// The direct path serves body-less GET and HEAD requests (nearly all of an
// API client's traffic) over pooled HTTP/1.1 connections to a plain-HTTP
// upstream, without httputil.ReverseProxy and http.Transport. Those cost a
// goroutine hand-off per request and a copy of every body through a buffer;
// here a pass-through body of known length goes from the upstream's socket to
// the client's with splice(2). Uploads, upgrades, 100-continue and https
// upstreams keep the reverse proxy.

// directPool keeps idle connections to the upstream.
type directPool struct {
	dial    func(ctx context.Context) (net.Conn, error)
	mu      sync.Mutex
	idle    []*upstreamConn
	maxIdle int
}

type upstreamConn struct {
	net.Conn
	sock sockio.Conn   // reads and writes the request and the answer's head
	br   *bufio.Reader // from upstreamReaders while a request is on the connection
	bw   *bufio.Writer
	// cutOff unblocks the connection's reads and writes when its client
	// leaves; made once with the connection rather than once a request.
	cutOff func()
}

// upstreamReaders lend a connection its 64 KiB read buffer while a request
// is on it. One read then takes a whole 57 KB run list, as nginx's 64 KiB
// proxy buffer does, where a 4 KiB one took three or more; idle connections
// hold none.
var upstreamReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

func newDirectPool(u *Upstream) *directPool {
	if u.URL.Scheme != "http" {
		return nil
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	network, addr := "tcp", u.URL.Host
	if u.Socket != "" {
		network, addr = "unix", u.Socket
	}
	return &directPool{
		dial:    func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, network, addr) },
		maxIdle: 256,
	}
}

// get returns an idle connection (reused true) or a new one.
func (dp *directPool) get(ctx context.Context) (uc *upstreamConn, reused bool, err error) {
	dp.mu.Lock()
	if n := len(dp.idle); n > 0 {
		uc = dp.idle[n-1]
		dp.idle = dp.idle[:n-1]
		dp.mu.Unlock()
		uc.lendReader()
		return uc, true, nil
	}
	dp.mu.Unlock()
	c, err := dp.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	// A small write buffer: request heads are small, and hundreds of pooled
	// connections should cost little memory.
	uc = &upstreamConn{Conn: c, sock: sockio.New(c)}
	uc.bw = bufio.NewWriterSize(uc.sock, 4<<10)
	uc.cutOff = func() { _ = c.SetDeadline(time.Now()) }
	uc.lendReader()
	return uc, false, nil
}

func (uc *upstreamConn) lendReader() {
	uc.br = upstreamReaders.Get().(*bufio.Reader)
	uc.br.Reset(uc.sock)
}

// put takes back a connection whose exchange is complete.
func (dp *directPool) put(uc *upstreamConn) {
	if uc.br.Buffered() > 0 {
		uc.Close() // bytes beyond the response: the connection is not to be trusted
		return
	}
	uc.br.Reset(nil)
	upstreamReaders.Put(uc.br)
	uc.br = nil
	dp.mu.Lock()
	if len(dp.idle) < dp.maxIdle {
		dp.idle = append(dp.idle, uc)
		uc = nil
	}
	dp.mu.Unlock()
	if uc != nil {
		uc.Close()
	}
}

func (dp *directPool) closeIdle() {
	dp.mu.Lock()
	idle := dp.idle
	dp.idle = nil
	dp.mu.Unlock()
	for _, uc := range idle {
		uc.Close()
	}
}

// directEligible reports whether a request can take the direct path.
func (p *Proxy) directEligible(r *http.Request) bool {
	return p.direct != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.ContentLength == 0 && len(r.TransferEncoding) == 0 &&
		r.Header.Get("Upgrade") == "" && r.Header.Get("Expect") == "" && r.ProtoMajor == 1
}

// errStaleConn marks a reused connection the upstream had closed before our
// request reached it: safe to retry on a new one (GET and HEAD are idempotent).
var errStaleConn = errors.New("reused upstream connection was closed")

// roundTrip sends the request head and reads the response head. Until stop
// is called, a client that leaves unblocks the upstream connection's reads
// and writes (on the head or, later, the body).
func (p *Proxy) roundTrip(ctx context.Context, r *http.Request, ex *exchange) (resp *http.Response, uc *upstreamConn, stop afterStop, err error) {
	for attempt := 0; ; attempt++ {
		uc, reused, err := p.direct.get(ctx)
		if err != nil {
			return nil, nil, afterStop{}, err
		}
		stop := afterFunc(ctx, uc.cutOff)
		resp, err := p.exchangeOn(ctx, uc, r, ex, reused)
		if err == nil {
			return resp, uc, stop, nil
		}
		stop.stop()
		uc.Close()
		if !errors.Is(err, errStaleConn) || attempt > 0 {
			return nil, nil, afterStop{}, err
		}
	}
}

// exchangeOn sends r's head on uc and reads the response head.
func (p *Proxy) exchangeOn(ctx context.Context, uc *upstreamConn, r *http.Request, ex *exchange, reused bool) (*http.Response, error) {
	bw := uc.bw
	target := r.RequestURI // origin-form, as the client sent it (forward refuses others)
	if target == "" {
		target = r.URL.RequestURI()
	}
	for _, s := range []string{r.Method, " ", target, " HTTP/1.1\r\nHost: ", p.cfg.Upstream.URL.Host, "\r\n"} {
		_, _ = bw.WriteString(s)
	}
	for k, v := range p.outboundFields(r, ex) {
		for _, s := range []string{k, ": ", v, "\r\n"} {
			_, _ = bw.WriteString(s)
		}
	}
	_, _ = bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		return nil, p.connErr(ctx, err, reused, 0)
	}
	if p.cfg.UpstreamTimeout > 0 {
		_ = uc.SetReadDeadline(time.Now().Add(p.cfg.UpstreamTimeout))
	}
	for {
		resp, err := readResponse(uc.br, r)
		if err != nil {
			return nil, p.connErr(ctx, err, reused, uc.br.Buffered())
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // 103 Early Hints and the like: wait for the final answer
		}
		if p.cfg.UpstreamTimeout > 0 {
			_ = uc.SetReadDeadline(time.Time{})
		}
		return resp, nil
	}
}

// connErr classifies a connection failure: a reused connection that failed
// before any answer was stale; a passed deadline is a timeout, unless the
// client left.
func (p *Proxy) connErr(ctx context.Context, err error, reused bool, buffered int) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if reused && buffered == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)) {
		return errStaleConn
	}
	return err
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// eofBody notes whether the upstream body was read to its end, so its
// connection can carry the next request.
type eofBody struct {
	io.ReadCloser
	eof bool
}

func (b *eofBody) buffered() ([]byte, bool) {
	wb, ok := b.ReadCloser.(wholeBody)
	if !ok {
		return nil, false
	}
	p, ok := wb.buffered()
	b.eof = b.eof || ok
	return p, ok
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// serveDirect answers r over the direct path.
func (p *Proxy) serveDirect(c echo.Context, r *http.Request, ex *exchange) {
	ctx := r.Context()
	resp, uc, stop, err := p.roundTrip(ctx, r, ex)
	if err != nil {
		p.upstreamError(c.Response(), r, err)
		return
	}
	reusable := !resp.Close
	tracked := &eofBody{ReadCloser: resp.Body}
	resp.Body = tracked
	if err := p.modifyResponse(resp); err != nil {
		stop.stop()
		uc.Close()
		p.upstreamError(c.Response(), r, err)
		return
	}
	removeHopHeaders(resp.Header)
	w := c.Response()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	if resp.ContentLength >= 0 {
		// Usually the upstream's own field already says it: no new string then.
		var digits [20]byte
		if n := strconv.AppendInt(digits[:0], resp.ContentLength, 10); w.Header().Get("Content-Length") != string(n) {
			w.Header().Set("Content-Length", string(n))
		}
	}
	w.WriteHeader(resp.StatusCode)

	var copyErr error
	switch {
	case r.Method == http.MethodHead:
	case resp.Body == tracked && resp.ContentLength > 0:
		// Untouched, of known length: socket to socket.
		copyErr = p.spliceBody(w, uc, resp.ContentLength)
		tracked.eof = copyErr == nil
	case resp.ContentLength < 0:
		copyErr = copyFlushing(w, resp.Body)
	default:
		copyErr = copyBody(w, resp.Body)
	}
	done := copyErr == nil && (tracked.eof || r.Method == http.MethodHead || resp.ContentLength == 0)
	if !stop.stop() || !done || !reusable {
		// Close first: closing an unfinished body would otherwise drain it.
		uc.Close()
		reusable = false
	}
	if resp.Body != tracked {
		resp.Body.Close() // gives a transformed body's buffers back
	}
	if reusable {
		p.direct.put(uc)
	}
	if copyErr != nil && ctx.Err() == nil {
		// The upstream broke mid-body: cut the client off rather than
		// present a short body as complete.
		p.metrics.upstreamErrors.WithLabelValues("body").Inc()
		panic(http.ErrAbortHandler)
	}
}

// spliceBody copies n body bytes from the upstream connection to the client:
// what the reader already buffered, then the rest straight from the socket.
func (p *Proxy) spliceBody(w *echo.Response, uc *upstreamConn, n int64) error {
	if k := min(int64(uc.br.Buffered()), n); k > 0 {
		b, _ := uc.br.Peek(int(k))
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, _ = uc.br.Discard(int(k))
		n -= k
	}
	if n == 0 {
		return nil
	}
	// The underlying writer takes io.ReaderFrom, which splices.
	copied, err := io.Copy(w.Writer, &io.LimitedReader{R: uc.Conn, N: n})
	w.Size += copied
	if err == nil && copied < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// copyBody sends a body of known length. A changed one goes to the front
// lane as its pieces, for one writev, rather than copied into its buffer.
func copyBody(w *echo.Response, body io.Reader) error {
	if pb, ok := body.(*pooledBody); ok && pb.changed != nil {
		if vw, ok := w.Writer.(interface {
			writeVector(pieceBody) (int64, error)
		}); ok {
			n, err := vw.writeVector(pb.changed)
			w.Size += n
			return err
		}
	}
	_, err := io.Copy(w, body)
	return err
}

// copyFlushing streams a body of unknown length, flushing each piece.
func copyFlushing(w *echo.Response, body io.Reader) error {
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			w.Flush()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
