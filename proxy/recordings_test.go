package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-version"

	"otcompat/fixtures/recorded"
	"otcompat/negotiate"
	"otcompat/transforms"
)

const recordings = "../testdata/recordings/robot-server-badruns"

// newTestProxy starts a proxy (BadRun at 5) in front of h.
func newTestProxy(t *testing.T, h http.Handler, policy transforms.Policy) (*Proxy, *testFront) {
	t.Helper()
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	u, err := ParseUpstream(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	return newTestProxyTo(t, u, policy)
}

// newTestProxyTo starts a proxy (BadRun at 5) in front of an upstream address.
func newTestProxyTo(t *testing.T, u *Upstream, policy transforms.Policy) (*Proxy, *testFront) {
	t.Helper()
	return newTestProxyChain(t, u, transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion("5")), policy)))
}

// newTestProxyChain starts a proxy with the version changes of chain.
func newTestProxyChain(t *testing.T, u *Upstream, chain *transforms.Chain) (*Proxy, *testFront) {
	t.Helper()
	p := New(Config{
		Upstream:   u,
		Chain:      chain,
		Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest()),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	t.Cleanup(p.Close)
	return p, serveFront(t, p)
}

// testFront is a proxy served by its Front on a loopback port.
type testFront struct {
	URL   string
	Front *Front
}

func serveFront(t *testing.T, p *Proxy) *testFront {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := NewFront(p, p.log)
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	t.Cleanup(func() {
		f.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Front.Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return &testFront{URL: "http://" + ln.Addr().String(), Front: f}
}

func get(t *testing.T, url, version string) (*http.Response, []byte) {
	t.Helper()
	header := map[string]string{}
	if version != "" {
		header["Opentrons-Version"] = version
	}
	return getWith(t, url, header)
}

// TestRecordedRobotServerThroughProxy sends the recorded requests through the
// whole proxy to a replay of the real robot-server: old clients must get the
// bytes the server answered once the bad runs were deleted, new clients the
// upstream's own bytes.
func TestRecordedRobotServerThroughProxy(t *testing.T) {
	sc, err := recorded.LoadScenario(recordings)
	if err != nil {
		t.Fatal(err)
	}
	up, want := sc.Upstream, sc.ExpectedHide
	replay := recorded.AsVersions(up, "3", "2", "3", "4", "5", "*")
	_, srv := newTestProxy(t, recorded.Handler(replay), transforms.Hide)

	for _, w := range want {
		if w.Version != "3" {
			continue
		}
		for _, client := range []string{"2", "3", "4"} {
			t.Run("old "+client+" "+w.Path, func(t *testing.T) {
				resp, body := get(t, srv.URL+w.Path, client)
				if resp.StatusCode != w.Status || !bytes.Equal(body, w.Body) {
					t.Fatalf("got %d (%d bytes), want %d (%d bytes) as in expected-hide/%s\n%s",
						resp.StatusCode, len(body), w.Status, len(w.Body), w.File, body)
				}
				for _, h := range w.Headers {
					if h[0] == "server" {
						continue
					}
					if got := resp.Header.Get(h[0]); got != h[1] {
						t.Errorf("header %s = %q, want %q", h[0], got, h[1])
					}
				}
			})
		}
	}
	for _, x := range up {
		if x.Version != "3" {
			continue
		}
		for _, client := range []string{"5", "*"} {
			t.Run("new "+client+" "+x.Path, func(t *testing.T) {
				resp, body := get(t, srv.URL+x.Path, client)
				if resp.StatusCode != x.Status || !bytes.Equal(body, x.Body) {
					t.Fatalf("got %d (%d bytes), want the upstream's %d (%d bytes)", resp.StatusCode, len(body), x.Status, len(x.Body))
				}
				if x.Path == "/health" && resp.Header.Get("Opentrons-Version") != "5" {
					t.Errorf("Opentrons-Version = %q, want the served version 5", resp.Header.Get("Opentrons-Version"))
				}
			})
		}
	}
}
