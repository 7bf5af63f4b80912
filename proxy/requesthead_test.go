package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"testing"
)

func TestParseHead(t *testing.T) {
	tests := []struct {
		name    string
		head    string
		verdict headVerdict
		method  string
		target  string
		host    string
		header  http.Header
	}{
		{"plain GET", "GET /runs?pageLength=3 HTTP/1.1\r\nHost: robot:31950\r\nOpentrons-Version: 3\r\n\r\n", headOurs,
			"GET", "/runs?pageLength=3", "robot:31950", http.Header{"Opentrons-Version": {"3"}}},
		{"HEAD, lower-case and odd names canonicalised, values trimmed", "HEAD /health HTTP/1.1\r\nhost: 10.0.0.2\r\nopentrons-version:  *\t\r\nx-custom-thing: a\r\nX-Custom-Thing: b\r\n\r\n", headOurs,
			"HEAD", "/health", "10.0.0.2", http.Header{"Opentrons-Version": {"*"}, "X-Custom-Thing": {"a", "b"}}},
		{"keep-alive is fine", "GET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: Keep-Alive\r\n\r\n", headOurs,
			"GET", "/", "[::1]:80", http.Header{"Connection": {"Keep-Alive"}}},
		{"no blank line yet", "GET / HTTP/1.1\r\nHost: x\r\n", headIncomplete, "", "", "", nil},
		{"half a line", "GET / HTT", headIncomplete, "", "", "", nil},
		{"POST", "POST /runs HTTP/1.1\r\nHost: x\r\n\r\n", headHandOff, "", "", "", nil},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", headHandOff, "", "", "", nil},
		{"absolute form", "GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", headHandOff, "", "", "", nil},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", headHandOff, "", "", "", nil},
		{"bare LF after a good line", "GET / HTTP/1.1\r\nHost: x\n\n", headHandOff, "", "", "", nil},
		{"leading blank line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", headHandOff, "", "", "", nil},
		{"no Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", headHandOff, "", "", "", nil},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", headHandOff, "", "", "", nil},
		{"odd Host", "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", headHandOff, "", "", "", nil},
		{"Content-Length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", headHandOff, "", "", "", nil},
		{"Transfer-Encoding", "GET / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n", headHandOff, "", "", "", nil},
		{"Expect", "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n", headHandOff, "", "", "", nil},
		{"Upgrade", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", headHandOff, "", "", "", nil},
		{"Connection: close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", headHandOff, "", "", "", nil},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", headHandOff, "", "", "", nil},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n", headHandOff, "", "", "", nil},
		{"control byte in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", headHandOff, "", "", "", nil},
		{"fragment in target", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", headHandOff, "", "", "", nil},
		{"bad escape in target", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", headHandOff, "", "", "", nil},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", headHandOff, "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, v := parseHead([]byte(tt.head + "NEXT"))
			if v != tt.verdict {
				t.Fatalf("verdict %v, want %v", v, tt.verdict)
			}
			if v != headOurs {
				return
			}
			if h.method != tt.method || h.target != tt.target || h.host != tt.host || h.size != len(tt.head) {
				t.Errorf("got %s %s host %q size %d, want %s %s host %q size %d",
					h.method, h.target, h.host, h.size, tt.method, tt.target, tt.host, len(tt.head))
			}
			if !reflect.DeepEqual(h.header, tt.header) {
				t.Errorf("header %v, want %v", h.header, tt.header)
			}
		})
	}
}

// FuzzParseHead: whatever the front lane takes as its own, net/http reads
// the same way: same method, target, host and header.
func FuzzParseHead(f *testing.F) {
	f.Add([]byte("GET /runs HTTP/1.1\r\nHost: x\r\nOpentrons-Version: 3\r\n\r\n"))
	f.Add([]byte("HEAD /a?b=c HTTP/1.1\r\nhost: [::1]:1\r\nconnection: keep-alive, Keep-Alive\r\nx-a:\t1 \r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, v := parseHead(b)
		if v != headOurs {
			return
		}
		if h.size > len(b) {
			t.Fatalf("size %d past the %d bytes", h.size, len(b))
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:h.size])))
		if err != nil {
			t.Fatalf("front lane took a head net/http rejects (%v): %q", err, b[:h.size])
		}
		r := h.request(t.Context(), "")
		if r.Method != req.Method || r.RequestURI != req.RequestURI || r.Host != req.Host || r.URL.String() != req.URL.String() {
			t.Fatalf("front: %s %s host %q; net/http: %s %s host %q", r.Method, r.RequestURI, r.Host, req.Method, req.RequestURI, req.Host)
		}
		if (len(r.Header) > 0 || len(req.Header) > 0) && !reflect.DeepEqual(r.Header, req.Header) {
			t.Fatalf("front header %v, net/http %v", r.Header, req.Header)
		}
	})
}
