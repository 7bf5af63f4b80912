package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"otcompat/transforms"
)

// listWithBadRun is a two-run list in robot-server's formatting, the second bad.
const listWithBadRun = `{"data": [{"id": "a", "ok": true, "status": "succeeded", "current": false}, ` +
	`{"id": "b", "ok": false, "dataError": {"id": "RunDataError"}, "status": "stopped", "current": false}], ` +
	`"links": {}, "meta": {"cursor": 0, "totalLength": 2}}`

const listFiltered = `{"data": [{"id": "a", "ok": true, "status": "succeeded", "current": false}], ` +
	`"links": {}, "meta": {"cursor": 0, "totalLength": 1}}`

// static answers every request with one response and records the last request.
type static struct {
	status  int
	headers map[string]string
	body    []byte
	last    *http.Request
}

func (s *static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.last = r.Clone(r.Context())
	_, _ = io.Copy(io.Discard, r.Body)
	for k, v := range s.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(s.status)
	_, _ = w.Write(s.body)
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestResponses(t *testing.T) {
	binary := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n'}, 1000)
	tests := []struct {
		name       string
		path       string
		version    string
		upstream   static
		wantStatus int
		wantBody   string
		wantHeader map[string]string
		skipReason string // a transform_failures reason that must be counted
	}{
		{name: "old client list filtered", path: "/runs", version: "3",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)},
			wantStatus: 200, wantBody: listFiltered},
		{name: "new client list untouched", path: "/runs", version: "*",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)},
			wantStatus: 200, wantBody: listWithBadRun},
		{name: "client 5 list untouched", path: "/runs", version: "5",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)},
			wantStatus: 200, wantBody: listWithBadRun},
		{name: "missing header is the upstream's", path: "/runs", version: "",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)},
			wantStatus: 200, wantBody: listWithBadRun},
		{name: "invalid header is the upstream's", path: "/runs", version: "abc",
			upstream:   static{status: 422, headers: map[string]string{"Content-Type": "application/json", "Opentrons-Version": "4"}, body: []byte(`{"errors":[]}`)},
			wantStatus: 422, wantBody: `{"errors":[]}`, wantHeader: map[string]string{"Opentrons-Version": "4"}},
		{name: "non-2xx untouched", path: "/runs", version: "3",
			upstream:   static{status: 500, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)},
			wantStatus: 500, wantBody: listWithBadRun},
		{name: "not JSON untouched", path: "/runs", version: "3",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "text/plain"}, body: []byte(listWithBadRun)},
			wantStatus: 200, wantBody: listWithBadRun, skipReason: skipNotJSON},
		{name: "invalid JSON untouched", path: "/runs", version: "3",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun[:40])},
			wantStatus: 200, wantBody: listWithBadRun[:40]},
		{name: "gzip list decoded, filtered, re-encoded", path: "/runs", version: "3",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, body: gzipped(t, listWithBadRun)},
			wantStatus: 200, wantBody: listFiltered, wantHeader: map[string]string{"Content-Encoding": "gzip"}},
		{name: "unknown encoding untouched", path: "/runs", version: "3",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "br"}, body: []byte("\x01\x02")},
			wantStatus: 200, wantBody: "\x01\x02", skipReason: skipEncoding},
		{name: "bad single run hidden", path: "/runs/b", version: "3",
			upstream: static{status: 200, headers: map[string]string{"Content-Type": "application/json"},
				body: []byte(`{"data": {"id": "b", "ok": false, "dataError": {"id": "RunDataError"}, "status": "stopped"}}`)},
			wantStatus: 404,
			wantBody:   `{"errors":[{"id":"RunNotFound","title":"Run Not Found","detail":"Error 4000 GENERAL_ERROR (RunNotFoundError): Run b was not found.","errorCode":"4000"}]}`,
			wantHeader: map[string]string{"Opentrons-Version": "4", "Opentrons-Min-Version": "2", "Content-Type": "application/json"}},
		{name: "binary pass-through byte for byte", path: "/protocols/p/analyses/a", version: "3",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/octet-stream", "Etag": `"x"`}, body: binary},
			wantStatus: 200, wantBody: string(binary), wantHeader: map[string]string{"Etag": `"x"`}},
		{name: "success version header is the served one", path: "/health", version: "*",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json", "Opentrons-Version": "4"}, body: []byte(`{}`)},
			wantStatus: 200, wantBody: `{}`, wantHeader: map[string]string{"Opentrons-Version": "5"}},
		{name: "served version below newest echoed", path: "/health", version: "3",
			upstream:   static{status: 200, headers: map[string]string{"Content-Type": "application/json", "Opentrons-Version": "3"}, body: []byte(`{}`)},
			wantStatus: 200, wantBody: `{}`, wantHeader: map[string]string{"Opentrons-Version": "3"}},
		{name: "error version header left alone", path: "/nope", version: "*",
			upstream:   static{status: 404, headers: map[string]string{"Content-Type": "application/json", "Opentrons-Version": "4"}, body: []byte(`{"errors":[]}`)},
			wantStatus: 404, wantBody: `{"errors":[]}`, wantHeader: map[string]string{"Opentrons-Version": "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := tt.upstream
			p, srv := newTestProxy(t, &up, transforms.Hide)
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if tt.version != "" {
				req.Header.Set("Opentrons-Version", tt.version)
			}
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body []byte
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				body, err = io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
			} else if body, err = io.ReadAll(resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Fatalf("got %d %q\nwant %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.skipReason != "" {
				if n := testutil.ToFloat64(p.Metrics().skipped.WithLabelValues(tt.skipReason)); n != 1 {
					t.Errorf("transform failures{reason=%s} = %v, want 1", tt.skipReason, n)
				}
			}
		})
	}
}

func TestUpstreamDownGivesEnvelope(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	u, err := ParseUpstream("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newTestProxyTo(t, u, transforms.Hide)
	resp, body := get(t, srv.URL+"/runs", "3")
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(string(body), `{"errors":[{"id":"UpstreamUnavailable","title":"Robot Server Unavailable","detail":"`) ||
		!strings.HasSuffix(string(body), `","errorCode":"4000"}]}`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
}

func TestRefusesToBeAnOpenProxy(t *testing.T) {
	up := static{status: 200, body: []byte("upstream")}
	_, srv := newTestProxy(t, &up, transforms.Hide)
	for _, raw := range []string{
		"GET http://example.com/runs HTTP/1.1\r\nHost: example.com\r\nOpentrons-Version: 3\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	} {
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode < 400 || !strings.HasPrefix(string(body), `{"errors":[`) {
			t.Errorf("%q: got %d %s, want a refusal envelope", strings.SplitN(raw, "\r", 2)[0], resp.StatusCode, body)
		}
		if up.last != nil {
			t.Errorf("%q reached the upstream", strings.SplitN(raw, "\r", 2)[0])
		}
	}
}

func TestExplainHeaders(t *testing.T) {
	up := static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)}
	_, srv := newTestProxy(t, &up, transforms.Hide)
	for _, tt := range []struct{ version, explain, served, applied string }{
		{"3", "1", "3", "badrun@5"},
		{"*", "1", "5", "none"},
		{"3", "", "", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/runs", nil)
		req.Header.Set("Opentrons-Version", tt.version)
		if tt.explain != "" {
			req.Header.Set("Otcompat-Explain", tt.explain)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if s, a := resp.Header.Get("Otcompat-Served-Version"), resp.Header.Get("Otcompat-Applied"); s != tt.served || a != tt.applied {
			t.Errorf("version %s explain %q: served %q applied %q, want %q %q", tt.version, tt.explain, s, a, tt.served, tt.applied)
		}
		if up.last.Header.Get("Otcompat-Explain") != "" {
			t.Errorf("Otcompat-Explain reached the upstream")
		}
	}
}

// panicky is a version change with a bug: it panics on every body.
type panicky struct{ transforms.Change }

func (panicky) Downgrade(*transforms.Input) (transforms.Outcome, error) {
	panic("secret internal state")
}

// A panic becomes robot-server's envelope, a version change's on a GET as
// a handler's on a POST.
func TestPanicBecomesEnvelope(t *testing.T) {
	up := httptest.NewServer(&static{status: 200, headers: map[string]string{"Content-Type": "application/json"},
		body: []byte(`{"data":[],"meta":{"cursor":0,"totalLength":0},"links":{}}`)})
	t.Cleanup(up.Close)
	u, err := ParseUpstream(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	chain := transforms.NewChain(panicky{transforms.NewBadRun(version.Must(version.NewVersion("5")), transforms.Hide)})
	p, srv := newTestProxyChain(t, u, chain)
	p.echo.POST("/boom", func(echo.Context) error { panic("secret internal state") })
	for _, tt := range []struct {
		method, path string
		body         io.Reader
	}{{http.MethodGet, "/runs", nil}, {http.MethodPost, "/boom", strings.NewReader("{}")}} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, tt.body)
		req.Header.Set("Opentrons-Version", "3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError ||
			string(body) != `{"errors":[{"id":"UnexpectedError","title":"Unexpected Internal Error","detail":"otcompat failed while handling this request; see its log.","errorCode":"4000"}]}` {
			t.Fatalf("%s %s: got %d %s", tt.method, tt.path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "secret") || strings.Contains(string(body), "goroutine") {
			t.Fatalf("%s %s: Go internals leaked: %s", tt.method, tt.path, body)
		}
	}
}
