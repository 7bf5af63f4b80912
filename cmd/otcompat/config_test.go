package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v4"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigExample: the example passes config check, and sets every key
// at its flag's default (upstream at a robot's socket).
func TestConfigExample(t *testing.T) {
	status, out, err := runCmd(t, context.Background(), "config", "example")
	if status != 0 || err != nil || out != exampleConfig {
		t.Fatalf("config example: %d %v", status, err)
	}
	path := writeFile(t, t.TempDir(), "example.yaml", out)
	if status, _, err := runCmd(t, context.Background(), "config", "check", path); status != 0 {
		t.Fatalf("config check of the example: %d %v", status, err)
	}
	var keys map[string]any
	if err := yaml.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatal(err)
	}
	file, err := configSchema.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	newServeFlags().flags.VisitAll(func(f *pflag.Flag) {
		if !fileKey(f.Name) {
			return
		}
		s, ok := file.Settings[f.Name]
		switch {
		case !ok:
			t.Errorf("the example does not set %s", f.Name)
		case f.Name == "upstream":
			if s.Value != "unix:/run/aiohttp.sock" {
				t.Errorf("upstream %q", s.Value)
			}
		case s.Value != f.DefValue && !(f.Value.Type() == "duration" && s.Value == "0s" && f.DefValue == "0s"):
			t.Errorf("the example sets %s to %q, its default is %q", f.Name, s.Value, f.DefValue)
		}
	})
	if len(file.Rules().List) != 2 {
		t.Errorf("the example has %d rules, want the issue's two", len(file.Rules().List))
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "listen: 127.0.0.1:1\nlisten-addr: x\nclients:\n  - {name: a, serve: newest}\n")
	root := newRoot()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs([]string{"config", "check", bad})
	err := root.Execute()
	if exitStatus(err) != 2 || stdout.Len() != 0 {
		t.Fatalf("status %d, stdout %q, err %v", exitStatus(err), stdout.String(), err)
	}
	want := bad + `:2:1: unknown key "listen-addr"; allowed: admin-listen, badrun-policy, badrun-version, changes, clients, listen, log-format, log-level, max-transform-bytes, memory-limit, pprof, shutdown-timeout, trustedProxies, upstream, upstream-timeout` + "\n" +
		bad + `:4:5: rule "a": needs a condition (userAgent, remote or header); to change what every client sees, set badrun-version` + "\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
	if status, _, err := runCmd(t, context.Background(), "config", "check", filepath.Join(dir, "missing.yaml")); status != 2 || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %d %v", status, err)
	}

	good := writeFile(t, dir, "good.yaml", "badrun-policy: degrade\nclients:\n  - {name: lab, remote: [10.0.0.0/8], serve: 4}\n")
	status, out, err := runCmd(t, context.Background(), "config", "check", good)
	if status != 0 {
		t.Fatalf("good file: %d %v", status, err)
	}
	for _, line := range []string{"badrun-policy: degrade\n", "listen: 127.0.0.1:31960\n", "pprof: false\n",
		"trustedProxies: [unix, 127.0.0.0/8, '::1/128']\n", "- name: lab\n  remote: [10.0.0.0/8]\n  serve: 4\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("effective configuration lacks %q:\n%s", line, out)
		}
	}
	// What check prints passes check, as a file of its own.
	again := writeFile(t, dir, "effective.yaml", out)
	if status, out2, err := runCmd(t, context.Background(), "config", "check", again); status != 0 || out2 != out {
		t.Errorf("effective configuration read back: %d %v\n%s", status, err, out2)
	}
}

// serveOptions parses args and the environment as serve does, then loads
// the configuration file.
func serveOptions(t *testing.T, args ...string) (*proxyOptions, error) {
	t.Helper()
	c := &cobra.Command{}
	var o proxyOptions
	o.registerServe(c.Flags())
	if err := c.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(c); err != nil {
		t.Fatal(err)
	}
	_, err := o.loadConfig()
	return &o, err
}

func TestConfigPrecedence(t *testing.T) {
	path := writeFile(t, t.TempDir(), "otcompat.yaml",
		"upstream: http://127.0.0.1:9\nlisten: 127.0.0.1:1001\nlog-level: debug\nbadrun-policy: degrade\nupstream-timeout: 5s\n")
	t.Setenv("OTCOMPAT_CONFIG", path)
	t.Setenv("OTCOMPAT_LOG_LEVEL", "warn")
	t.Setenv("OTCOMPAT_LISTEN", "127.0.0.1:1002")
	o, err := serveOptions(t, "--listen", "127.0.0.1:1003")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"listen: the flag beats the variable and the file", o.listen, "127.0.0.1:1003"},
		{"log-level: the variable beats the file", o.level, "warn"},
		{"badrun-policy: the file beats the default", o.badrunPolicy, "degrade"},
		{"upstream from the file", o.upstream, "http://127.0.0.1:9"},
		{"upstream-timeout from the file", o.upstreamTimeout.String(), "5s"},
		{"admin-listen: the default", o.adminListen, "127.0.0.1:31961"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestConfigReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "otcompat.yaml", "badrun-policy: hide\n")
	o, p := reloadableProxy(t, "--config", path, "--badrun-version", "6")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reloads := func(ok, bad int) {
		t.Helper()
		want := "# HELP otcompat_config_reloads_total Configuration file reloads (SIGHUP), by result: ok, or error when the file was refused and the running configuration stayed.\n" +
			"# TYPE otcompat_config_reloads_total counter\n" +
			"otcompat_config_reloads_total{result=\"error\"} " + itoa(bad) + "\n" +
			"otcompat_config_reloads_total{result=\"ok\"} " + itoa(ok) + "\n"
		if err := testutil.GatherAndCompare(p.Metrics().Registry, strings.NewReader(want), "otcompat_config_reloads_total"); err != nil {
			t.Error(err)
		}
	}

	// Good: the rules and the policy change; --badrun-version still beats the file.
	writeFile(t, dir, "otcompat.yaml", "badrun-version: 7\nbadrun-policy: error\nlisten: 127.0.0.1:4444\nclients:\n  - {name: lab, remote: [10.0.0.0/8], serve: newest}\n")
	first := p.Settings()
	o.reload(p, log)
	s := p.Settings()
	if s == first || len(s.Clients.List) != 1 || s.Clients.List[0].Name != "lab" || s.Chain.Newest().Original() != "6" {
		t.Errorf("after a good reload: %+v, newest %s", s.Clients, s.Chain.Newest())
	}
	if !strings.Contains(logs.String(), "configuration reloaded") || !strings.Contains(logs.String(), "badrun_policy=error") ||
		!strings.Contains(logs.String(), "keys=listen") {
		t.Errorf("log:\n%s", logs.String())
	}
	reloads(1, 0)

	// Bad: refused whole, the running settings stay.
	writeFile(t, dir, "otcompat.yaml", "badrun-policy: error\nclients:\n  - {name: lab, remote: [10.0.0.0/33], serve: newest}\n")
	logs.Reset()
	o.reload(p, log)
	if p.Settings() != s {
		t.Error("a bad file replaced the settings")
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=\"configuration reload refused; the running configuration stays\"") ||
		!strings.Contains(logs.String(), "otcompat.yaml:3:26: remote: ") {
		t.Errorf("log:\n%s", logs.String())
	}
	reloads(1, 1)

	// Gone: refused too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	o.reload(p, log)
	if p.Settings() != s {
		t.Error("a missing file replaced the settings")
	}
	reloads(1, 2)
}

func itoa(n int) string { return strconv.Itoa(n) }
