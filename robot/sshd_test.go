package robot

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"otcompat/fixtures"
)

// The fake robot: a real OpenSSH server (Debian's openssh-server) started by
// the test on loopback, with a throwaway host key and one authorized test
// key, running as the current user. There is no chroot, so the robot's / is
// a temporary directory given to the commands as Target.Root.
//
// What stands in for the robot's own programs:
//   - every session runs through a ForceCommand script that sets PATH to a
//     directory of stubs first and then the system's /usr/bin:/bin (the
//     user's login shell may have changed PATH in its rc files);
//   - `systemctl`, `mount`, `umount` and `nginx` are stub scripts there: systemctl
//     starts and stops the installed otcompat binary itself (with the
//     test's listen addresses, not the unit's ExecStart); mount -o bind
//     copies the source's bytes over the target and umount puts the
//     target's own back; nginx (-t, -s reload) only logs that it ran;
//   - `uname -m` and `df -Pk` are stubbed where a case needs another
//     architecture or less free space;
//   - robot-server's /run/aiohttp.sock is a real Unix socket served by the
//     fixtures package's fake robot-server;
//   - nginx on the robot's port 31950 is a reverse proxy in the test that
//     sends requests to otcompat's socket and, when that does not answer,
//     to robot-server's (the fail-open backup of the shipped nginx config).

const (
	sshdPath   = "/usr/sbin/sshd"
	sftpServer = "/usr/lib/openssh/sftp-server"
)

// robotOptions vary the fake robot.
type robotOptions struct {
	machine  string // uname -m; empty: the real one
	dfAvailK int64  // df -Pk's available 1024-blocks; 0: the real df
	noData   bool   // no /data
	noSocket bool   // no robot-server socket
	noSFTP   bool   // no SFTP subsystem, as on an OT-2's dropbear
	badSum   bool   // a sha256sum that prints a wrong hash
	bypass   bool   // nginx not routing through otcompat
	flex     bool   // a Flex's boot-scripts directory's parent
	nginx    string // the stock nginx.conf; empty: stockNginxConf
}

type fakeRobot struct {
	t      *testing.T
	dir    string // the test's files, outside the robot
	root   string // the robot's /
	target Target
	api    string // the nginx stand-in, host:port
	admin  string // otcompat's admin listener when the stub starts it
	calls  string // the stubs' log
}

func newFakeRobot(t *testing.T, o robotOptions) *fakeRobot {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("%s not installed (Debian openssh-server): %v", sshdPath, err)
	}
	// Not t.TempDir(): its long name would make the robot's socket paths
	// longer than a Unix socket address may be.
	dir, err := os.MkdirTemp("", "otr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &fakeRobot{t: t, dir: dir, root: filepath.Join(dir, "r"), calls: filepath.Join(dir, "calls.log")}
	for _, d := range []string{"root", "run/systemd/system", "etc/nginx", "var/log"} {
		mustMkdir(t, filepath.Join(r.root, d))
	}
	if !o.noData {
		mustMkdir(t, filepath.Join(r.root, "data"))
		writeFile(t, filepath.Join(r.root, "data/robot_settings.json"), "{\"name\": \"fake\"}\n", 0o644)
	}
	if o.flex {
		mustMkdir(t, filepath.Join(r.root, "var/user-packages/etc"))
	}
	if o.nginx == "" {
		o.nginx = stockNginxConf
	}
	writeFile(t, filepath.Join(r.root, "etc/nginx/nginx.conf"), o.nginx, 0o644)
	if !o.noSocket {
		serveUnix(t, filepath.Join(r.root, "run/aiohttp.sock"), fixtures.NewServer(fixtures.Default()))
	}
	r.api = r.startNginxStandIn(o.bypass)
	r.admin = freeAddr(t)

	stubs := filepath.Join(dir, "stubs")
	mustMkdir(t, stubs)
	r.writeStubs(stubs, o)

	hostKey, hostPub := newKey(t)
	clientKey, clientPub := newKey(t)
	writeFile(t, filepath.Join(dir, "host_key"), hostKey, 0o600)
	writeFile(t, filepath.Join(dir, "id_test"), clientKey, 0o600)
	writeFile(t, filepath.Join(dir, "authorized_keys"), string(ssh.MarshalAuthorizedKey(clientPub)), 0o600)
	addr := freeAddr(t)
	writeFile(t, filepath.Join(dir, "known_hosts"), knownhosts.Line([]string{addr}, hostPub)+"\n", 0o644)
	writeFile(t, filepath.Join(dir, "session"), fmt.Sprintf(`#!/bin/sh
PATH=%s:/usr/bin:/bin
export PATH
exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
`, stubs), 0o755)

	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`ListenAddress %s
HostKey %s/host_key
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
AllowUsers %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
ForceCommand %s/session
LogLevel ERROR
`, addr, dir, dir, dir, u.Username, dir)
	if !o.noSFTP {
		if _, err := os.Stat(sftpServer); err != nil {
			t.Skipf("no SFTP server (Debian openssh-sftp-server): %v", err)
		}
		cfg += "Subsystem sftp " + sftpServer + "\n"
	}
	writeFile(t, filepath.Join(dir, "sshd_config"), cfg, 0o600)
	if os.Geteuid() == 0 {
		// sshd started by root needs its privilege separation directory,
		// which Debian's ssh.service would create.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stdout, cmd.Stderr = &testLog{t: t, prefix: "sshd: "}, &testLog{t: t, prefix: "sshd: "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitListening(t, addr)

	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	r.target = Target{Host: host, Port: p, User: u.Username, Identity: filepath.Join(dir, "id_test"),
		KnownHosts: filepath.Join(dir, "known_hosts"), Timeout: 10 * time.Second, Root: r.root}
	t.Cleanup(func() {
		r.stopOtcompat()
		if t.Failed() {
			for _, f := range []string{"otcompat.log", "calls.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	return r
}

// writeStubs writes the robot's stand-in programs.
func (r *fakeRobot) writeStubs(stubs string, o robotOptions) {
	t := r.t
	log := fmt.Sprintf("echo \"$(basename \"$0\") $*\" >> %s\n", r.calls)
	pid := filepath.Join(r.dir, "otcompat.pid")
	// systemctl: start/restart runs the installed binary in the background
	// as the unit would, stop kills it; everything else succeeds silently.
	writeFile(t, filepath.Join(stubs, "systemctl"), "#!/bin/sh\n"+log+fmt.Sprintf(`root=%s pid=%s
unit=""
for a in "$@"; do case "$a" in otcompat*) unit=$a;; esac; done
stop() {
  if [ -f "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null; while kill -0 "$(cat "$pid")" 2>/dev/null; do sleep 0.05; done; rm -f "$pid"; fi
  rmdir "$root/run/otcompat" 2>/dev/null
  return 0
}
case "$1 $unit" in
  "start otcompat"*|"restart otcompat"*|"enable otcompat"*)
    case "$*" in *--now*|start*|restart*) ;; *) exit 0;; esac
    stop
    mkdir -p "$root/run/otcompat"
    "$root/data/otcompat/otcompat" serve --upstream "unix:$root/run/aiohttp.sock" \
      --listen "unix:$root/run/otcompat/otcompat.sock" --admin-listen %s \
      </dev/null >> %s/otcompat.log 2>&1 &
    echo $! > "$pid"
    ;;
  "stop otcompat"*|"disable otcompat"*) stop ;;
  "is-active otcompat"*) [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null && echo active && exit 0; echo inactive; exit 3 ;;
esac
exit 0
`, r.root, pid, r.admin, r.dir), 0o755)
	// mount -o bind SRC DST shows SRC's bytes at DST until umount DST:
	// the stubs copy them over DST and put DST's own back.
	saved := filepath.Join(r.dir, "mount.saved")
	writeFile(t, filepath.Join(stubs, "mount"), "#!/bin/sh\n"+log+fmt.Sprintf(`[ "$1 $2" = "-o bind" ] && [ $# = 4 ] || { echo "mount stub: only -o bind SRC DST" >&2; exit 1; }
[ ! -e %[1]s ] || { echo "mount stub: one mount at a time" >&2; exit 1; }
cp "$4" %[1]s && cat "$3" > "$4"
`, saved), 0o755)
	writeFile(t, filepath.Join(stubs, "umount"), "#!/bin/sh\n"+log+fmt.Sprintf(`[ -e %[1]s ] || { echo "umount: $1: not mounted" >&2; exit 1; }
cat %[1]s > "$1" && rm %[1]s
`, saved), 0o755)
	writeFile(t, filepath.Join(stubs, "nginx"), "#!/bin/sh\n"+log+"exit 0\n", 0o755)
	if o.machine != "" {
		writeFile(t, filepath.Join(stubs, "uname"), fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = -m ]; then echo %s; else exec /bin/uname \"$@\"; fi\n", o.machine), 0o755)
	}
	if o.badSum {
		// The hash's first digit changed, whatever it was: 0 becomes 1,
		// anything else 0.
		writeFile(t, filepath.Join(stubs, "sha256sum"), "#!/bin/sh\n/usr/bin/sha256sum \"$@\" | sed 's/^0/1/;t;s/^./0/'\n", 0o755)
	}
	if o.dfAvailK != 0 {
		writeFile(t, filepath.Join(stubs, "df"), fmt.Sprintf(`#!/bin/sh
echo "Filesystem     1024-blocks    Used Available Capacity Mounted on"
echo "/dev/mmcblk0p4     1000000  999000 %9d      99%% /data"
`, o.dfAvailK), 0o755)
	}
}

// stopOtcompat stops an otcompat the systemctl stub left running.
func (r *fakeRobot) stopOtcompat() {
	b, err := os.ReadFile(filepath.Join(r.dir, "otcompat.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}

// startNginxStandIn serves the robot's API port: otcompat first,
// robot-server when otcompat's socket does not answer.
func (r *fakeRobot) startNginxStandIn(bypass bool) string {
	t := r.t
	otcompat := filepath.Join(r.root, "run/otcompat/otcompat.sock")
	backup := filepath.Join(r.root, "run/aiohttp.sock")
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		if bypass {
			return d.DialContext(ctx, "unix", backup)
		}
		c, err := d.DialContext(ctx, "unix", otcompat)
		if err != nil {
			return d.DialContext(ctx, "unix", backup)
		}
		return c, nil
	}, DisableKeepAlives: true}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "localhost"
	}, Transport: tr}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// serveUnix serves h on a Unix socket at p until the test ends.
func serveUnix(t *testing.T, p string, h http.Handler) {
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
}

// freeAddr is a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("sshd does not listen on %s", addr)
}

// newKey is a fresh ed25519 key: the private key file's text and the
// public key.
func newKey(t *testing.T) (string, ssh.PublicKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), sp
}

func mustMkdir(t *testing.T, p string) {
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, s string, mode os.FileMode) {
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// testLog writes a process's output to the test log.
type testLog struct {
	t      *testing.T
	prefix string
}

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Log(l.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// treeHash lists every path under root with its type, mode and contents
// (a SHA-256 of a file, a link's target): two roots with equal lists are
// byte-identical for anything that reads them.
func treeHash(t *testing.T, root string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := rel + " " + info.Mode().String()
		switch {
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			line += " " + hex.EncodeToString(h.Sum(nil))
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return lines
}

// diffLines names what differs between two tree hashes.
func diffLines(a, b []string) string {
	in := map[string]int{}
	for _, l := range a {
		in[l]--
	}
	for _, l := range b {
		in[l]++
	}
	var d []string
	for l, n := range in {
		switch {
		case n < 0:
			d = append(d, "- "+l)
		case n > 0:
			d = append(d, "+ "+l)
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

// stockNginxConf stands for the robot's stock /etc/nginx/nginx.conf.
const stockNginxConf = `user root root;
events { worker_connections 1024; }
http {
    server {
        listen [::]:31950;
        listen 0.0.0.0:31950;
        location / {
            proxy_pass http://unix:/run/aiohttp.sock;
        }
        location /server {
            proxy_pass http://127.0.0.1:34000;
        }
    }
}
`
