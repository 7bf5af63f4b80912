package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

type result struct {
	status int
	body   []byte
	err    error
	at     time.Time
}

// getAsync starts a GET through the proxy and reports its outcome.
func getAsync(p *proc, path string) <-chan result {
	out := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
		req.Header.Set("Opentrons-Version", "3")
		resp, err := p.client.Do(req)
		if err != nil {
			out <- result{err: err, at: time.Now()}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- result{status: resp.StatusCode, body: b, err: err, at: time.Now()}
	}()
	return out
}

// slowUpstream answers after wait with body, and signals when a request arrives.
func slowUpstream(t *testing.T, wait time.Duration, body []byte) (*upstream, <-chan struct{}) {
	started := make(chan struct{}, 16)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}), false)
	return up, started
}

func waitStarted(t *testing.T, started <-chan struct{}) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the upstream")
	}
}

// TestGracefulShutdownFinishesInFlightRequest: on SIGTERM the proxy stops
// taking connections, lets a slow request finish with its full body, and
// exits 0.
func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	t.Parallel()
	body := pattern(256 << 10)
	for _, unix := range []bool{false, true} {
		name := "tcp listener"
		if unix {
			name = "unix socket listener"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			up, started := slowUpstream(t, 1500*time.Millisecond, body)
			p := startProxyWith(t, proxyConfig{upstream: up.flag, unixListen: unix})
			res := getAsync(p, "/protocols/p/analyses/a")
			waitStarted(t, started)
			p.signal(syscall.SIGTERM)

			var refusedAt time.Time
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				c, err := net.DialTimeout(p.network, p.addr, time.Second)
				if err != nil {
					refusedAt = time.Now()
					break
				}
				c.Close()
			}
			r := <-res
			if r.err != nil || r.status != http.StatusOK || !bytes.Equal(r.body, body) {
				t.Fatalf("in-flight request: %d, %d bytes, %v; want 200 and the full %d bytes", r.status, len(r.body), r.err, len(body))
			}
			if refusedAt.IsZero() {
				t.Error("new connections were still accepted 1s after SIGTERM")
			} else if refusedAt.After(r.at) {
				t.Error("new connections were accepted while the in-flight request was draining")
			}
			if code := p.wait(5 * time.Second); code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			if c, err := net.DialTimeout(p.network, p.addr, time.Second); err == nil {
				c.Close()
				t.Error("a connection was accepted after the process exited")
			}
		})
	}
}

// TestShutdownTimeoutCutsRequestsThatOutlastIt: a request longer than
// --shutdown-timeout is cut (never presented as complete) and the process
// still exits promptly.
func TestShutdownTimeoutCutsRequestsThatOutlastIt(t *testing.T) {
	t.Parallel()
	up, started := slowUpstream(t, testTimeout, []byte("late"))
	p := startProxy(t, up.flag, "--shutdown-timeout", "300ms")
	res := getAsync(p, "/protocols/p")
	waitStarted(t, started)
	start := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.wait(5 * time.Second)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("exited %v after SIGTERM, want about 300ms", el)
	}
	if code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if r := <-res; r.err == nil && r.status == http.StatusOK {
		t.Errorf("the cut request was answered 200 %q", r.body)
	}
}
