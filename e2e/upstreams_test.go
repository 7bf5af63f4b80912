package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream is a test robot-server the proxy talks to.
type upstream struct {
	flag   string       // the --upstream value
	client *http.Client // talks to it directly
	base   string       // base URL for client
	srv    *httptest.Server
}

// startUpstream serves h over TCP (unix false) or a Unix socket.
func startUpstream(t *testing.T, h http.Handler, unix bool) *upstream {
	t.Helper()
	if !unix {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return &upstream{flag: srv.URL, base: srv.URL, srv: srv,
			client: newClient(t, "tcp", strings.TrimPrefix(srv.URL, "http://"))}
	}
	sock := filepath.Join(shortTempDir(t), "robot-server.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &upstream{flag: "unix:" + sock, base: "http://robot-server", srv: srv, client: newClient(t, "unix", sock)}
}

func (u *upstream) get(t *testing.T, path, version string) (*http.Response, []byte) {
	t.Helper()
	return doRequest(t, u.client, http.MethodGet, u.base+path, version, nil)
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// rawUpstream is a TCP server that hands each connection's first request to
// serve and closes the connection after, for upstreams that break HTTP.
type rawUpstream struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startRawUpstream(t *testing.T, serve func(c net.Conn, req *http.Request)) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, conns: map[net.Conn]bool{}}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns[c] = true
			u.mu.Unlock()
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(testTimeout))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				serve(c, req)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for c := range u.conns {
			c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *rawUpstream) url() string { return "http://" + u.ln.Addr().String() }

// reset closes a TCP connection with RST instead of FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// staticHandler answers every request with one response.
func staticHandler(status int, body []byte, hdr ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		if _, ok := w.Header()["Content-Length"]; !ok && body != nil {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}
