package robot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"otcompat/deploy"
)

// testConfig is a configuration file for install --config.
const testConfig = "badrun-policy: hide\n"

// otcompatBin is the otcompat binary the tests install, built once.
var otcompatBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "otcompat-robot-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	otcompatBin = filepath.Join(dir, "otcompat")
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", otcompatBin, "../cmd/otcompat")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building otcompat: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// options are the robot commands' options against a fake robot.
func (r *fakeRobot) options(out *bytes.Buffer) Options {
	return Options{Target: r.target, API: r.api, Admin: r.admin, Out: out}
}

func (r *fakeRobot) install(out *bytes.Buffer) error {
	return Install(context.Background(), InstallOptions{Options: r.options(out), Self: otcompatBin})
}

// command runs `otcompat robot cmd` (the built binary) against the fake
// robot, every option given by its environment variable, and returns what
// it printed.
func (r *fakeRobot) command(cmd string) (string, error) {
	c := exec.Command(otcompatBin, "robot", cmd)
	c.Env = append(os.Environ(),
		"OTCOMPAT_HOST="+r.target.Host, fmt.Sprintf("OTCOMPAT_PORT=%d", r.target.Port),
		"OTCOMPAT_USER="+r.target.User, "OTCOMPAT_IDENTITY="+r.target.Identity,
		"OTCOMPAT_KNOWN_HOSTS="+r.target.KnownHosts, "OTCOMPAT_ROBOT_ROOT="+r.root,
		"OTCOMPAT_ROBOT_API="+r.api, "OTCOMPAT_ROBOT_ADMIN="+r.admin)
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("otcompat robot %s: %v: %s", cmd, err, out)
	}
	return string(out), nil
}

// TestInstallStatusUninstall installs, checks the layout and status, and
// uninstalls, through the command line (which sends its own binary) and
// through the package on a robot without an SFTP server; the robot's whole
// tree is byte-identical afterwards.
func TestInstallStatusUninstall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       robotOptions
		command bool
	}{
		{"command, sftp", robotOptions{}, true},
		{"package, no sftp", robotOptions{noSFTP: true}, false},
		{"package, flex, --config", robotOptions{flex: true}, false},
		{"package, flex, aarch64 from --dist", robotOptions{machine: "aarch64", flex: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeRobot(t, tc.o)
			step := func(cmd string) (string, error) {
				if tc.command {
					return r.command(cmd)
				}
				var out bytes.Buffer
				var err error
				switch cmd {
				case "install":
					o := InstallOptions{Options: r.options(&out), Self: otcompatBin}
					if tc.o.flex && tc.o.machine == "" {
						o.Config = filepath.Join(r.dir, "otcompat.yaml")
						writeFile(t, o.Config, testConfig, 0o644)
					}
					if tc.o.machine != "" {
						o.Dist = r.dir
					}
					err = Install(context.Background(), o)
				case "status":
					err = Status(context.Background(), r.options(&out))
				case "uninstall":
					err = Uninstall(context.Background(), r.options(&out))
				}
				return out.String(), err
			}
			sent := otcompatBin
			if tc.o.machine == "aarch64" {
				// The fake robot runs on this machine, so the file under
				// the arm64 name is this machine's binary with bytes
				// appended (still runnable): a SHA-256 of its own shows
				// that --dist's file went, not this program.
				sent = filepath.Join(r.dir, "otcompat-linux-arm64")
				b, err := os.ReadFile(otcompatBin)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, sent, string(b)+"not the same file", 0o755)
			}
			before := treeHash(t, r.root)
			out, err := step("install")
			if err != nil {
				t.Fatalf("install: %v\n%s", err, out)
			}
			t.Logf("install:\n%s", out)
			bootDir := deploy.BootDirOT2
			if tc.o.flex {
				bootDir = deploy.BootDirFlex
			}
			for _, p := range []string{deploy.Binary, deploy.Hook, deploy.UnitFile, deploy.StockNginx, bootDir + "/" + deploy.BootEntry, deploy.RuntimeUnit} {
				if _, err := os.Stat(filepath.Join(r.root, p)); err != nil {
					t.Errorf("after install: %v", err)
				}
			}
			if tc.o.flex && tc.o.machine == "" {
				if b, err := os.ReadFile(filepath.Join(r.root, ConfigFile)); err != nil || string(b) != testConfig {
					t.Errorf("installed configuration: %q, %v; want %q", b, err, testConfig)
				}
				if b, err := os.ReadFile(filepath.Join(r.root, deploy.EnvFile)); err != nil || !strings.HasSuffix(string(b), "\nOTCOMPAT_CONFIG="+ConfigFile+"\n") {
					t.Errorf("installed %s does not end in OTCOMPAT_CONFIG=%s:\n%s", deploy.EnvFile, ConfigFile, b)
				}
			}
			want, _, _ := fileSHA256(sent)
			if got, _, _ := fileSHA256(filepath.Join(r.root, deploy.Binary)); got != want {
				t.Errorf("installed binary SHA-256 %s, want %s", got, want)
			}

			out, err = step("status")
			if err != nil {
				t.Fatalf("status: %v\n%s", err, out)
			}
			t.Logf("status:\n%s", out)
			for _, want := range []string{"version: otcompat ", "nginx: routes through otcompat", "boot hook: nginx: otcompat", "readyz: ready"} {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}

			if out, err = step("uninstall"); err != nil {
				t.Fatalf("uninstall: %v\n%s", err, out)
			}
			if d := diffLines(before, treeHash(t, r.root)); d != "" {
				t.Errorf("robot root after install and uninstall differs from before:\n%s", d)
			}

			out, err = step("status")
			if err == nil || !strings.Contains(err.Error(), "not installed") {
				t.Errorf("status after uninstall: %v, want not installed\n%s", err, out)
			}
			if !strings.Contains(out, "without otcompat") {
				t.Errorf("status after uninstall does not show nginx answering without otcompat:\n%s", out)
			}
		})
	}
}

// TestInstallTwice replaces an installed otcompat, and one uninstall
// still restores the stock tree.
func TestInstallTwice(t *testing.T) {
	r := newFakeRobot(t, robotOptions{})
	before := treeHash(t, r.root)
	var out bytes.Buffer
	for i := 0; i < 2; i++ {
		if err := r.install(&out); err != nil {
			t.Fatalf("install %d: %v\n%s", i+1, err, out.String())
		}
	}
	if !strings.Contains(out.String(), "replacing the otcompat installed") {
		t.Errorf("second install did not say it replaces the first:\n%s", out.String())
	}
	if err := Uninstall(context.Background(), r.options(&out)); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out.String())
	}
	if d := diffLines(before, treeHash(t, r.root)); d != "" {
		t.Errorf("robot root differs from before:\n%s", d)
	}
	out.Reset()
	if err := Uninstall(context.Background(), r.options(&out)); err != nil || !strings.Contains(out.String(), "nothing to do") {
		t.Errorf("uninstall of nothing: %v\n%s", err, out.String())
	}
}

// TestInstallRollsBack makes a step fail after the robot was changed: the
// robot's tree is then byte-identical to before, and otcompat is stopped.
func TestInstallRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    robotOptions
		want string
	}{
		{"sha256 differs on the robot", robotOptions{badSum: true}, "SHA-256 on the robot"},
		{"nginx does not route through otcompat", robotOptions{bypass: true}, "does not route through otcompat"},
		{"the hook leaves nginx stock", robotOptions{nginx: strings.ReplaceAll(stockNginxConf, "http://unix:/run/aiohttp.sock", "http://127.0.0.1:31949")}, "the boot hook left nginx stock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeRobot(t, tc.o)
			before := treeHash(t, r.root)
			var out bytes.Buffer
			// Waiting less than the default for a check bound to fail.
			err := Install(context.Background(), InstallOptions{Options: r.options(&out), Self: otcompatBin, CheckWait: 3 * time.Second})
			if err == nil {
				t.Fatalf("install succeeded:\n%s", out.String())
			}
			t.Logf("install: %v\n%s", err, out.String())
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "back as it was") {
				t.Errorf("error %q, want %q and the rollback", err, tc.want)
			}
			if d := diffLines(before, treeHash(t, r.root)); d != "" {
				t.Errorf("robot root after the failed install differs from before:\n%s", d)
			}
			if _, err := os.Stat(filepath.Join(r.dir, "otcompat.pid")); err == nil {
				t.Errorf("otcompat still running after the rollback")
			}
		})
	}
}

// TestBadInput: each problem gets one line naming it, and the robot is
// left untouched.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     robotOptions
		edit  func(r *fakeRobot, o *InstallOptions)
		want  string
		wantH string // in the error of status and uninstall too, when set
	}{
		{name: "unreachable host", edit: func(r *fakeRobot, o *InstallOptions) {
			o.Port = portOf(t, freeAddr(t))
		}, want: "cannot reach 127.0.0.1:", wantH: "connection refused"},
		{name: "wrong key", edit: func(r *fakeRobot, o *InstallOptions) {
			k, _ := newKey(t)
			o.Identity = filepath.Join(r.dir, "other_key")
			writeFile(t, o.Identity, k, 0o600)
		}, want: "refused the login with key", wantH: "refused the login"},
		{name: "missing key file", edit: func(r *fakeRobot, o *InstallOptions) {
			o.Identity = filepath.Join(r.dir, "nope")
		}, want: "--identity: open ", wantH: "no such file"},
		{name: "unknown host key", edit: func(r *fakeRobot, o *InstallOptions) {
			o.KnownHosts = filepath.Join(r.dir, "empty_known_hosts")
		}, want: "is not in ", wantH: "--insecure-ignore-host-key"},
		{name: "changed host key", edit: func(r *fakeRobot, o *InstallOptions) {
			_, other := newKey(t)
			o.KnownHosts = filepath.Join(r.dir, "other_known_hosts")
			writeFile(t, o.KnownHosts, knownhosts.Line([]string{o.Target.addr()}, other)+"\n", 0o644)
		}, want: "differs from the one in", wantH: "ssh-keygen -f"},
		{name: "not a robot: no /data", o: robotOptions{noData: true}, want: "not an Opentrons robot: it has no /data directory"},
		{name: "not a robot: no socket", o: robotOptions{noSocket: true}, want: "no robot-server socket /run/aiohttp.sock"},
		{name: "unknown architecture", o: robotOptions{machine: "mips"}, want: `architecture is "mips" (uname -m)`},
		{name: "a Flex without its boot-scripts directory", o: robotOptions{machine: "aarch64"}, want: "(a Flex) but has no /var/user-packages/etc"},
		{name: "other architecture without --dist", o: robotOptions{machine: "armv7l"}, want: "give --dist DIR holding otcompat-linux-armv7"},
		{name: "too little space", o: robotOptions{dfAvailK: 1024}, want: "too little space on /data: 1.0 MiB free, install needs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeRobot(t, tc.o)
			before := treeHash(t, r.root)
			var out bytes.Buffer
			o := InstallOptions{Options: r.options(&out), Self: otcompatBin}
			if tc.edit != nil {
				tc.edit(r, &o)
			}
			err := Install(context.Background(), o)
			if err == nil {
				t.Fatalf("install succeeded:\n%s", out.String())
			}
			t.Logf("install: %v", err)
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("install: %q, want one line with %q", err, tc.want)
			}
			if tc.wantH != "" {
				for name, f := range map[string]func(context.Context, Options) error{"status": Status, "uninstall": Uninstall} {
					if err := f(context.Background(), o.Options); err == nil || !strings.Contains(err.Error(), tc.wantH) {
						t.Errorf("%s: %v, want %q", name, err, tc.wantH)
					}
				}
			}
			if d := diffLines(before, treeHash(t, r.root)); d != "" {
				t.Errorf("robot root changed:\n%s", d)
			}
		})
	}
}

func portOf(t *testing.T, addr string) int {
	var p int
	if _, err := fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInsecureIgnoreHostKey logs in to a robot whose host key is in no
// known_hosts file.
func TestInsecureIgnoreHostKey(t *testing.T) {
	r := newFakeRobot(t, robotOptions{})
	var out bytes.Buffer
	o := r.options(&out)
	o.KnownHosts = filepath.Join(r.dir, "empty_known_hosts")
	o.InsecureIgnoreHostKey = true
	if err := Status(context.Background(), o); err == nil || !strings.Contains(err.Error(), "otcompat is not installed on 127.0.0.1") {
		t.Errorf("status: %v, want it logged in and found nothing installed\n%s", err, out.String())
	}
}

// cancelOn cancels a context when a line with the given text is written.
type cancelOn struct {
	bytes.Buffer
	text   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.text) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

// TestInstallCancelledRollsBack cancels install (as Ctrl-C does) once the
// layout is placed: the rollback still runs and the tree is as before.
func TestInstallCancelledRollsBack(t *testing.T) {
	r := newFakeRobot(t, robotOptions{})
	before := treeHash(t, r.root)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{text: "placed the layout", cancel: cancel}
	o := InstallOptions{Options: r.options(nil), Self: otcompatBin}
	o.Out = out
	err := Install(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "back as it was") || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("install: %v, want it cancelled and rolled back\n%s", err, out.String())
	}
	if d := diffLines(before, treeHash(t, r.root)); d != "" {
		t.Errorf("robot root after the cancelled install differs from before:\n%s", d)
	}
}

// TestStatusFailOpen: with otcompat stopped, nginx answers from
// robot-server and status says so, exiting with the causes.
func TestStatusFailOpen(t *testing.T) {
	r := newFakeRobot(t, robotOptions{})
	var out bytes.Buffer
	if err := r.install(&out); err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	if _, err := exec.Command(filepath.Join(r.dir, "stubs", "systemctl"), "stop", "otcompat.service").CombinedOutput(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := Status(context.Background(), r.options(&out))
	if err == nil || !strings.Contains(err.Error(), "nginx bypasses otcompat, otcompat is not ready") {
		t.Errorf("status: %v, want nginx bypassing otcompat and not ready", err)
	}
	for _, want := range []string{"version: otcompat ", "nginx: does not route through otcompat (GET /health as version 2: 200 OK", "readyz: not ready: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}
