package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"otcompat/fixtures"
	"otcompat/internal/wait"
)

// TestUpstreamDownAnswers502Envelope: nothing listens where the upstream
// should be, over TCP or a Unix socket.
func TestUpstreamDownAnswers502Envelope(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, upstream string }{
		{"tcp port closed", "http://" + freePort(t)},
		{"unix socket missing", "unix:" + filepath.Join(shortTempDir(t), "gone.sock")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, tc.upstream)
			for _, path := range []string{"/runs", "/health", "/protocols/x"} {
				for _, v := range []string{"3", "*"} {
					resp, body := p.get(t, path, v)
					checkUnavailable(t, resp, body, http.StatusBadGateway)
				}
			}
			if got := p.metric(t, "otcompat_upstream_errors_total", `kind="unavailable"`); got != 6 {
				t.Errorf("otcompat_upstream_errors_total{kind=unavailable} = %v, want 6", got)
			}
		})
	}
}

// TestUpstreamFailingBeforeHeadersAnswers502Envelope: the upstream takes the
// request and then breaks before any response header.
func TestUpstreamFailingBeforeHeadersAnswers502Envelope(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		serve func(c net.Conn, req *http.Request)
	}{
		{"reset after the request", func(c net.Conn, _ *http.Request) { reset(c) }},
		{"closed after the request", func(c net.Conn, _ *http.Request) { c.Close() }},
		{"garbage instead of HTTP", func(c net.Conn, _ *http.Request) { _, _ = io.WriteString(c, "hello\r\n\r\n") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := startRawUpstream(t, tc.serve)
			p := startProxy(t, up.url())
			for _, path := range []string{"/runs", "/protocols/x"} {
				resp, body := p.get(t, path, "3")
				checkUnavailable(t, resp, body, http.StatusBadGateway)
			}
		})
	}
}

// halfBodyUpstream announces a 1 MB body (or chunks it), sends half, and breaks.
func halfBodyUpstream(t *testing.T, chunked, rst bool) *rawUpstream {
	const size = 1 << 20
	return startRawUpstream(t, func(c net.Conn, _ *http.Request) {
		half := bytes.Repeat([]byte(`{"data": [`), size/2/10)
		if chunked {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(half), half)
		} else {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", size, half)
		}
		time.Sleep(50 * time.Millisecond) // let the half go through before breaking
		if rst {
			reset(c)
		}
	})
}

// TestUpstreamResetMidBodyOnStreamedRouteAbortsClient: a response already
// streaming when the upstream breaks must reach the client as broken, never
// as a complete short body, and is counted and logged as aborted.
func TestUpstreamResetMidBodyOnStreamedRouteAbortsClient(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		for _, rst := range []bool{true, false} {
			name := fmt.Sprintf("chunked=%v reset=%v", chunked, rst)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				up := halfBodyUpstream(t, chunked, rst)
				p := startProxy(t, up.url(), "--log-level", "info")
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/protocols/x", nil)
				req.Header.Set("Opentrons-Version", "3")
				resp, err := p.client.Do(req)
				if err != nil {
					return // cut before the headers: also never presented as complete
				}
				defer resp.Body.Close()
				n, err := io.Copy(io.Discard, resp.Body)
				if err == nil {
					t.Fatalf("status %d: read %d bytes and a clean end of body, want a read error", resp.StatusCode, n)
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d, want the upstream's 200", resp.StatusCode)
				}
				checkRecorded(t, p, "/protocols/x", "200", "aborted")
				if got := p.metric(t, "otcompat_upstream_errors_total", `kind="body"`); got != 1 {
					t.Errorf("otcompat_upstream_errors_total{kind=body} = %v, want 1", got)
				}
			})
		}
	}
}

// TestUpstreamResetMidBodyOnTransformedRouteAnswers502: the proxy buffers a
// run list for an old client, so a broken body becomes the 502 envelope.
func TestUpstreamResetMidBodyOnTransformedRouteAnswers502(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			t.Parallel()
			up := halfBodyUpstream(t, chunked, true)
			p := startProxy(t, up.url(), "--log-level", "info")
			resp, body := p.get(t, "/runs", "3")
			checkUnavailable(t, resp, body, http.StatusBadGateway)
			checkRecorded(t, p, "/runs", "502", "ok")
			if got := p.metric(t, "otcompat_upstream_errors_total", `kind="body"`); got != 1 {
				t.Errorf("otcompat_upstream_errors_total{kind=body} = %v, want 1", got)
			}
		})
	}
}

// checkRecorded waits for the access log line of the one request to path
// and checks it and otcompat_requests_total for status and outcome.
func checkRecorded(t *testing.T, p *proc, path, status, outcome string) {
	t.Helper()
	var line string
	wait.For(t, "the access log line of "+path, func() bool {
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(l, "msg=request") && strings.Contains(l, " path="+path+" ") {
				line = l
				return true
			}
		}
		return false
	})
	if !strings.Contains(line, " outcome="+outcome+" ") || !strings.Contains(line, " status="+status+" ") {
		t.Errorf("access log line %q, want outcome=%s status=%s", line, outcome, status)
	}
	if got := p.metric(t, "otcompat_requests_total", `outcome="`+outcome+`"`, `status="`+status+`"`); got != 1 {
		t.Errorf("otcompat_requests_total{outcome=%s,status=%s} = %v, want 1", outcome, status, got)
	}
}

// hangingUpstream answers only after wait, or never if the request ends first.
func hangingUpstream(t *testing.T, wait time.Duration) *upstream {
	return startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(wait):
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data": []}`)
		case <-r.Context().Done():
		}
	}), false)
}

// TestUpstreamTimeoutAnswers504OnlyWhenConfigured: with --upstream-timeout an
// upstream that never answers gets the 504 envelope in time; without it a
// 2 s wait passes.
func TestUpstreamTimeoutAnswers504OnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	t.Run("504 after --upstream-timeout 500ms", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, hangingUpstream(t, testTimeout).flag, "--upstream-timeout", "500ms")
		for _, path := range []string{"/runs", "/protocols/x"} {
			start := time.Now()
			resp, body := p.get(t, path, "3")
			checkUnavailable(t, resp, body, http.StatusGatewayTimeout)
			if el := time.Since(start); el < 500*time.Millisecond || el > 3*time.Second {
				t.Errorf("%s: answered after %v, want about 500ms", path, el)
			}
		}
		if got := p.metric(t, "otcompat_upstream_errors_total", `kind="timeout"`); got != 2 {
			t.Errorf("otcompat_upstream_errors_total{kind=timeout} = %v, want 2", got)
		}
	})
	t.Run("2s wait passes without the flag", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, hangingUpstream(t, 2*time.Second).flag)
		resp, body := p.get(t, "/runs", "3")
		if resp.StatusCode != http.StatusOK || string(body) != `{"data": []}` {
			t.Errorf("got %d %s, want the upstream's answer", resp.StatusCode, body)
		}
	})
}

// TestUpstreamRestartIsFollowed: while the upstream is down requests get 502
// and /readyz says 503; once it is back on the same address both recover.
func TestUpstreamRestartIsFollowed(t *testing.T) {
	t.Parallel()
	h := fixtures.NewServer(fixtures.Default())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serveOn := func(ln net.Listener) *http.Server {
		s := &http.Server{Handler: h}
		go func() { _ = s.Serve(ln) }()
		return s
	}
	first := serveOn(ln)
	p := startProxy(t, "http://"+addr)
	check := func(stage string, wantStatus, wantReady int) {
		t.Helper()
		for _, path := range []string{"/runs", "/health"} {
			resp, body := p.get(t, path, "3")
			if wantStatus == http.StatusBadGateway {
				checkUnavailable(t, resp, body, wantStatus)
			} else if resp.StatusCode != wantStatus {
				t.Errorf("%s: %s answered %d, want %d", stage, path, resp.StatusCode, wantStatus)
			}
		}
		if got, body := p.adminGet(t, "/readyz"); got != wantReady {
			t.Errorf("%s: /readyz %d %q, want %d", stage, got, body, wantReady)
		}
	}
	check("upstream up", http.StatusOK, http.StatusOK)
	first.Close()
	check("upstream down", http.StatusBadGateway, http.StatusServiceUnavailable)

	var again net.Listener
	for deadline := time.Now().Add(5 * time.Second); ; {
		if again, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("cannot listen on %s again: %v", addr, err)
	}
	second := serveOn(again)
	defer second.Close()
	check("upstream back", http.StatusOK, http.StatusOK)
}
