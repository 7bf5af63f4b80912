package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"otcompat/transforms"
)

// TestDirectPathReusesAndRecoversConnections: body-less GETs take the direct
// path; connections are reused, and one the upstream closed while idle is
// replaced without the client noticing.
func TestDirectPathReusesAndRecoversConnections(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"path": "`+r.URL.RequestURI()+`"}`)
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	u, err := ParseUpstream(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newTestProxyTo(t, u, transforms.Hide)
	for i := 0; i < 5; i++ {
		resp, body := get(t, srv.URL+"/health?i=1", "3")
		if resp.StatusCode != 200 || string(body) != `{"path": "/health?i=1"}` {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential requests used %d upstream connections, want 1", n)
	}
	// The upstream drops its idle connections; the next request must retry
	// on a new one instead of failing.
	up.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	resp, body := get(t, srv.URL+"/health", "3")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "/health") {
		t.Fatalf("after the upstream closed idle connections: %d %s", resp.StatusCode, body)
	}
}

// TestDirectPathHonoursConnectionClose: a response with Connection: close is
// relayed without the header, and its connection is not reused.
func TestDirectPathHonoursConnectionClose(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.Header().Set("X-End", "kept")
		_, _ = io.WriteString(w, "bye")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	u, _ := ParseUpstream(up.URL)
	_, srv := newTestProxyTo(t, u, transforms.Hide)
	for i := 0; i < 3; i++ {
		resp, body := get(t, srv.URL+"/x", "3")
		if resp.StatusCode != 200 || string(body) != "bye" || resp.Close || resp.Header.Get("X-End") != "kept" {
			t.Fatalf("got %d %q, close %v, X-End %q", resp.StatusCode, body, resp.Close, resp.Header.Get("X-End"))
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("3 requests after Connection: close used %d connections, want 3", n)
	}
}

func TestRemoveHopHeaders(t *testing.T) {
	h := http.Header{
		"Connection":        {"close, X-Hop", "X-Other"},
		"X-Hop":             {"1"},
		"X-Other":           {"2"},
		"Keep-Alive":        {"timeout=5"},
		"Transfer-Encoding": {"chunked"},
		"Upgrade":           {"h2c"},
		"Te":                {"trailers"},
		"X-End":             {"kept"},
	}
	removeHopHeaders(h)
	if len(h) != 1 || h.Get("X-End") != "kept" {
		t.Fatalf("left %v, want only X-End", h)
	}
}
