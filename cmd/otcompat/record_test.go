package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"otcompat/fixtures"
	"otcompat/fixtures/cassette"
)

// serveCmd runs a serving command (record, replay) in process on a Unix
// socket until the test ends, and returns a client for it.
func serveCmd(t *testing.T, args ...string) *http.Client {
	t.Helper()
	dir, err := os.MkdirTemp("", "otc") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if code, _, err := runCmd(t, ctx, append(args, "--listen", "unix:"+sock, "--log-level", "error")...); code != 0 {
			t.Errorf("%s: exit %d: %v", args[0], code, err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	})
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen within 5s", args[0])
		}
	}
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, path, version string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://otcompat"+path, nil)
	if version != "" {
		req.Header.Set("Opentrons-Version", version)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// recordFixtures records GETs of paths at versions from the fixture store
// through `otcompat record`, and returns the cassette directory. Each
// exchange is on disk once its answer is in.
func recordFixtures(t *testing.T, store *fixtures.Store, versions []string, paths ...string) string {
	t.Helper()
	robot := httptest.NewServer(fixtures.NewServer(store))
	t.Cleanup(robot.Close)
	dir := t.TempDir()
	c := serveCmd(t, "record", "--upstream", robot.URL, "--cassette", dir)
	for _, p := range paths {
		for _, v := range versions {
			if resp, _ := get(t, c, p, v); resp.StatusCode/100 != 2 {
				t.Fatalf("recording %s at %s: %d", p, v, resp.StatusCode)
			}
		}
	}
	return dir
}

func TestRecordCommand(t *testing.T) {
	store := fixtures.Default()
	robot := httptest.NewServer(fixtures.NewServer(store))
	defer robot.Close()
	dir := t.TempDir()
	c := serveCmd(t, "record", "--upstream", robot.URL, "--cassette", dir)
	_, body := get(t, c, "/runs", "3")
	is, err := cassette.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(is) != 1 || is[0].Response.Body != string(body) || is[0].Request.Headers.Get("Opentrons-Version") != "3" {
		t.Fatalf("recorded %d exchanges, not the one sent", len(is))
	}
	if !strings.Contains(is[0].Request.URL, strings.TrimPrefix(robot.URL, "http://")+"/runs") {
		t.Errorf("recorded URL %q", is[0].Request.URL)
	}
}

func TestRecordReplayUsage(t *testing.T) {
	tests := []struct {
		args    []string
		message string
	}{
		{[]string{"record", "--cassette", "x"}, "--upstream and --cassette are required"},
		{[]string{"record", "--upstream", "http://a:1"}, "--upstream and --cassette are required"},
		{[]string{"record", "--upstream", "a:1", "--cassette", "x"}, "--upstream:"},
		{[]string{"record", "--upstream", "http://a:1", "--cassette", "x", "--listen", "nowhere"}, "--listen:"},
		{[]string{"replay"}, "--cassette is required"},
		{[]string{"replay", "--cassette", "/nonexistent"}, "--cassette:"},
		{[]string{"replay", "--cassette", "x", "--match", "method,host"}, "--match:"},
		{[]string{"demo", "--cassette", "/nonexistent"}, "--cassette:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Chdir(t.TempDir())
			code, _, err := runCmd(t, context.Background(), tt.args...)
			if code != 2 || err == nil || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("exit %d, %v; want 2 and %q", code, err, tt.message)
			}
		})
	}
}
