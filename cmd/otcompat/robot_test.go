package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestRobotCommandLine checks the robot commands' flags and variables up to
// the first network step; robot/ tests the commands against an SSH server.
func TestRobotCommandLine(t *testing.T) {
	hcUnsetenv(t, "OTCOMPAT_HOST", "OTCOMPAT_PORT", "OTCOMPAT_TIMEOUT", "OTCOMPAT_IDENTITY", "SSH_AUTH_SOCK")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	key := t.TempDir() + "/id"
	writeTestFile(t, key, "not a key")
	badConfig := t.TempDir() + "/otcompat.yaml"
	writeTestFile(t, badConfig, "badrun-policy: hide\nbogus: 1\n")

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"no host", nil, []string{"install"}, 2, "--host is required"},
		{"bad port", nil, []string{"status", "--host", "r", "--port", "70000"}, 2, "--port 70000: not a TCP port"},
		{"bad timeout", nil, []string{"uninstall", "--host", "r", "--timeout", "0s"}, 2, "--timeout 0s: must be positive"},
		{"not a key", nil, []string{"status", "--host", "127.0.0.1", "--identity", key}, 1, "--identity " + key + ": not a private key"},
		{"host from the environment", map[string]string{"OTCOMPAT_HOST": "127.0.0.1", "OTCOMPAT_PORT": closed, "OTCOMPAT_IDENTITY": ""},
			[]string{"install", "--identity", writeKey(t)}, 1, "cannot reach 127.0.0.1:" + closed},
		{"config serve would refuse", nil, []string{"install", "--host", "127.0.0.1", "--port", closed, "--config", badConfig}, 2,
			badConfig + `:2:1: unknown key "bogus"`},
		{"bad variable", map[string]string{"OTCOMPAT_PORT": "x"}, []string{"status", "--host", "r"}, 2, `OTCOMPAT_PORT="x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			root := newRoot()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetArgs(append([]string{"robot"}, tc.args...))
			err := root.Execute()
			if code := exitStatus(err); code != tc.wantCode || err == nil || !strings.Contains(err.Error(), tc.wantMsg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("exit %d, %v; want exit %d and one line with %q", code, err, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func writeTestFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeKey writes a fresh unencrypted ed25519 private key and returns its file.
func writeKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := t.TempDir() + "/id_ed25519"
	writeTestFile(t, p, string(pem.EncodeToMemory(block)))
	return p
}
