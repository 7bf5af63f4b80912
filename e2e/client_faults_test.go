package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestExpectContinueUploadKeepsUpstreamStatus: a client that waits for
// 100 Continue gets it, its body reaches the upstream and it gets the
// upstream's final status; an upstream that refuses without reading gets
// its answer to the client without the body.
func TestExpectContinueUploadKeepsUpstreamStatus(t *testing.T) {
	t.Parallel()
	payload := pattern(1 << 20)
	var received atomic.Value
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/protocols/refuse" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = io.WriteString(w, `{"errors":[{"id":"TooLarge","title":"Too Large","detail":"no","errorCode":"4000"}]}`)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		received.Store(sum(b))
		if r.URL.Path == "/protocols/invalid" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"errors":[{"id":"ProtocolFilesInvalid","title":"Protocol File(s) Invalid","detail":"no","errorCode":"4000"}]}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}), false)
	p := startProxy(t, up.flag)

	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"accepted upload keeps the upstream's 201", "/protocols", http.StatusCreated},
		{"upload rejected after reading keeps the upstream's 422", "/protocols/invalid", http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, p)
			c.send(t, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\n"+
				"Content-Type: application/octet-stream\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", tc.path, len(payload)))
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			line, err := c.r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
				t.Fatalf("want 100 Continue before sending the body, got %q, %v", line, err)
			}
			for line != "\r\n" { // a 1xx answer may carry headers
				if line, err = c.r.ReadString('\n'); err != nil {
					t.Fatalf("reading the 100 Continue: %v", err)
				}
			}
			_ = c.SetDeadline(time.Now().Add(testTimeout))
			c.send(t, string(payload))
			resp, body := c.response(t, http.MethodPost)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want the upstream's %d (body %s)", resp.StatusCode, tc.status, body)
			}
			if got, _ := received.Load().(string); got != sum(payload) {
				t.Errorf("upstream received a body with sha256 %s, want %s", got, sum(payload))
			}
		})
	}
	t.Run("refusal comes back without the body being sent", func(t *testing.T) {
		c := dialRaw(t, p)
		c.send(t, fmt.Sprintf("POST /protocols/refuse HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\n"+
			"Content-Type: application/octet-stream\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(payload)))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, body := c.response(t, http.MethodPost)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "TooLarge") {
			t.Errorf("got %d %s, want the upstream's 413", resp.StatusCode, body)
		}
	})
}

// TestClientDisconnectCancelsUpstreamRequest: when the client goes away,
// before the answer or in the middle of it, the upstream request ends too.
func TestClientDisconnectCancelsUpstreamRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path, version string
		midBody                     bool
	}{
		{"long poll before the answer", http.MethodPost, "/runs/r/commands?waitUntilComplete=true", "3", false},
		{"run list for an old client before the answer", http.MethodGet, "/runs", "3", false},
		{"streamed analysis mid body", http.MethodGet, "/protocols/p/analyses/a", "3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			started, cancelled := make(chan struct{}), make(chan struct{})
			up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.midBody {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(pattern(firstChunk))
					w.(http.Flusher).Flush()
				}
				close(started)
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-time.After(testTimeout):
				}
			}), false)
			p := startProxy(t, up.flag)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, tc.method, p.base+tc.path, nil)
			req.Header.Set("Opentrons-Version", tc.version)
			errc := make(chan error, 1)
			go func() {
				resp, err := p.client.Do(req)
				if err == nil {
					_, err = io.ReadFull(resp.Body, make([]byte, firstChunk))
					<-ctx.Done()
					resp.Body.Close()
				}
				errc <- err
			}()
			select {
			case <-started:
			case <-time.After(5 * time.Second):
				t.Fatal("the request did not reach the upstream")
			}
			if tc.midBody {
				time.Sleep(50 * time.Millisecond) // let the client read its first chunk
			}
			cancel()
			select {
			case <-cancelled:
			case <-time.After(3 * time.Second):
				t.Fatal("the upstream request was still running 3s after the client left")
			}
			if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
				t.Logf("client: %v", err)
			}
		})
	}
}

// TestOpenProxyRequestsAreRefused: absolute-form targets and CONNECT never
// reach the upstream; a foreign Host header still goes to the upstream.
func TestOpenProxyRequestsAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, raw, method string
		reaches           bool
	}{
		{"absolute-form GET is refused", "GET http://example.com/runs HTTP/1.1\r\nHost: example.com\r\nOpentrons-Version: 3\r\n\r\n", "GET", false},
		{"absolute-form GET naming the proxy is refused", "GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nOpentrons-Version: 3\r\n\r\n", "GET", false},
		{"CONNECT is refused", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "CONNECT", false},
		{"foreign Host goes to the upstream", "GET /health HTTP/1.1\r\nHost: evil.example\r\nOpentrons-Version: 3\r\n\r\n", "GET", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			var host atomic.Value
			up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				host.Store(r.Host)
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"name":"upstream"}`)
			}), false)
			p := startProxy(t, up.flag)
			c := dialRaw(t, p)
			c.send(t, tc.raw)
			resp, body := c.response(t, tc.method)
			if tc.reaches {
				if resp.StatusCode != http.StatusOK || string(body) != `{"name":"upstream"}` || hits.Load() != 1 {
					t.Errorf("got %d %s, upstream hit %d times; want its answer", resp.StatusCode, body, hits.Load())
				}
				if h, _ := host.Load().(string); h == "evil.example" {
					t.Logf("upstream saw Host %q", h)
				}
				return
			}
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.HasPrefix(string(body), `{"errors":[`) {
				t.Errorf("got %d %s, want a 4xx refusal envelope", resp.StatusCode, body)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the upstream was reached %d times", n)
			}
		})
	}
}

// TestAmbiguousRequestFramingIsRejectedWith400: requests whose body length
// two framing headers disagree on (the stuff of request smuggling) are
// refused before they reach the upstream.
func TestAmbiguousRequestFramingIsRejectedWith400(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}), false)
	p := startProxy(t, up.flag)
	for _, tc := range []struct{ name, raw string }{
		{"Content-Length with Transfer-Encoding chunked",
			"POST /protocols HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"two differing Content-Lengths",
			"POST /protocols HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"},
		{"Content-Length lists two values",
			"POST /protocols HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\nContent-Length: 4, 5\r\n\r\nabcde"},
		{"ambiguous second request on a kept-alive connection",
			"POST /protocols HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			c := dialRaw(t, p)
			if strings.Contains(tc.name, "second") {
				c.send(t, "POST /protocols HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\nContent-Length: 5\r\n\r\nabcde")
				if resp, body := c.response(t, http.MethodPost); resp.StatusCode != http.StatusCreated {
					t.Fatalf("the unambiguous first request got %d %s", resp.StatusCode, body)
				}
				before++
			}
			c.send(t, tc.raw)
			resp, body := c.response(t, http.MethodPost)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("got %d %s, want 400", resp.StatusCode, body)
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("the request reached the upstream (%d times)", n)
			}
		})
	}
}

// TestOversizedRequestHeaderGets431: a 100 KB header is cut off by the
// server's header limit. (The 10 s ReadHeaderTimeout has no flag to lower
// it, so slow-header clients are not tested here.)
func TestOversizedRequestHeaderGets431(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }), false)
	p := startProxy(t, up.flag)
	c := dialRaw(t, p)
	c.send(t, "GET /health HTTP/1.1\r\nHost: robot\r\nOpentrons-Version: 3\r\nX-Big: "+strings.Repeat("a", 100<<10)+"\r\n\r\n")
	// The server answers and closes with the rest of the header unread, so
	// the body may end in a reset: only the status line matters.
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("reading the proxy's response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("got %d, want 431", resp.StatusCode)
	}
	if hits.Load() != 0 {
		t.Error("the request reached the upstream")
	}
}
