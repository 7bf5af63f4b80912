package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// Nearly every answer robot-server gives a GET is plain: HTTP/1.1, a final
// status with a body, one Content-Length, a few token-named fields. The
// direct path reads those heads here, which costs a fraction of
// http.ReadResponse (its textproto reader allocated a fifth of a
// pass-through's objects), and leaves every other head, and every error, to
// http.ReadResponse on the same unread bytes.

// readResponse reads the response head to req from br.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return http.ReadResponse(br, req)
	}
	for want := 1; ; {
		if _, err := br.Peek(want); err != nil {
			// An early end, an error, or a head longer than the buffer.
			return http.ReadResponse(br, req)
		}
		b, _ := br.Peek(br.Buffered())
		resp, size, v := parseResponseHead(b)
		switch v {
		case headIncomplete:
			want = len(b) + 1
			continue
		case headHandOff:
			return http.ReadResponse(br, req)
		}
		_, _ = br.Discard(size)
		resp.Request = req
		if resp.ContentLength == 0 {
			resp.Body = http.NoBody
		} else {
			resp.Body = &lengthBody{r: br, n: resp.ContentLength}
		}
		return resp, nil
	}
}

// parseResponseHead reads a plain response head at the start of b.
func parseResponseHead(b []byte) (*http.Response, int, headVerdict) {
	line, pos, v := headLine(b, 0)
	if v != headOurs {
		return nil, 0, v
	}
	status, ok := bytes.CutPrefix(line, []byte("HTTP/1.1 "))
	if !ok || len(status) < 3 || (len(status) > 3 && status[3] != ' ') {
		return nil, 0, headHandOff
	}
	code, err := strconv.Atoi(string(status[:3]))
	// No interim answers, and none without a body (204, 304).
	if err != nil || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, 0, headHandOff
	}
	for _, c := range status[3:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, 0, headHandOff
		}
	}
	resp := &http.Response{
		StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: -1,
	}
	var fields headFields
	for {
		line, next, v := headLine(b, pos)
		if v != headOurs {
			return nil, 0, v
		}
		pos = next
		if len(line) == 0 {
			if resp.ContentLength < 0 {
				return nil, 0, headHandOff // chunked, or read to the close
			}
			var head string
			resp.Header, head = fields.header(b, pos)
			resp.Status = fields.sub(head, b, status)
			if resp.Close {
				resp.Header.Del("Connection")
			}
			return resp, pos, headOurs
		}
		name, value, ok := splitField(line)
		if !ok {
			return nil, 0, headHandOff
		}
		key := canonicalKey(name)
		switch key {
		case "Content-Length":
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || resp.ContentLength >= 0 || value[0] == '+' {
				return nil, 0, headHandOff
			}
			resp.ContentLength = n
		case "Transfer-Encoding", "Trailer", "Pragma":
			return nil, 0, headHandOff // framing, or a field net/http rewrites
		case "Connection":
			switch {
			case bytes.EqualFold(value, []byte("close")):
				resp.Close = true // and the field goes, as in net/http
				continue
			case !allKeepAlive(value):
				return nil, 0, headHandOff
			}
		}
		fields.add(key, value)
	}
}

// lengthBody is a body of known length read from the connection. Like
// net/http's, it reports an early end as io.ErrUnexpectedEOF, so a cut body
// is never taken for a whole one.
type lengthBody struct {
	r *bufio.Reader
	n int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	switch {
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	case err == nil && b.n == 0:
		// The end, with the last bytes: a reader such as bytes.Buffer
		// would otherwise grow its buffer for one more Read.
		err = io.EOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }

func (b *lengthBody) buffered() ([]byte, bool) {
	if b.n <= 0 || int64(b.r.Buffered()) < b.n {
		return nil, false
	}
	p, _ := b.r.Peek(int(b.n))
	_, _ = b.r.Discard(int(b.n)) // the bytes stay in the buffer until its next fill
	b.n = 0
	return p, true
}
