package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testTimeout bounds any one exchange of a test with the proxy.
const testTimeout = 15 * time.Second

// proc is a running otcompat process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan struct{} // closed when the process has exited
	exit   error         // the Wait error, once done is closed

	network, addr string // the client listener: "tcp" host:port or "unix" path
	adminSock     string // the admin listener's Unix socket
	base          string // base URL for the client listener
	client        *http.Client
	admin         *http.Client
}

// proxyConfig says how to start otcompat serve.
type proxyConfig struct {
	upstream   string   // --upstream; "" leaves the flag out
	unixListen bool     // --listen unix:/path instead of a TCP port
	args       []string // further flags
	env        []string // extra environment (KEY=value)
}

// startProxy runs `otcompat serve --upstream upstream args...` on a free TCP
// port, with its admin listener on a Unix socket, and waits until it answers.
func startProxy(t *testing.T, upstream string, args ...string) *proc {
	t.Helper()
	return startProxyWith(t, proxyConfig{upstream: upstream, args: args})
}

func startProxyWith(t *testing.T, cfg proxyConfig) *proc {
	t.Helper()
	for attempt := 0; ; attempt++ {
		p, err := tryStartProxy(t, cfg)
		if err == nil {
			return p
		}
		// A free port picked here can be taken by someone else before the
		// binary binds it: pick another.
		if attempt < 4 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		t.Fatalf("starting otcompat: %v", err)
	}
}

func tryStartProxy(t *testing.T, cfg proxyConfig) (*proc, error) {
	dir := shortTempDir(t)
	p := &proc{t: t, stderr: &tailBuffer{max: 256 << 10}, done: make(chan struct{}),
		adminSock: filepath.Join(dir, "admin.sock")}
	if cfg.unixListen {
		p.network, p.addr, p.base = "unix", filepath.Join(dir, "otcompat.sock"), "http://otcompat"
	} else {
		p.network, p.addr = "tcp", freePort(t)
		p.base = "http://" + p.addr
	}
	listen := p.addr
	if cfg.unixListen {
		listen = "unix:" + p.addr
	}
	args := []string{"serve", "--listen", listen, "--admin-listen", "unix:" + p.adminSock, "--log-level", "warn"}
	if cfg.upstream != "" {
		args = append(args, "--upstream", cfg.upstream)
	}
	args = append(args, cfg.args...)
	p.cmd = otcompatCmd(context.Background(), args...)
	p.cmd.Env = append(cleanEnv(), cfg.env...)
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.exit = p.cmd.Wait()
		notePeakRSS(p.cmd)
		close(p.done)
	}()
	p.client = newClient(t, p.network, p.addr)
	p.admin = newClient(t, "unix", p.adminSock)
	t.Cleanup(p.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("otcompat %s exited before serving: %v\n%s", strings.Join(args, " "), p.exit, p.stderr)
		default:
		}
		if p.ready() {
			return p, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("otcompat did not answer /healthz within 10s:\n%s", p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ready reports whether both listeners accept: /healthz on the admin
// socket answers 200 and the client listener takes a connection.
func (p *proc) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://admin/healthz", nil)
	resp, err := p.admin.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	c, err := net.DialTimeout(p.network, p.addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stop kills the process if it still runs, and shows its log when the test failed.
func (p *proc) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if p.t.Failed() {
		p.t.Logf("otcompat log:\n%s", p.stderr)
	}
}

// signal sends sig to the process.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to d for the process to exit and returns its exit status.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("otcompat still running %v after it was told to stop", d)
	}
	var ee *exec.ExitError
	if errors.As(p.exit, &ee) {
		return ee.ExitCode()
	}
	if p.exit != nil {
		p.t.Fatalf("otcompat: %v", p.exit)
	}
	return 0
}

// do sends a request to the proxy; version "" sends no Opentrons-Version.
func (p *proc) do(t *testing.T, method, path, version string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return doRequest(t, p.client, method, p.base+path, version, body, hdr...)
}

// get is a GET through the proxy.
func (p *proc) get(t *testing.T, path, version string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return p.do(t, http.MethodGet, path, version, nil, hdr...)
}

// adminGet asks the admin listener.
func (p *proc) adminGet(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, body := doRequest(t, p.admin, http.MethodGet, "http://admin"+path, "", nil)
	return resp.StatusCode, string(body)
}

// metric sums the samples of a Prometheus series on the admin /metrics that
// carry every given label (as name="value" pairs).
func (p *proc) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	status, text := p.adminGet(t, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics answered %d", status)
	}
	var sum float64
next:
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// doRequest sends one request and reads the whole answer; hdr are
// name, value pairs.
func doRequest(t *testing.T, c *http.Client, method, url, version string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if version != "" {
		req.Header.Set("Opentrons-Version", version)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, b
}

// newClient returns a client for a TCP address or a Unix socket that never
// decompresses on its own; its idle connections close when the test ends.
func newClient(t *testing.T, network, addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy:               nil,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// shortTempDir is a temporary directory with a path short enough for Unix
// sockets (t.TempDir's can pass the 108-byte limit with long test names).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "otc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// cleanEnv is the test's environment without OTCOMPAT_ variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTCOMPAT_") {
			env = append(env, kv)
		}
	}
	return env
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// rawConn is a client connection that writes bytes as given, for what
// http.Client will not send.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, p *proc) *rawConn {
	t.Helper()
	c, err := net.DialTimeout(p.network, p.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("writing to the proxy: %v", err)
	}
}

// response reads one response (for a request of the given method) and its body.
func (c *rawConn) response(t *testing.T, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the proxy's response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the proxy's response body: %v", err)
	}
	return resp, body
}
