package proxy

import (
	"bytes"
	"context"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The front lane (front.go) serves a request itself only when its head is
// plainly one the direct path takes: GET or HEAD, HTTP/1.1, origin-form
// target, CRLF line ends, one plain Host, no body or upgrade headers.
// Anything else, including everything merely unusual, goes to net/http
// unread, which keeps the final word on what is valid.

// headVerdict is what parseHead makes of a buffer.
type headVerdict int

const (
	headIncomplete headVerdict = iota // no blank line yet: read more
	headOurs                          // a complete head the front lane serves
	headHandOff                       // for net/http
)

// requestHead is a parsed request head the front lane serves.
type requestHead struct {
	method, target, host string
	targetBytes          []byte // target, in the head's bytes
	url                  *url.URL
	header               http.Header
	size                 int // bytes through the blank line
}

// parseHead reads the request head at the start of b.
func parseHead(b []byte) (requestHead, headVerdict) {
	var h requestHead
	pos, lines := 0, 0
	var host []byte
	hosts := 0
	var fields headFields
	for {
		line, next, v := headLine(b, pos)
		if v != headOurs {
			return h, v
		}
		pos = next
		lines++
		switch {
		case lines == 1:
			if !h.requestLine(line) {
				return h, headHandOff
			}
			continue
		case len(line) == 0:
			if hosts != 1 {
				return h, headHandOff
			}
			var head string
			h.header, head = fields.header(b, pos)
			h.target, h.host = fields.sub(head, b, h.targetBytes), fields.sub(head, b, host)
			var err error
			if h.url, err = url.ParseRequestURI(h.target); err != nil {
				return h, headHandOff // net/http answers a bad target with its 400
			}
			h.size = pos
			return h, headOurs
		}
		name, value, ok := splitField(line)
		if !ok {
			return h, headHandOff
		}
		key := canonicalKey(name)
		switch key {
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade":
			return h, headHandOff // a body, 100-continue or a protocol switch
		case "Connection":
			if !allKeepAlive(value) {
				return h, headHandOff // "close" and other options: net/http's
			}
		case "Host":
			hosts++
			if !plainHost(value) {
				return h, headHandOff
			}
			host = value
			continue // net/http moves Host out of the header map too
		}
		fields.add(key, value)
	}
}

// headFields collects a head's fields as slices of its bytes. Once the head
// is complete, one string holds it all and the values are substrings of it:
// a string and a slice per field was most of a request's allocations.
type headFields struct {
	n     int
	array [16]headField
	extra []headField // beyond the array (the array keeps the common case off the heap)
}

type headField struct {
	key   string
	value []byte // in the head's bytes
}

func (f *headFields) add(key string, value []byte) {
	if f.n < len(f.array) {
		f.array[f.n] = headField{key, value}
	} else {
		f.extra = append(f.extra, headField{key, value})
	}
	f.n++
}

func (f *headFields) at(i int) *headField {
	if i < len(f.array) {
		return &f.array[i]
	}
	return &f.extra[i-len(f.array)]
}

// header builds the fields' header from b, whose first size bytes are the
// head, and returns the head as a string for sub.
func (f *headFields) header(b []byte, size int) (http.Header, string) {
	head := string(b[:size])
	h := make(http.Header, f.n)
	values := make([]string, f.n) // net/http's trick: one backing array
	for i := range values {
		fl := f.at(i)
		values[i] = f.sub(head, b, fl.value)
		if vs, ok := h[fl.key]; ok {
			h[fl.key] = append(vs, values[i])
		} else {
			h[fl.key] = values[i : i+1 : i+1]
		}
	}
	return h, head
}

// sub returns part, a slice of b's head, as a substring of head, the head
// as one string. The offset comes from the shared backing array: a slice
// starting k bytes into b has k bytes less capacity.
func (*headFields) sub(head string, b, part []byte) string {
	if len(part) == 0 {
		return ""
	}
	off := cap(b) - cap(part)
	return head[off : off+len(part)]
}

// headLine returns the CRLF-ended line at pos and where the next starts.
func headLine(b []byte, pos int) (line []byte, next int, v headVerdict) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return nil, 0, headIncomplete
	}
	end := pos + i
	if end == pos || b[end-1] != '\r' {
		return nil, 0, headHandOff // a bare LF (net/http takes it; we need not)
	}
	return b[pos : end-1], end + 1, headOurs
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey, without allocating for
// the names in commonHeaders.
func canonicalKey(name []byte) string {
	if key, ok := commonHeaders[string(name)]; ok {
		return key
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

// requestLine reads "GET /path HTTP/1.1".
func (h *requestHead) requestLine(line []byte) bool {
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		h.method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		h.method, line = http.MethodHead, line[5:]
	default:
		return false
	}
	target, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok || len(target) == 0 || target[0] != '/' {
		return false
	}
	for _, c := range target {
		// Printable ASCII; '#' never belongs in a request target.
		if c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	h.targetBytes = target
	return true
}

// request builds the *http.Request net/http would for this head.
func (h *requestHead) request(ctx context.Context, remote string) *http.Request {
	r := &http.Request{
		Method: h.method, URL: h.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h.header, Body: http.NoBody, Host: h.host, RemoteAddr: remote, RequestURI: h.target,
	}
	return r.WithContext(ctx)
}

// splitField splits "Name: value" with the value's surrounding blanks
// trimmed. The name must be a token and the value free of control bytes
// other than tab; obs-fold (a line starting with a blank) fails the token.
func splitField(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	name, value = line[:colon], bytes.Trim(line[colon+1:], " \t")
	for _, c := range name {
		if !httpguts.IsTokenRune(rune(c)) {
			return nil, nil, false
		}
	}
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, false
		}
	}
	return name, value, true
}

// plainHost accepts host names, IPv4 and bracketed IPv6 addresses with an
// optional port; anything fancier is net/http's to judge.
func plainHost(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// allKeepAlive reports whether a Connection value names only keep-alive.
func allKeepAlive(v []byte) bool {
	for _, tok := range bytes.Split(v, []byte(",")) {
		if !bytes.EqualFold(bytes.TrimSpace(tok), []byte("keep-alive")) {
			return false
		}
	}
	return true
}

// commonHeaders maps header names as clients and servers usually spell them
// to their canonical keys without allocating (a map lookup of string(b) does
// not).
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization",
		"Cache-Control", "Connection", "Content-Length", "Cookie", "Expect", "Host",
		"If-Modified-Since", "If-None-Match", "Opentrons-Version", "Origin", "Pragma", "Referer",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "User-Agent", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id", "Otcompat-Explain",
		// and robot-server's answers
		"Access-Control-Allow-Origin", "Content-Encoding", "Content-Type", "Date", "Etag",
		"Keep-Alive", "Last-Modified", "Opentrons-Min-Version", "Pragma", "Server", "Vary"} {
		m[k] = k
		m[strings.ToLower(k)] = k
	}
	m["TE"], m["X-Request-ID"] = "Te", "X-Request-Id"
	return m
}()
