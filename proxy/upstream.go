package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Upstream is where robot-server listens: an http(s) URL or a Unix socket.
type Upstream struct {
	// URL is the base URL requests are sent to (http://unix for a socket).
	URL *url.URL
	// Socket is the Unix socket path, or "".
	Socket string
}

// ParseUpstream reads http://host:port, https://host:port or unix:/path.
func ParseUpstream(s string) (*Upstream, error) {
	if s == "" {
		return nil, fmt.Errorf("upstream is empty (want http://host:port, https://host:port or unix:/path)")
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		path = strings.TrimPrefix(path, "//")
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("upstream %q: a Unix socket needs an absolute path, as in unix:/run/aiohttp.sock", s)
		}
		// The host name is only a label: the dialer goes to the socket.
		return &Upstream{URL: &url.URL{Scheme: "http", Host: "robot-server"}, Socket: path}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %v", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: want http://host:port, https://host:port or unix:/path", s)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("upstream %q: give only scheme, host and port", s)
	}
	u.Path = ""
	return &Upstream{URL: u}, nil
}

func (u *Upstream) String() string {
	if u.Socket != "" {
		return "unix:" + u.Socket
	}
	return u.URL.String()
}

// Transport returns a client transport for the upstream. It keeps enough idle
// connections for the proxy's concurrency (reconnecting per request would cost
// more than the proxying), never asks for compression itself, and waits for
// response headers at most headerTimeout (0: forever, for hour-long polls).
func (u *Upstream) Transport(headerTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		// Default 4 KiB connection buffers: large bodies bypass them (the
		// copy buffer is 32 KiB), and bigger ones cost memory per connection.
	}
	if u.Socket != "" {
		sock := u.Socket
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", sock)
		}
	}
	return t
}
