package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"otcompat/fixtures"
)

// TestBadCommandLineExitsWithStatus2AndOneLine: every bad flag or variable
// exits 2 with one line on stderr naming it.
func TestBadCommandLineExitsWithStatus2AndOneLine(t *testing.T) {
	t.Parallel()
	up := "http://" + freePort(t)
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		names []string // the line must name one of these
	}{
		{"serve without --upstream", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", ""}, nil, []string{"--upstream"}},
		{"unknown --badrun-policy", []string{"serve", "--upstream", up, "--badrun-policy", "nope"}, nil, []string{"--badrun-policy"}},
		{"OTCOMPAT_BADRUN_POLICY unknown", []string{"serve", "--upstream", up, "--listen", "127.0.0.1:0", "--admin-listen", ""},
			[]string{"OTCOMPAT_BADRUN_POLICY=nope"}, []string{"OTCOMPAT_BADRUN_POLICY", "--badrun-policy"}},
		{"--listen nonsense", []string{"serve", "--upstream", up, "--listen", "nonsense", "--admin-listen", ""}, nil, []string{"--listen"}},
		{"--listen relative unix path", []string{"serve", "--upstream", up, "--listen", "unix:otcompat.sock", "--admin-listen", ""}, nil, []string{"--listen"}},
		{"--admin-listen nonsense", []string{"serve", "--upstream", up, "--listen", "127.0.0.1:0", "--admin-listen", "nonsense"}, nil, []string{"--admin-listen"}},
		{"--upstream not http", []string{"serve", "--upstream", "ftp://robot"}, nil, []string{"--upstream"}},
		{"--badrun-version not a version", []string{"serve", "--upstream", up, "--badrun-version", "five"}, nil, []string{"--badrun-version"}},
		{"--max-transform-bytes zero", []string{"serve", "--upstream", up, "--max-transform-bytes", "0"}, nil, []string{"--max-transform-bytes"}},
		{"--upstream-timeout not a duration", []string{"serve", "--upstream", up, "--upstream-timeout", "soon"}, nil, []string{"--upstream-timeout"}},
		{"OTCOMPAT_UPSTREAM_TIMEOUT not a duration", []string{"serve", "--upstream", up, "--listen", "127.0.0.1:0", "--admin-listen", ""},
			[]string{"OTCOMPAT_UPSTREAM_TIMEOUT=soon"}, []string{"OTCOMPAT_UPSTREAM_TIMEOUT", "--upstream-timeout"}},
		{"--log-format unknown", []string{"serve", "--upstream", up, "--log-format", "xml"}, nil, []string{"--log-format"}},
		{"unknown flag", []string{"serve", "--upstream", up, "--nope"}, nil, []string{"--nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cmd := otcompatCmd(ctx, tc.args...)
			cmd.Env = append(cleanEnv(), tc.env...)
			var stderr tailBuffer
			stderr.max = 64 << 10
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("still running after 5s: it accepted the command line\n%s", stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("exit: %v, want status 2", err)
			}
			out := stderr.String()
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Errorf("stderr is not exactly one line:\n%s", out)
			}
			named := false
			for _, n := range tc.names {
				named = named || strings.Contains(out, n)
			}
			if !named {
				t.Errorf("stderr %q names none of %v", out, tc.names)
			}
		})
	}
}

// TestEnvironmentSetsFlagsAndFlagsBeatIt: OTCOMPAT_ variables apply when the
// flag is absent, and a flag on the command line beats its variable.
func TestEnvironmentSetsFlagsAndFlagsBeatIt(t *testing.T) {
	t.Parallel()
	store := fixtures.Default()
	up := startUpstream(t, fixtures.NewServer(store), false)
	bad := store.BadIDs()[0]
	down := "http://" + freePort(t)
	for _, tc := range []struct {
		name       string
		cfg        proxyConfig
		path       string
		wantStatus int
	}{
		{"OTCOMPAT_BADRUN_POLICY applies without the flag",
			proxyConfig{upstream: up.flag, env: []string{"OTCOMPAT_BADRUN_POLICY=degrade"}}, "/runs/" + bad, http.StatusOK},
		{"--badrun-policy beats OTCOMPAT_BADRUN_POLICY",
			proxyConfig{upstream: up.flag, env: []string{"OTCOMPAT_BADRUN_POLICY=degrade"}, args: []string{"--badrun-policy", "error"}}, "/runs/" + bad, http.StatusInternalServerError},
		{"OTCOMPAT_UPSTREAM applies without the flag",
			proxyConfig{env: []string{"OTCOMPAT_UPSTREAM=" + up.flag}}, "/health", http.StatusOK},
		{"--upstream beats OTCOMPAT_UPSTREAM",
			proxyConfig{upstream: up.flag, env: []string{"OTCOMPAT_UPSTREAM=" + down}}, "/health", http.StatusOK},
		{"OTCOMPAT_BADRUN_VERSION applies without the flag",
			proxyConfig{upstream: up.flag, env: []string{"OTCOMPAT_BADRUN_VERSION=3"}}, "/runs/" + bad, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startProxyWith(t, tc.cfg)
			resp, body := p.get(t, tc.path, "3")
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("GET %s as client 3: %d %.200s, want %d", tc.path, resp.StatusCode, body, tc.wantStatus)
			}
		})
	}
}

// TestVersionCommand: otcompat version names the version, commit, Go
// version and platform; OTCOMPAT_E2E_PLATFORM, when set, is the platform
// the binary under test must say it was built for (an emulated one, say).
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := qaRun(t, "version")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !versionLine.MatchString(stdout) {
		t.Errorf("version printed %q", stdout)
	}
	if want := os.Getenv("OTCOMPAT_E2E_PLATFORM"); want != "" && !strings.HasSuffix(stdout, ", "+want+")\n") {
		t.Errorf("version printed %q, want platform %s", stdout, want)
	}
}

var versionLine = regexp.MustCompile(`^otcompat \S+ \(commit \S+, go\S+, [a-z0-9]+/[a-z0-9]+\)\n$`)
