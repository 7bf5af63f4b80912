package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"otcompat/transforms"
)

// Each test here checks one behaviour of the request path, as a client and
// robot-server meet it: the proxy served by its Server on a real socket.
// An upstream breaking mid-body is e2e's (faults_test.go), on the binary.

// rawUpstream answers every request with raw, written straight to the
// connection, which it then closes.
func rawUpstream(raw string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, raw)
	})
}

// dialAndSend opens a connection to base and sends raw in one write; it
// returns the connection (closed when the test ends) and a reader of it.
func dialAndSend(t *testing.T, base, raw string) (net.Conn, *bufio.Reader) {
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
	return c, bufio.NewReader(c)
}

// rawRequest writes raw on a new connection to base (which must close the
// connection after answering) and returns every byte the proxy sent.
// Between the head and a body given apart, it waits for the interim
// response a client sending Expect: 100-continue waits for.
func rawRequest(t *testing.T, base, head, body string) string {
	t.Helper()
	c, br := dialAndSend(t, base, head)
	var got bytes.Buffer
	if body != "" {
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("want 100 Continue before sending the body, got %q, %v", line, err)
		}
		got.WriteString(line)
		if _, err := io.WriteString(c, body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := got.ReadFrom(br); err != nil {
		t.Fatalf("reading the answer: %v (so far %q)", err, got.String())
	}
	return got.String()
}

func TestHopByHopHeaders(t *testing.T) {
	t.Run("request", func(t *testing.T) {
		up := static{status: 200}
		_, srv := newTestProxy(t, &up, transforms.Hide)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/runs", nil)
		for k, v := range map[string]string{"Connection": "X-Secret", "X-Secret": "hop", "Keep-Alive": "timeout=5",
			"Proxy-Authorization": "Basic eA==", "Te": "trailers, deflate", "Authorization": "Bearer t"} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Te keeps only "trailers": the proxy passes trailers on.
		for k, want := range map[string]string{"Connection": "", "X-Secret": "", "Keep-Alive": "",
			"Proxy-Authorization": "", "Te": "trailers", "Authorization": "Bearer t"} {
			if got := strings.Join(up.last.Header.Values(k), ", "); got != want {
				t.Errorf("upstream saw %s = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("response", func(t *testing.T) {
		_, srv := newTestProxy(t, rawUpstream("HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\n"+
			"Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-End: kept\r\nContent-Length: 2\r\n\r\nok"), transforms.Hide)
		resp, body := get(t, srv.URL+"/health", "*")
		if resp.StatusCode != 200 || string(body) != "ok" || resp.Close {
			t.Fatalf("got %d %q close=%v, want 200 \"ok\" on a kept-alive connection", resp.StatusCode, body, resp.Close)
		}
		for k, want := range map[string]string{"X-Hop": "", "Keep-Alive": "", "Proxy-Authenticate": "", "X-End": "kept"} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("client saw %s = %q, want %q", k, got, want)
			}
		}
	})
}

// TestUpgradePassesThrough: a 101 Switching Protocols answer joins client
// and upstream, bytes both ways, and is counted as a 101 once the tunnel
// closes.
func TestUpgradePassesThrough(t *testing.T) {
	p, srv := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		line, _ := rw.ReadString('\n')
		_, _ = io.WriteString(c, "echo: "+line)
	}), transforms.Hide)
	c, br := dialAndSend(t, srv.URL, "GET /upgrade HTTP/1.1\r\nHost: robot\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "echo" {
		t.Fatalf("got %d Upgrade %q, want 101 echo", resp.StatusCode, resp.Header.Get("Upgrade"))
	}
	_, _ = io.WriteString(c, "ping\n")
	if line, err := br.ReadString('\n'); line != "echo: ping\n" {
		t.Fatalf("after the upgrade read %q, %v; want the upstream's echo", line, err)
	}
	c.Close()
	upgraded := p.Metrics().requests.WithLabelValues("GET", "other", "none", "101", "ok", "none")
	for deadline := time.Now().Add(5 * time.Second); testutil.ToFloat64(upgraded) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := testutil.ToFloat64(upgraded); n != 1 {
		t.Errorf("otcompat_requests_total{status=\"101\"} = %v after the tunnel closed, want 1; series:\n%s", n, requestSeries(t, p))
	}
}

// requestSeries lists the otcompat_requests_total series p has, for a
// failure message.
func requestSeries(t *testing.T, p *Proxy) string {
	t.Helper()
	mfs, err := p.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() != "otcompat_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				b.WriteString(l.GetName() + "=" + l.GetValue() + " ")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// TestForwardedHeaders: a GET's upstream request names the client, over TCP
// and over a Unix socket (nginx on a robot), whose X-Forwarded-For chain is
// kept as nginx sent it. The query goes on as ReverseProxy cleans it.
func TestForwardedHeaders(t *testing.T) {
	up := static{status: 200}
	p, tcp := newTestProxy(t, &up, transforms.Hide)
	sock := filepath.Join(t.TempDir(), "otcompat.sock")
	ln, err := Listen("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, p, ln, "http://robot")
	unix := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	tcpHost := strings.TrimPrefix(tcp.URL, "http://")
	tests := []struct {
		name, base, prior, path string
		client                  *http.Client
		wantFor, wantHost       string
		wantURI                 string
	}{
		{"tcp", tcp.URL, "", "/runs?pageLength=5", http.DefaultClient, "127.0.0.1", tcpHost, "/runs?pageLength=5"},
		{"tcp after a proxy", tcp.URL, "10.1.1.1", "/runs", http.DefaultClient, "10.1.1.1, 127.0.0.1", tcpHost, "/runs"},
		{"unix from nginx", "http://robot", "10.1.1.1, 10.2.2.2", "/runs", unix, "10.1.1.1, 10.2.2.2", "robot", "/runs"},
		{"unix alone", "http://robot", "", "/runs", unix, "", "robot", "/runs"},
		{"unparsable query parameter dropped", tcp.URL, "", "/runs?cursor=0;x=1&pageLength=5", http.DefaultClient,
			"127.0.0.1", tcpHost, "/runs?pageLength=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tt.base+tt.path, nil)
			req.Header.Set("Opentrons-Version", "*")
			if tt.prior != "" {
				req.Header.Set("X-Forwarded-For", tt.prior)
			}
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := up.last
			for k, want := range map[string]string{"X-Forwarded-For": tt.wantFor, "X-Forwarded-Host": tt.wantHost,
				"X-Forwarded-Proto": "http", "Forwarded": ""} {
				if v := strings.Join(got.Header.Values(k), ", "); v != want {
					t.Errorf("upstream saw %s = %q, want %q", k, v, want)
				}
			}
			if got.Method != http.MethodGet || got.URL.RequestURI() != tt.wantURI {
				t.Errorf("upstream saw %s %s, want GET %s", got.Method, got.URL.RequestURI(), tt.wantURI)
			}
		})
	}
}

// TestRequestID: the client's X-Request-Id is kept, or one is made; either
// way the upstream gets it and the client sees it echoed.
func TestRequestID(t *testing.T) {
	up := static{status: 200}
	_, srv := newTestProxy(t, &up, transforms.Hide)
	made := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for _, sent := range []string{"client-id-1", "", ""} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/health", nil)
		if sent != "" {
			req.Header.Set("X-Request-Id", sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		echoed, upstream := resp.Header.Values("X-Request-Id"), up.last.Header.Values("X-Request-Id")
		if len(echoed) != 1 || len(upstream) != 1 || echoed[0] != upstream[0] {
			t.Fatalf("sent %q: client saw %q, upstream %q; want one id, the same", sent, echoed, upstream)
		}
		id := echoed[0]
		if (sent != "" && id != sent) || (sent == "" && (!made.MatchString(id) || seen[id])) {
			t.Errorf("sent %q: id %q, want the client's, or a new 128-bit hex id", sent, id)
		}
		seen[id] = true
	}
}

// TestInterimResponses: 103 Early Hints reach the client with their fields;
// a client waiting for 100 Continue gets exactly one, whichever of the
// proxy's server and the upstream's answer it first.
func TestInterimResponses(t *testing.T) {
	hints := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = io.WriteString(w, "final")
	})
	upload := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // net/http sends the proxy its 100 Continue here
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(b)
	})
	// late sends its 100 only once it has the body, which the transport sends
	// after its ExpectContinueTimeout: the client has had net/http's by then.
	late := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		b := make([]byte, 5)
		_, _ = io.ReadFull(rw, b)
		_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\n"+string(b))
	})
	// hintsThenGone sends a 103, then closes: the client gets the 502.
	hintsThenGone := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
		c.Close()
	})
	upload100 := "POST /protocols HTTP/1.1\r\nHost: robot\r\nConnection: close\r\n" +
		"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
	tests := []struct {
		name     string
		upstream http.Handler
		head     string
		body     string
		want     map[string]int // status lines and how often each comes
		wantText []string
	}{
		{"103 Early Hints", hints, "GET /health HTTP/1.1\r\nHost: robot\r\nConnection: close\r\n\r\n", "",
			map[string]int{"HTTP/1.1 103 Early Hints\r\n": 1, "HTTP/1.1 200 OK\r\n": 1},
			[]string{"Link: </style.css>; rel=preload\r\n", "\r\n\r\nfinal"}},
		{"103, then the upstream is gone", hintsThenGone, "GET /health HTTP/1.1\r\nHost: robot\r\nConnection: close\r\n\r\n", "",
			map[string]int{"HTTP/1.1 103 Early Hints\r\n": 1, "HTTP/1.1 502 Bad Gateway\r\n": 1},
			[]string{"UpstreamUnavailable"}},
		{"100 Continue", upload, upload100, "hello",
			map[string]int{"HTTP/1.1 100 Continue\r\n": 1, "HTTP/1.1 201 Created\r\n": 1},
			[]string{"\r\n\r\nhello"}},
		{"upstream's 100 Continue after the body", late, upload100, "hello",
			map[string]int{"HTTP/1.1 100 Continue\r\n": 1, "HTTP/1.1 201 Created\r\n": 1},
			[]string{"\r\n\r\nhello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newTestProxy(t, tt.upstream, transforms.Hide)
			got := rawRequest(t, srv.URL, tt.head, tt.body)
			for line, n := range tt.want {
				if c := strings.Count(got, line); c != n {
					t.Errorf("%q comes %d times, want %d, in:\n%s", line, c, n, got)
				}
			}
			final := got[strings.LastIndex(got, "HTTP/1.1 "):]
			if n := strings.Count(final, "\r\nX-Request-Id: "); n != 1 {
				t.Errorf("the final response has %d X-Request-Id fields, want 1:\n%s", n, final)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(got, s) {
					t.Errorf("answer lacks %q:\n%s", s, got)
				}
			}
		})
	}
}

// TestHTTPSUpstream: an https upstream is reached and transformed for with
// its CA trusted, and refused (502) by default when it is not the system's.
func TestHTTPSUpstream(t *testing.T) {
	up := httptest.NewUnstartedServer(&static{status: 200, headers: map[string]string{"Content-Type": "application/json"},
		body: []byte(listWithBadRun)})
	up.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	up.StartTLS()
	t.Cleanup(up.Close)
	trusted := x509.NewCertPool()
	trusted.AddCert(up.Certificate())
	for _, tt := range []struct {
		name       string
		roots      *x509.CertPool
		wantStatus int
		wantBody   string
	}{
		{"test CA trusted", trusted, 200, listFiltered},
		{"system roots only", nil, http.StatusBadGateway, `"id":"UpstreamUnavailable"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseUpstream(up.URL)
			if err != nil {
				t.Fatal(err)
			}
			u.RootCAs = tt.roots
			_, srv := newTestProxyTo(t, u, transforms.Hide)
			resp, body := get(t, srv.URL+"/runs", "3")
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Fatalf("got %d %s, want %d with %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestUpstreamConnectionsReused: requests share the Transport's pooled
// upstream connections, and one the upstream closed while idle is replaced
// without the client noticing.
func TestUpstreamConnectionsReused(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"path": "`+r.URL.RequestURI()+`"}`)
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	u, err := ParseUpstream(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newTestProxyTo(t, u, transforms.Hide)
	check := func(stage string) {
		t.Helper()
		for i := 0; i < 5; i++ {
			resp, body := get(t, srv.URL+"/health?i=1", "3")
			if resp.StatusCode != 200 || string(body) != `{"path": "/health?i=1"}` {
				t.Fatalf("%s, request %d: %d %s", stage, i, resp.StatusCode, body)
			}
		}
	}
	check("first")
	mu.Lock()
	if conns != 1 {
		t.Errorf("5 sequential requests used %d upstream connections, want 1", conns)
	}
	mu.Unlock()
	up.CloseClientConnections()
	check("after the upstream closed its connections")
}
