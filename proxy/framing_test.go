package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"otcompat/transforms"
)

func TestFramingScan(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		ambiguous bool
		state     framingState
	}{
		{"simple GET", "GET /runs HTTP/1.1\r\nHost: x\r\n\r\n", false, inHeader},
		{"content-length body then next", "POST /runs HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", false, inHeader},
		{"body holding a fake ambiguous head", "POST /p HTTP/1.1\r\nContent-Length: 56\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false, inHeader},
		{"chunked body then next", "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n", false, inHeader},
		{"CL and TE", "POST /runs HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true, inHeader},
		{"CL and TE in any case", "POST /runs HTTP/1.1\r\ncontent-length: 5\r\nTRANSFER-ENCODING: chunked\r\n\r\n", true, inHeader},
		{"CL and TE on the second request", "GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", true, inHeader},
		{"bare LF lines", "POST / HTTP/1.1\nContent-Length: 2\nTransfer-Encoding: chunked\n\n", true, inHeader},
		{"upgrade stops following", "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false, stopped},
		{"bad chunk size stops following", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, stopped},
		{"unsupported coding stops following", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", false, stopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Byte by byte and all at once must agree.
			for _, step := range []int{1, len(tt.stream)} {
				var f framing
				got := false
				for i := 0; i < len(tt.stream) && !got; i += step {
					got = f.scan([]byte(tt.stream[i:min(i+step, len(tt.stream))]))
				}
				if got != tt.ambiguous || (!got && f.state != tt.state) {
					t.Fatalf("step %d: ambiguous %v state %v, want %v %v", step, got, f.state, tt.ambiguous, tt.state)
				}
			}
		})
	}
}

func TestAmbiguousRequestRefused(t *testing.T) {
	up := static{status: 200, body: []byte("ok")}
	_, srv := newTestProxy(t, &up, transforms.Hide)
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /runs HTTP/1.1\r\nHost: x\r\nOpentrons-Version: 3\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Ambiguous request framing") {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if up.last != nil {
		t.Fatal("the ambiguous request reached the upstream")
	}

	// An unambiguous chunked upload goes through.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/protocols", io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")))
	req.Header.Set("Opentrons-Version", "3")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || up.last == nil {
		t.Fatalf("chunked upload: %d, reached upstream %v", resp.StatusCode, up.last != nil)
	}
}

// FuzzFraming: the scanner never panics, and a well-framed pair of requests
// around any body is never taken for an ambiguous one.
func FuzzFraming(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), []byte("body"), uint8(3))
	f.Add([]byte("0\r\n\r\n"), []byte("\r\n\r\nGET / HTTP/1.1\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, raw, body []byte, step uint8) {
		var f1 framing
		f1.scan(raw)
		chunks := "0\r\n\r\n"
		if len(body) > 0 {
			chunks = strconv.FormatInt(int64(len(body)), 16) + "\r\n" + string(body) + "\r\n" + chunks
		}
		stream := "POST /a HTTP/1.1\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body) +
			"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "GET /c HTTP/1.1\r\n\r\n"
		var f2 framing
		n := int(step%64) + 1
		for i := 0; i < len(stream); i += n {
			if f2.scan([]byte(stream[i:min(i+n, len(stream))])) {
				t.Fatalf("well-framed stream flagged at %d", i)
			}
		}
		if f2.state != inHeader {
			t.Fatalf("scanner lost the framing: state %v", f2.state)
		}
	})
}
