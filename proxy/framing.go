package proxy

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
)

// Go's HTTP server resolves a request carrying both Content-Length and
// Transfer-Encoding by dropping Content-Length (RFC 9112, 6.3) before any
// handler sees it. A front proxy that read the same bytes by Content-Length
// would then disagree with robot-server about where the request ends: request
// smuggling. RFC 9112 says such a message "ought to be handled as an error",
// so the front (front.go) follows the request framing of each connection it
// hands to net/http and answers it with 400 before the server parses it. Whatever it cannot follow (an
// upgrade, a malformed header the server will reject anyway) it stops
// watching: it never refuses a request the server would accept unambiguously.

// framingConn follows request framing as bytes are read.
type framingConn struct {
	net.Conn
	f       framing
	refused bool
}

// ReadFrom lets the server splice a body from another socket into this one:
// the guard only follows what is read.
func (c *framingConn) ReadFrom(r io.Reader) (int64, error) { return readFromVia(c.Conn, r) }

// readFromVia writes r to c through c's own ReadFrom (splice, sendfile)
// when it has one: a wrapper's embedding would otherwise hide it.
func readFromVia(c net.Conn, r io.Reader) (int64, error) {
	if rf, ok := c.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c}, r)
}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	if c.refused {
		return 0, net.ErrClosed
	}
	if c.f.scan(p[:n]) {
		c.refused = true
		_, _ = c.Conn.Write(ambiguousResponse)
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

var ambiguousResponse = func() []byte {
	body := `{"errors":[{"id":"BadRequest","title":"Bad Request","detail":"Ambiguous request framing: Content-Length together with Transfer-Encoding.","errorCode":"4000"}]}`
	return []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

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
			f.header = append(f.header, line)
			return false
		}
		if len(f.header) == 0 {
			return false // blank lines before a request are allowed
		}
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
	switch {
	case len(lengths) > 0 && len(encodings) > 0:
		return true
	case method == "CONNECT" || upgrade:
		f.state = stopped // the stream stops being HTTP requests
	case len(encodings) > 0:
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
