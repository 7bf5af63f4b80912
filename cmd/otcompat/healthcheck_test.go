package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runHealthcheck runs `otcompat healthcheck args...` and returns its exit
// status, what it printed and its error.
func runHealthcheck(t *testing.T, args ...string) (int, string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"healthcheck"}, args...))
	err := root.Execute()
	return exitStatus(err), out.String(), err
}

func TestHealthcheckHTTP(t *testing.T) {
	hcUnsetenv(t, "OTCOMPAT_ADMIN_LISTEN", "OTCOMPAT_URL", "OTCOMPAT_TIMEOUT")
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream not ready: dial unix /run/aiohttp.sock: connection refused", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/healthz", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string // in the output (exit 0) or the error
	}{
		{"healthy", []string{"--url", srv.URL + "/healthz"}, 0, "200 OK"},
		{"no path asks /healthz", []string{"--url", srv.URL}, 0, "/healthz answered 200 OK"},
		{"host:port", []string{"--url", strings.TrimPrefix(srv.URL, "http://")}, 0, "200 OK"},
		{"not ready", []string{"--url", srv.URL + "/readyz"}, 1, "answered 503 Service Unavailable: upstream not ready: dial unix /run/aiohttp.sock: connection refused"},
		{"not found", []string{"--url", srv.URL + "/nope"}, 1, "answered 404 Not Found"},
		{"redirect is not healthy", []string{"--url", srv.URL + "/moved"}, 1, "answered 302 Found"},
		{"timeout", []string{"--url", srv.URL + "/slow", "--timeout", "100ms"}, 1, "no answer within 100ms"},
		{"refused", []string{"--url", "http://" + closed + "/healthz"}, 1, "connection refused"},
		{"bad url", []string{"--url", "ftp://x/healthz"}, 2, "--url"},
		{"bad timeout", []string{"--timeout", "0s"}, 2, "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, err := runHealthcheck(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (out %q, err %v)", code, tt.wantCode, out, err)
			}
			msg := out
			if err != nil {
				msg = err.Error()
				if strings.Contains(msg, "\n") {
					t.Errorf("error is not one line: %q", msg)
				}
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("got %q, want it to contain %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestHealthcheckTimeoutIsBounded(t *testing.T) {
	hcUnsetenv(t, "OTCOMPAT_ADMIN_LISTEN", "OTCOMPAT_URL", "OTCOMPAT_TIMEOUT")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	start := time.Now()
	code, _, _ := runHealthcheck(t, "--url", srv.URL, "--timeout", "200ms")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v with --timeout 200ms", d)
	}
}

// TestHealthcheckUnixAdmin checks an admin listener on a Unix socket, as
// --admin-listen unix:/path opens it.
func TestHealthcheckUnixAdmin(t *testing.T) {
	hcUnsetenv(t, "OTCOMPAT_ADMIN_LISTEN", "OTCOMPAT_URL", "OTCOMPAT_TIMEOUT")
	sock := filepath.Join(hcSocketDir(t), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	if code, out, err := runHealthcheck(t, "--url", "unix:"+sock); code != 0 {
		t.Errorf("healthcheck unix:%s: exit %d (%q, %v)", sock, code, out, err)
	}

	// The address can come from OTCOMPAT_ADMIN_LISTEN, as in a container
	// configured through its environment.
	t.Setenv("OTCOMPAT_ADMIN_LISTEN", "unix:"+sock)
	if code, out, err := runHealthcheck(t); code != 0 {
		t.Errorf("healthcheck with OTCOMPAT_ADMIN_LISTEN: exit %d (%q, %v)", code, out, err)
	}
	// --url (here through OTCOMPAT_URL) beats it.
	t.Setenv("OTCOMPAT_URL", "unix:"+sock+".missing")
	if code, _, err := runHealthcheck(t); code != 1 || err == nil || !strings.Contains(err.Error(), ".missing") {
		t.Errorf("healthcheck with OTCOMPAT_URL set: exit %d, err %v; want 1 naming the socket", code, err)
	}
}

func TestHealthcheckAdminDisabled(t *testing.T) {
	hcUnsetenv(t, "OTCOMPAT_URL")
	t.Setenv("OTCOMPAT_ADMIN_LISTEN", "")
	code, _, err := runHealthcheck(t)
	if code != 1 || err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("exit %d, err %v; want 1 saying the admin listener is disabled", code, err)
	}
}

func TestParseHealthURL(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "http://127.0.0.1:31961/healthz", want: "http://127.0.0.1:31961/healthz"},
		{in: "http://127.0.0.1:31961", want: "http://127.0.0.1:31961/healthz"},
		{in: "https://admin.example:8443/", want: "https://admin.example:8443/healthz"},
		{in: "http://127.0.0.1:31961/readyz", want: "http://127.0.0.1:31961/readyz"},
		{in: "127.0.0.1:31961", want: "http://127.0.0.1:31961/healthz"},
		{in: "0.0.0.0:31961", want: "http://127.0.0.1:31961/healthz"},
		{in: ":31961", want: "http://127.0.0.1:31961/healthz"},
		{in: "[::]:31961", want: "http://[::1]:31961/healthz"},
		{in: "http://0.0.0.0", want: "http://127.0.0.1/healthz"},
		{in: "unix:/run/otcompat/admin.sock", want: "unix:/run/otcompat/admin.sock /healthz"},
		{in: "unix:///run/otcompat/admin.sock", want: "unix:/run/otcompat/admin.sock /healthz"},
		{in: "", wantErr: "empty"},
		{in: "unix:admin.sock", wantErr: "absolute path"},
		{in: "localhost", wantErr: "want http://"},
		{in: "ftp://127.0.0.1:21/", wantErr: "want http://"},
	}
	for _, tt := range tests {
		h, err := parseHealthURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseHealthURL(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseHealthURL(%q): %v", tt.in, err)
			continue
		}
		if got := h.String(); got != tt.want {
			t.Errorf("parseHealthURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// hcSocketDir is a temporary directory with a path short enough for a Unix
// socket (t.TempDir's can pass the 108-byte limit).
func hcSocketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// hcUnsetenv unsets variables for one test, restoring them after it.
func hcUnsetenv(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}
