package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

const defaultHealthURL = "http://127.0.0.1:31961/healthz"

func newHealthcheckCmd() *cobra.Command {
	var target string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "Ask a running otcompat's admin /healthz; exit 0 when it answers 200 (for container health checks)",
		Long: `healthcheck GETs the admin /healthz of a running otcompat and exits 0 when it
answers 200 OK, or 1 with one line saying why not. Images without a shell or
curl (distroless) use it as their HEALTHCHECK.

--url takes http://host:port/path, host:port or unix:/path (the admin socket;
the path asked is /healthz). Without --url (and OTCOMPAT_URL), the address
comes from OTCOMPAT_ADMIN_LISTEN when it is set, so a container configured
through the environment checks the listener it actually opened; otherwise
` + defaultHealthURL + `.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !c.Flags().Changed("url") {
				if admin, ok := os.LookupEnv(envName("admin-listen")); ok {
					if admin == "" {
						return failed(fmt.Errorf("healthcheck: %s is empty: the admin listener is disabled, nothing to check", envName("admin-listen")))
					}
					target = admin
				}
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: must be positive", timeout)
			}
			hc, err := parseHealthURL(target)
			if err != nil {
				return fmt.Errorf("--url: %v", err)
			}
			status, err := hc.check(c.Context(), timeout)
			if err != nil {
				return failed(fmt.Errorf("healthcheck %s: %v", hc, err))
			}
			fmt.Fprintf(c.OutOrStdout(), "healthy: %s answered %s\n", hc, status)
			return nil
		},
	}
	c.Flags().StringVar(&target, "url", defaultHealthURL, "admin health endpoint: http://host:port/healthz, host:port or unix:/path")
	c.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	withEnvHelp(c.Flags())
	return c
}

// healthTarget is where a health check goes: an http(s) URL, possibly over
// a Unix socket.
type healthTarget struct {
	url    *url.URL
	socket string
}

func (h *healthTarget) String() string {
	if h.socket != "" {
		return "unix:" + h.socket + " " + h.url.Path
	}
	return h.url.String()
}

// parseHealthURL reads http(s)://host:port[/path], host:port (an admin
// listen address) or unix:/path. A URL without a path asks /healthz; an
// unspecified host (0.0.0.0, ::) is asked on loopback.
func parseHealthURL(s string) (*healthTarget, error) {
	if s == "" {
		return nil, errors.New(`empty (want http://host:port/healthz, host:port or unix:/path)`)
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		path = strings.TrimPrefix(path, "//")
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("%q: a Unix socket needs an absolute path, as in unix:/run/otcompat/admin.sock", s)
		}
		return &healthTarget{url: &url.URL{Scheme: "http", Host: "localhost", Path: "/healthz"}, socket: path}, nil
	}
	if !strings.Contains(s, "://") {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return nil, fmt.Errorf("%q: want http://host:port/healthz, host:port or unix:/path", s)
		}
		s = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q: want http://host:port/healthz, host:port or unix:/path", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/healthz"
	}
	host, port := u.Hostname(), u.Port()
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	if port == "" {
		u.Host = host
		if strings.Contains(host, ":") {
			u.Host = "[" + host + "]"
		}
	} else {
		u.Host = net.JoinHostPort(host, port)
	}
	return &healthTarget{url: u}, nil
}

// check GETs the target once and returns its status line when it is 200.
func (h *healthTarget) check(ctx context.Context, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := &net.Dialer{}
	tr := &http.Transport{Proxy: nil, DialContext: d.DialContext, DisableKeepAlives: true}
	if h.socket != "" {
		sock := h.socket
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", sock)
		}
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A redirect is not a healthy answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "otcompat-healthcheck")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", fmt.Errorf("no answer within %v", timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("answered %s", resp.Status)
		// The first line of the body usually says why (e.g. /readyz's cause).
		line, _ := bufio.NewReader(io.LimitReader(resp.Body, 512)).ReadString('\n')
		if line = strings.TrimSpace(line); line != "" {
			msg += ": " + line
		}
		return "", errors.New(msg)
	}
	return resp.Status, nil
}
