package proxy

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"
)

// Go's HTTP server resolves a request carrying both Content-Length and
// Transfer-Encoding by dropping Content-Length (RFC 9112, 6.3) before any
// handler sees it. A front proxy that read the same bytes by Content-Length
// would then disagree with robot-server about where the request ends: request
// smuggling. RFC 9112 says such a message "ought to be handled as an error".
// So the listener wraps each client connection in a guard that follows its
// request framing as net/http reads it and notes which request on the
// connection is ambiguous; refuseAmbiguous, among the first middleware,
// answers that request with 400 and closes the connection before anything
// reaches the upstream. Whatever the guard cannot follow (an upgrade, a
// malformed header the server rejects anyway) it stops watching: it never
// refuses a request the server would accept unambiguously.
//
// The guard counts request heads and refuseAmbiguous counts the requests
// it sees; both counts agree only because every request net/http reads
// reaches the handler (Server disables net/http's own OPTIONS * answer) or
// ends the connection.

// guardListener wraps accepted connections in a framingConn.
type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingConn follows request framing as bytes are read. net/http reads a
// connection from one goroutine at a time, so f needs no lock; the handler
// reads ambiguousAt and served from the request's goroutine.
type framingConn struct {
	net.Conn
	f           framing
	ambiguousAt atomic.Int64 // 1-based index of the first ambiguous request; 0: none
	served      atomic.Int64 // requests the middleware has seen
}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.ambiguousAt.Load() == 0 && c.f.scan(p[:n]) {
		c.ambiguousAt.Store(int64(c.f.heads))
		c.f.state = stopped // the connection ends with that request
	}
	return n, err
}

type framingKey struct{}

// withFramingConn is http.Server.ConnContext: it gives each request's
// context its connection's guard.
func withFramingConn(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framingConn); ok {
		return context.WithValue(ctx, framingKey{}, fc)
	}
	return ctx
}

// refuseAmbiguous answers the request the guard found ambiguous with
// robot-server's error envelope and Connection: close, so net/http closes
// the connection without reading what follows. Requests served without
// the guard (a bare Handler) pass.
func refuseAmbiguous(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		fc, _ := c.Request().Context().Value(framingKey{}).(*framingConn)
		if fc == nil {
			return next(c)
		}
		n := fc.served.Add(1)
		if at := fc.ambiguousAt.Load(); at == 0 || n < at {
			return next(c)
		}
		c.Response().Header().Set("Connection", "close")
		writeError(c.Response(), http.StatusBadRequest, "BadRequest", "Bad Request",
			"Ambiguous request framing: Content-Length together with Transfer-Encoding.")
		return nil
	}
}

// maxFramingHeader bounds the header bytes kept while following a request;
// past it the server's own header limit answers.
const maxFramingHeader = 128 << 10

type framingState int

const (
	inHeader    framingState = iota
	inBody                   // remaining bytes of a Content-Length body
	inChunkSize              // a chunk-size line
	inChunkData              // remaining bytes of a chunk, then CRLF
	inTrailer                // trailer lines up to an empty one
	stopped                  // not following this connection any more
)

// framing is the scanner behind framingConn; scan reports an ambiguous request.
type framing struct {
	state     framingState
	line      []byte // the current header, chunk-size or trailer line
	header    []string
	remaining int64
	heads     int // complete request heads seen
}

func (f *framing) scan(b []byte) (ambiguous bool) {
	for len(b) > 0 && f.state != stopped {
		switch f.state {
		case inBody, inChunkData:
			n := int64(len(b))
			if n > f.remaining {
				n = f.remaining
			}
			f.remaining -= n
			b = b[n:]
			if f.remaining == 0 {
				if f.state == inBody {
					f.state = inHeader
				} else {
					f.state = inChunkSize // the CRLF after the data reads as an empty size line
				}
			}
		default:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				f.keep(b)
				return false
			}
			f.keep(b[:i])
			b = b[i+1:]
			line := strings.TrimSuffix(string(f.line), "\r")
			f.line = f.line[:0]
			if f.endLine(line) {
				return true
			}
		}
	}
	return false
}

func (f *framing) keep(b []byte) {
	if len(f.line)+len(b) > maxFramingHeader {
		f.state = stopped
		return
	}
	f.line = append(f.line, b...)
}

// endLine takes one complete line in the current state.
func (f *framing) endLine(line string) (ambiguous bool) {
	switch f.state {
	case inHeader:
		if line != "" {
			if (line[0] == ' ' || line[0] == '\t') && len(f.header) > 1 {
				// A folded line (obs-fold) continues the header before it,
				// as net/http reads it: "Transfer-Encoding:\r\n chunked"
				// is a Transfer-Encoding.
				f.header[len(f.header)-1] += " " + strings.TrimSpace(line)
				return false
			}
			f.header = append(f.header, line)
			return false
		}
		if len(f.header) == 0 {
			return false // blank lines before a request are allowed
		}
		f.heads++
		ambiguous = f.startBody()
		f.header = f.header[:0]
		return ambiguous
	case inChunkSize:
		if line == "" {
			return false // the CRLF closing the previous chunk
		}
		sizeText, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		switch {
		case err != nil || size < 0:
			f.state = stopped
		case size == 0:
			f.state = inTrailer
		default:
			f.state, f.remaining = inChunkData, size
		}
	case inTrailer:
		if line == "" {
			f.state = inHeader
		}
	}
	return false
}

// startBody reads the framing headers of a complete request head.
func (f *framing) startBody() (ambiguous bool) {
	method, _, _ := strings.Cut(f.header[0], " ")
	var lengths, encodings []string
	upgrade := false
	for _, h := range f.header[1:] {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			lengths = append(lengths, strings.TrimSpace(value))
		case "transfer-encoding":
			encodings = append(encodings, strings.ToLower(strings.TrimSpace(value)))
		case "upgrade":
			upgrade = true
		}
	}
	// net/http ignores Transfer-Encoding on HTTP/1.0 requests and takes
	// repeated Content-Length headers of one value as one.
	http10 := strings.HasSuffix(f.header[0], " HTTP/1.0")
	if len(lengths) > 1 && allEqual(lengths) {
		lengths = lengths[:1]
	}
	switch {
	case len(lengths) > 0 && len(encodings) > 0:
		return true
	case method == "CONNECT" || upgrade:
		f.state = stopped // the stream stops being HTTP requests
	case len(encodings) > 0 && !http10:
		if strings.HasSuffix(strings.Join(encodings, ","), "chunked") {
			f.state = inChunkSize
		} else {
			f.state = stopped // the server answers 501
		}
	case len(lengths) == 1:
		n, err := strconv.ParseInt(lengths[0], 10, 64)
		if err != nil || n < 0 {
			f.state = stopped // the server answers 400
		} else if n > 0 {
			f.state, f.remaining = inBody, n
		}
	case len(lengths) > 1:
		f.state = stopped // the server rejects differing lengths itself
	}
	return false
}

func allEqual(values []string) bool {
	for _, v := range values[1:] {
		if v != values[0] {
			return false
		}
	}
	return true
}
