package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
		{"folded TE is a TE", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", true, inHeader},
		{"folded line continues another header", "POST / HTTP/1.1\r\nContent-Length: 2\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\nhiGET / HTTP/1.1\r\n\r\n", false, inHeader},
		{"one length twice, then CL and TE", "POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhiPOST /runs HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true, inHeader},
		{"TE on HTTP/1.0 is no body, then CL and TE", "POST /f HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\nPOST /runs HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true, inHeader},
		{"CL and TE on HTTP/1.0", "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true, inHeader},
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

// TestAmbiguousRequestRefused: the ambiguous request on a connection gets
// the 400 envelope and the connection closes; requests before it on the
// connection, even read in the same bytes, are served, and nothing from the
// ambiguous one on reaches the upstream.
func TestAmbiguousRequestRefused(t *testing.T) {
	const (
		plain     = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
		ambiguous = "POST /runs HTTP/1.1\r\nHost: x\r\nOpentrons-Version: 3\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		smuggled  = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	)
	tests := []struct {
		name     string
		stream   string
		statuses []int // the answers before the connection closes
		wantUp   int   // requests that reach the upstream
	}{
		{"alone", ambiguous + smuggled, []int{400}, 0},
		{"after a request on the connection", plain + ambiguous + smuggled, []int{200, 400}, 1},
		{"after two", plain + plain + ambiguous, []int{200, 200, 400}, 2},
		{"OPTIONS * counts as a request", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n" + ambiguous, []int{404, 400}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var reached []string
			_, srv := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				reached = append(reached, r.URL.Path)
				mu.Unlock()
			}), transforms.Hide)
			_, br := dialAndSend(t, srv.URL, tt.stream) // one write: the server reads it all at once
			for i, want := range tt.statuses {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i+1, err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != want {
					t.Fatalf("response %d: %d %s, want %d", i+1, resp.StatusCode, body, want)
				}
				if want == http.StatusBadRequest && (!resp.Close ||
					string(body) != `{"errors":[{"id":"BadRequest","title":"Bad Request","detail":"Ambiguous request framing: Content-Length together with Transfer-Encoding.","errorCode":"4000"}]}`) {
					t.Fatalf("400 close=%v %s, want the envelope and Connection: close", resp.Close, body)
				}
			}
			if n, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the 400: read %q, %v; want the connection closed", n, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reached) != tt.wantUp {
				t.Errorf("the upstream saw %q, want %d requests", reached, tt.wantUp)
			}
		})
	}

	t.Run("chunked upload passes", func(t *testing.T) {
		up := static{status: 200, body: []byte("ok")}
		_, srv := newTestProxy(t, &up, transforms.Hide)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/protocols", io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")))
		req.Header.Set("Opentrons-Version", "3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || up.last == nil || len(up.last.TransferEncoding) == 0 {
			t.Fatalf("chunked upload: %d, reached upstream %v", resp.StatusCode, up.last != nil)
		}
	})
}

// FuzzFraming: the scanner never panics, and well-framed requests around
// any body are never taken for an ambiguous one and are counted one by one
// (refuseAmbiguous finds the ambiguous request by that count).
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
		if f2.state != inHeader || f2.heads != 3 {
			t.Fatalf("scanner lost the framing: state %v after %d request heads, want %v after 3", f2.state, f2.heads, inHeader)
		}
	})
}
