package robot

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestLoadKey: each unusable key file is one line saying what to do.
func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	locked, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := newKey(t)
	files := map[string]string{
		"good":      good,
		"locked":    string(pem.EncodeToMemory(locked)),
		"garbage":   "not a key\n",
		"publickey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8Pxdq9bO1WIlBkZTytpZYXXa2wh21WK8kE/vSNeUvF test\n",
	}
	for n, s := range files {
		writeFile(t, filepath.Join(dir, n), s, 0o600)
	}
	for _, tc := range []struct{ file, err string }{
		{"good", ""},
		{"locked", "the key has a passphrase: add it to ssh-agent (ssh-add "},
		{"garbage", "not a private key"},
		{"publickey", "not a private key"},
		{"missing", "--identity: open "},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := loadKey(filepath.Join(dir, tc.file))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("loadKey: %v, want one line with %q", err, tc.err)
			}
		})
	}
}

// TestQuote: a POSIX shell reads back every quoted word as it was.
func TestQuote(t *testing.T) {
	for _, in := range []string{"", "/data/x", "it's", "$(touch /tmp/quoted)", "a b\nc", `back\slash"q`, "'", "*"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+quote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh read %s back as %q (%v), want %q", quote(in), out, err, in)
		}
	}
}

// TestFileTransfer: files go over SFTP where the robot has a server and
// through cat where it has none, to the same bytes and mode.
func TestFileTransfer(t *testing.T) {
	for _, noSFTP := range []bool{false, true} {
		t.Run(map[bool]string{false: "sftp", true: "cat"}[noSFTP], func(t *testing.T) {
			r := newFakeRobot(t, robotOptions{noSFTP: noSFTP})
			c, err := Dial(context.Background(), r.target)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if (c.files != nil) == noSFTP {
				t.Fatalf("SFTP client %v on a robot with SFTP %v", c.files != nil, !noSFTP)
			}
			body := strings.Repeat("robot bytes\x00\xff\n", 10000)
			p := c.path("/data/file with 'quotes'")
			if err := c.put(context.Background(), p, strings.NewReader(body), 0o751); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil || string(b) != body {
				t.Fatalf("robot file: %d bytes, %v; want the %d sent", len(b), err, len(body))
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o751 {
				t.Fatalf("robot file mode: %v, %v; want 0751", fi.Mode(), err)
			}
		})
	}
}
