package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseResponseHead(t *testing.T) {
	const plain = "HTTP/1.1 200 OK\r\ndate: Fri, 27 Nov 2026 04:00:00 GMT\r\nserver: uvicorn\r\n" +
		"content-length: 2\r\ncontent-type: application/json\r\n\r\n{}"
	tests := []struct {
		name, head string
		want       headVerdict
	}{
		{"uvicorn's answer", plain, headOurs},
		{"no reason phrase", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", headOurs},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", headOurs},
		{"keep-alive, then close", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", headOurs},
		{"cut short", plain[:40], headIncomplete},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", headHandOff},
		{"no length: read to close", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", headHandOff},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", headHandOff},
		{"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", headHandOff},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", headHandOff},
		{"interim", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", headHandOff},
		{"not modified", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", headHandOff},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", headHandOff},
		{"folded field", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n", headHandOff},
		{"pragma, which net/http rewrites", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n", headHandOff},
		{"other connection options", "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n", headHandOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, size, v := parseResponseHead([]byte(tt.head))
			if v != tt.want {
				t.Fatalf("verdict %d, want %d", v, tt.want)
			}
			if v == headOurs {
				sameAsNetHTTP(t, []byte(tt.head), resp, size)
			}
		})
	}
}

// sameAsNetHTTP checks a head the direct path took against net/http's
// reading of the same bytes.
func sameAsNetHTTP(t *testing.T, b []byte, resp *http.Response, size int) {
	t.Helper()
	if size > len(b) {
		t.Fatalf("size %d past the %d bytes", size, len(b))
	}
	get, _ := http.NewRequest(http.MethodGet, "http://upstream/runs", nil)
	want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b[:size])), get)
	if err != nil {
		t.Fatalf("took a head net/http rejects (%v): %q", err, b[:size])
	}
	got := []any{resp.Status, resp.StatusCode, resp.Proto, resp.ContentLength, resp.Close, resp.Header}
	exp := []any{want.Status, want.StatusCode, want.Proto, want.ContentLength, want.Close, want.Header}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("got %v\nnet/http %v", got, exp)
	}
}

func TestReadResponseBody(t *testing.T) {
	get, _ := http.NewRequest(http.MethodGet, "http://upstream/runs", nil)
	tests := []struct {
		name, wire, body string
		err              error
	}{
		{"whole", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", nil},
		{"empty", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "", nil},
		{"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", "hello", io.ErrUnexpectedEOF},
		{"chunked, through net/http", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A tiny buffer makes the head arrive in pieces.
			// What follows a whole body is the next answer's, and stays unread.
			next := "HTTP/1.1 next"
			if tt.err != nil {
				next = ""
			}
			br := bufio.NewReaderSize(strings.NewReader(tt.wire+next), 16)
			resp, err := readResponse(br, get)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(tt.body)+1)))
			if string(body) != tt.body || !errors.Is(err, tt.err) {
				t.Fatalf("body %q (%v), want %q (%v)", body, err, tt.body, tt.err)
			}
		})
	}
	br := bufio.NewReader(strings.NewReader(""))
	if _, err := readResponse(br, get); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a closed connection gave %v", err)
	}
}

// TestReadResponseBodyEndsWithLastBytes: the read that takes a body's last
// bytes reports io.EOF, as net/http's bodies do. Without it bytes.Buffer
// (readLimited) doubled a buffer sized to Content-Length for one more Read,
// which cost a 3.5 MB list 23 MB of peak memory under 8 clients.
func TestReadResponseBodyEndsWithLastBytes(t *testing.T) {
	get, _ := http.NewRequest(http.MethodGet, "http://upstream/runs", nil)
	resp, err := readResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")), get)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 64)
	if n, err := resp.Body.Read(p); n != 5 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want 5, EOF", n, err)
	}
	if n, err := resp.Body.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("Read after the end = %d, %v; want 0, EOF", n, err)
	}
}

func FuzzParseResponseHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nserver: uvicorn\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"))
	f.Add([]byte("HTTP/1.1 500\r\nConnection: close\r\nContent-Length: 0\r\nX-A:\t1 \r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 \r\nCONTENT-LENGTH: 007\r\nx-\xc3\xa9: \xff\r\nConnection: Keep-Alive\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 422 Unprocessable  Entity\r\netag: \"a\"\r\nContent-Length: 3\r\nVary:\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if resp, size, v := parseResponseHead(b); v == headOurs {
			sameAsNetHTTP(t, b, resp, size)
		}
	})
}

// TestLentBody: a body all in the read buffer is lent, not copied: the
// bytes come back once, the body then reads as ended, and what follows
// stays for the connection's next answer.
func TestLentBody(t *testing.T) {
	get, _ := http.NewRequest(http.MethodGet, "http://upstream/runs", nil)
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 next"))
	resp, err := readResponse(br, get)
	if err != nil {
		t.Fatal(err)
	}
	body := &eofBody{ReadCloser: resp.Body}
	b, ok := body.buffered()
	if !ok || string(b) != "hello" || !body.eof {
		t.Fatalf("buffered() = %q, %v (eof %v); want hello, true, true", b, ok, body.eof)
	}
	if n, err := body.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after lending = %d, %v; want 0, EOF", n, err)
	}
	if rest, _ := br.Peek(br.Buffered()); string(rest) != "HTTP/1.1 next" {
		t.Fatalf("left in the buffer: %q", rest)
	}
	// A body not all buffered is read as usual.
	br = bufio.NewReaderSize(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"+strings.Repeat("x", 100)), 64)
	resp, _ = readResponse(br, get)
	if _, ok := (&eofBody{ReadCloser: resp.Body}).buffered(); ok {
		t.Fatal("a body larger than the buffer was lent")
	}
	if b, err := io.ReadAll(resp.Body); len(b) != 100 || err != nil {
		t.Fatalf("then read %d bytes, %v; want 100", len(b), err)
	}
}
