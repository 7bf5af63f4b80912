package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"otcompat/transforms"
)

// rawResponse is a response read off the wire, with its whole body.
type rawResponse struct {
	*http.Response
	body string
}

// rawExchange writes raw request bytes on one connection and reads a
// response for each of methods.
func rawExchange(t *testing.T, base, raw string, methods ...string) []rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []rawResponse
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d: %v", len(out)+1, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", len(out)+1, err)
		}
		out = append(out, rawResponse{resp, string(body)})
	}
	return out
}

// TestFrontServesAndHandsOff: one keep-alive connection carries requests the
// front lane answers (pipelined, too) and then one it hands to net/http,
// which keeps answering the connection's later requests.
func TestFrontServesAndHandsOff(t *testing.T) {
	echoPath := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+string(body))
	})
	_, srv := newTestProxy(t, echoPath, transforms.Hide)
	resps := rawExchange(t, srv.URL,
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"+
			"HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"+
			"GET /c HTTP/1.1\r\nHost: x\r\n\r\n"+
			"POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"+
			"GET /e HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET", "HEAD", "GET", "POST", "GET")
	want := []string{"GET /a ", "", "GET /c ", "POST /d abc", "GET /e "}
	for i, resp := range resps {
		if resp.StatusCode != 200 || resp.body != want[i] {
			t.Errorf("response %d: %d %q, want 200 %q", i+1, resp.StatusCode, resp.body, want[i])
		}
		if resp.Header.Get("Date") == "" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("response %d lacks Date or X-Request-Id: %v", i+1, resp.Header)
		}
	}
	if resps[1].ContentLength != int64(len("HEAD /b ")) {
		t.Errorf("HEAD Content-Length %d, want the upstream's %d", resps[1].ContentLength, len("HEAD /b "))
	}
}

// TestFrontHandsOffWhatIsNotPlain: requests the front lane leaves to net/http
// are answered as net/http answers them.
func TestFrontHandsOffWhatIsNotPlain(t *testing.T) {
	_, srv := newTestProxy(t, &static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(`{}`)}, transforms.Hide)
	tests := []struct {
		name, raw  string
		wantStatus int
		wantClose  bool
	}{
		{"HTTP/1.0", "GET /health HTTP/1.0\r\nHost: x\r\n\r\n", 200, true},
		{"Connection: close", "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, true},
		{"bare LF", "GET /health HTTP/1.1\nHost: x\n\n", 200, false},
		{"no Host", "GET /health HTTP/1.1\r\n\r\n", 400, true},
		{"head over 4 KiB", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 6000) + "\r\n\r\n", 200, false},
		{"absolute form", "GET http://elsewhere/health HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
		{"bad escape in the target", "GET /health%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawExchange(t, srv.URL, tt.raw, "GET")[0]
			if resp.StatusCode != tt.wantStatus || resp.Close != tt.wantClose {
				t.Errorf("got %d close=%v, want %d close=%v", resp.StatusCode, resp.Close, tt.wantStatus, tt.wantClose)
			}
		})
	}
}

// TestFrontResponseFraming: the front lane frames responses as net/http
// would: chunked without a length, no body for HEAD, 204 and 304, a sniffed
// Content-Type when the upstream gave none, and a cut connection when the
// body falls short of its Content-Length.
func TestFrontResponseFraming(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		upstream   http.HandlerFunc
		wantStatus int
		wantBody   string
		wantTE     []string
		wantType   string
	}{
		{"no length: chunked", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "one ")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "two")
		}, 200, "one two", []string{"chunked"}, "text/plain"},
		{"sniffed type", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // the upstream sends none
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		}, 200, "<html><body>hi</body></html>", nil, "text/html; charset=utf-8"},
		{"204", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, 204, "", nil, ""},
		{"304", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(304)
		}, 304, "", nil, ""},
		{"HEAD", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000")
		}, 200, "", nil, "application/json"},
		{"big body spliced", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "300000")
			_, _ = io.WriteString(w, strings.Repeat("z", 300000))
		}, 200, strings.Repeat("z", 300000), nil, "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newTestProxy(t, tt.upstream, transforms.Hide)
			resp := rawExchange(t, srv.URL, tt.method+" /x HTTP/1.1\r\nHost: x\r\n\r\n", tt.method)[0]
			if resp.StatusCode != tt.wantStatus || resp.body != tt.wantBody {
				t.Errorf("got %d body of %d bytes, want %d and %d bytes", resp.StatusCode, len(resp.body), tt.wantStatus, len(tt.wantBody))
			}
			if strings.Join(resp.TransferEncoding, ",") != strings.Join(tt.wantTE, ",") {
				t.Errorf("Transfer-Encoding %v, want %v", resp.TransferEncoding, tt.wantTE)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
		})
	}

	t.Run("short body cuts the connection", func(t *testing.T) {
		_, srv := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			c.Close()
		}), transforms.Hide)
		resp, err := http.Get(srv.URL + "/x")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatal("a body 7 bytes short was presented as complete")
		}
	})
}

// TestFrontShutdown: an idle connection is closed at once; a request in
// flight finishes, told that the connection closes after it.
func TestFrontShutdown(t *testing.T) {
	release := make(chan struct{})
	_, srv := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}), transforms.Hide)
	addr := strings.TrimPrefix(srv.URL, "http://")
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, _ = io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the request reaches the upstream

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Front.Shutdown(ctx)
	}()
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: read %d bytes, %v; want EOF", n, err)
	}
	close(release)
	_ = busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(body) != "done" || !resp.Close {
		t.Errorf("in-flight request: %d %q close=%v, want 200 \"done\" close=true", resp.StatusCode, body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
