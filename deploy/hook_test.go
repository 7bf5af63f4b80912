package deploy

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// stubs holds the robot side's commands that change the system, as small
// scripts put first on the hook's PATH (each says what it does); sha256sum,
// cmp, sed and the rest are the system's.
const stubs = "testdata/robot-stubs"

// robot is a robot root in a temporary directory with otcompat's files in
// Dir, as an install leaves them before it runs the hook.
type robot struct {
	t     *testing.T
	sh    string // the shell that runs the hook
	root  string
	state string // the stubs' call log and saved mounts, outside the root
	env   []string
}

func newRobot(t *testing.T, sh shell, stock []byte) *robot {
	t.Helper()
	r := &robot{t: t, sh: sh.sh, root: t.TempDir(), state: t.TempDir()}
	bin, err := filepath.Abs(stubs)
	if err != nil {
		t.Fatal(err)
	}
	mounts := filepath.Join(r.state, "mounts")
	for _, d := range []string{mounts, r.path("/etc/nginx"), r.path("/run"), r.path(Dir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.write(NginxConf, stock, 0o644)
	for _, f := range Files {
		if f.Path == BootEntry {
			continue
		}
		b, err := Robot.ReadFile(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		r.write(f.Path, b, fs.FileMode(f.Mode))
	}
	r.write(Binary, []byte("#!/bin/sh\n"), 0o755)
	path := bin + ":" + os.Getenv("PATH")
	if sh.dir != "" {
		path = bin + ":" + sh.dir + ":" + os.Getenv("PATH")
	}
	r.env = append(os.Environ(), "ROOT="+r.root, "PATH="+path,
		"CALLS="+filepath.Join(r.state, "calls"), "MOUNTS="+mounts)
	return r
}

func (r *robot) path(p string) string { return filepath.Join(r.root, p) }

func (r *robot) write(p string, b []byte, mode fs.FileMode) {
	r.t.Helper()
	if err := os.WriteFile(r.path(p), b, mode); err != nil {
		r.t.Fatal(err)
	}
}

func (r *robot) read(p string) []byte {
	r.t.Helper()
	b, err := os.ReadFile(r.path(p))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *robot) exists(p string) bool {
	_, err := os.Stat(r.path(p))
	return err == nil
}

// hook runs the hook with args and extra environment; it returns the exit
// status and the output, and the stubs' calls made during the run.
func (r *robot) hook(env []string, args ...string) (int, string, []string) {
	r.t.Helper()
	calls := filepath.Join(r.state, "calls")
	_ = os.Remove(calls)
	cmd := exec.Command(r.sh, append([]string{r.path(Hook)}, args...)...)
	cmd.Env = append(append([]string{}, r.env...), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	b, _ := os.ReadFile(calls)
	var lines []string
	if s := strings.TrimSpace(string(b)); s != "" {
		lines = strings.Split(s, "\n")
	}
	return code, string(out), lines
}

// A shell runs the hook: sh, with the tools found first in dir (if any).
type shell struct{ sh, dir string }

// applets are the tools the hook and the stubs use.
var applets = []string{"sh", "sed", "grep", "cmp", "sha256sum", "tail", "cut", "tr", "date", "dirname", "mkdir", "cp", "mv", "rm"}

// shells are what the hook must run under: the system's sh and tools, and
// busybox's sh and applets (the OT-2's /bin/sh is busybox) where busybox
// is installed.
func shells(t *testing.T) map[string]shell {
	sh := map[string]shell{"sh": {sh: "/bin/sh"}}
	if p, err := exec.LookPath("busybox"); err == nil {
		dir := t.TempDir()
		for _, a := range applets {
			if err := os.Symlink(p, filepath.Join(dir, a)); err != nil {
				t.Fatal(err)
			}
		}
		sh["busybox"] = shell{sh: filepath.Join(dir, "sh"), dir: dir}
	} else {
		t.Log("busybox not installed: the hook runs under /bin/sh only")
	}
	return sh
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func has(calls []string, want string) bool {
	for _, c := range calls {
		if c == want {
			return true
		}
	}
	return false
}

// TestHookWiresStock: at install and every boot after it, the hook
// routes nginx through otcompat; a second run changes nothing.
func TestHookWiresStock(t *testing.T) {
	for shName, sh := range shells(t) {
		for _, model := range []string{"ot2", "flex"} {
			t.Run(shName+"/"+model, func(t *testing.T) {
				stock := readTestdata(t, "stock-"+model+".conf")
				r := newRobot(t, sh, stock)
				if code, out, _ := r.hook(nil, "record-stock"); code != 0 {
					t.Fatalf("record-stock: %d %s", code, out)
				}
				if !bytes.Equal(r.read(StockNginx), stock) {
					t.Fatal("record-stock did not keep the stock bytes")
				}
				code, out, calls := r.hook([]string{"NGINX_ACTIVE=yes"})
				if code != 0 {
					t.Fatalf("start: %d %s", code, out)
				}
				for _, want := range []string{
					"systemctl daemon-reload",
					"systemctl start --no-block otcompat.service",
					"nginx -t -q -c " + r.path(GeneratedNginx) + ".new",
					"mount -o bind " + r.path(GeneratedNginx) + " " + r.path(NginxConf),
					"systemctl reload nginx.service",
				} {
					if !has(calls, want) {
						t.Errorf("start did not run %q; calls:\n%s", want, strings.Join(calls, "\n"))
					}
				}
				if !strings.Contains(out, "nginx routes through otcompat") {
					t.Errorf("start said %q", out)
				}
				generated := r.read(NginxConf)
				if !bytes.Equal(generated, r.read(GeneratedNginx)) {
					t.Error("/etc/nginx/nginx.conf is not the generated configuration")
				}
				if !bytes.Equal(r.read(RuntimeUnit), r.read(UnitFile)) {
					t.Error("the unit is not in /run/systemd/system")
				}
				golden(t, model+".golden", bytes.ReplaceAll(generated, []byte(r.root), nil))

				// The second run (the boot-scripts service started again,
				// or an install run after a boot) finds everything in place.
				code, out, calls = r.hook([]string{"NGINX_ACTIVE=yes"})
				if code != 0 || !strings.Contains(out, "nginx already routes through otcompat") {
					t.Fatalf("second start: %d %s", code, out)
				}
				for _, c := range calls {
					if strings.HasPrefix(c, "mount") || strings.HasPrefix(c, "umount") || c == "systemctl daemon-reload" || strings.HasPrefix(c, "systemctl reload") {
						t.Errorf("second start ran %q", c)
					}
				}
				if !has(calls, "systemctl start --no-block otcompat.service") {
					t.Error("second start did not start otcompat.service")
				}
				if !bytes.Equal(r.read(NginxConf), generated) {
					t.Error("second start changed nginx.conf")
				}
				if _, out, _ := r.hook(nil, "status"); out != "nginx: otcompat\n" {
					t.Errorf("status said %q", out)
				}

				// stop: back to stock until the next boot.
				code, out, calls = r.hook([]string{"NGINX_ACTIVE=yes"}, "stop")
				if code != 0 {
					t.Fatalf("stop: %d %s", code, out)
				}
				if !bytes.Equal(r.read(NginxConf), stock) || r.exists(Mounted) || r.exists(RuntimeUnit) {
					t.Error("stop left nginx.conf, the mount marker or the unit behind")
				}
				for _, want := range []string{"umount " + r.path(NginxConf), "systemctl reload nginx.service", "systemctl stop otcompat.service", "systemctl daemon-reload"} {
					if !has(calls, want) {
						t.Errorf("stop did not run %q; calls:\n%s", want, strings.Join(calls, "\n"))
					}
				}
				if _, out, _ := r.hook(nil, "status"); out != "nginx: stock\n" {
					t.Errorf("status after stop said %q", out)
				}
			})
		}
	}
}

// TestHookFallsBack: whenever the configuration would not fit, nginx stays
// stock, the hook says why in the journal and in boot.log, and otcompat
// still starts (it only listens on its own socket).
func TestHookFallsBack(t *testing.T) {
	stock := readTestdata(t, "stock-ot2.conf")
	for _, tt := range []struct {
		name    string
		prepare func(r *robot)
		env     []string
		want    string
	}{
		{"stock changed by an update", func(r *robot) {
			r.write(NginxConf, append(bytes.Clone(stock), "# a newer release\n"...), 0o644)
		}, nil, "/etc/nginx/nginx.conf changed since install"},
		{"no record of the stock", func(r *robot) {
			_ = os.Remove(r.path(StockNginxSum))
		}, nil, "no record of the stock nginx.conf"},
		{"record damaged", func(r *robot) {
			r.write(StockNginx, []byte("http {\n"), 0o644)
		}, nil, "does not match its recorded SHA-256"},
		{"nginx -t rejects it", nil, []string{"NGINX_FAIL=unknown directive"}, "nginx -t rejects the generated configuration: nginx: [emerg] unknown directive"},
		{"nothing to route", func(r *robot) {
			other := bytes.ReplaceAll(stock, []byte("unix:/run/aiohttp.sock"), []byte("127.0.0.1:31949"))
			r.write(NginxConf, other, 0o644)
			if code, out, _ := r.hook(nil, "record-stock"); code != 0 {
				t.Fatal(out)
			}
		}, nil, "no 'http {' line or no 'proxy_pass http://unix:/run/aiohttp.sock;'"},
	} {
		for shName, sh := range shells(t) {
			t.Run(shName+"/"+tt.name, func(t *testing.T) {
				r := newRobot(t, sh, stock)
				if code, out, _ := r.hook(nil, "record-stock"); code != 0 {
					t.Fatal(out)
				}
				if tt.prepare != nil {
					tt.prepare(r)
				}
				before := r.read(NginxConf)
				code, out, calls := r.hook(append([]string{"NGINX_ACTIVE=yes"}, tt.env...))
				if code != 0 {
					t.Errorf("start exited %d: the fallback is not an error\n%s", code, out)
				}
				if !strings.Contains(out, "nginx left stock: ") || !strings.Contains(out, tt.want) {
					t.Errorf("start said %q, want a line with %q", out, tt.want)
				}
				if log := string(r.read(BootLog)); !strings.Contains(log, tt.want) {
					t.Errorf("boot.log: %q", log)
				}
				if !bytes.Equal(r.read(NginxConf), before) || r.exists(Mounted) || r.exists(GeneratedNginx+".new") {
					t.Error("nginx.conf changed, or a mount marker or a half-made configuration is left")
				}
				for _, c := range calls {
					if strings.HasPrefix(c, "mount") || strings.HasPrefix(c, "systemctl reload") {
						t.Errorf("fallback ran %q", c)
					}
				}
				if !has(calls, "systemctl start --no-block otcompat.service") {
					t.Error("otcompat.service not started")
				}
			})
		}
	}
}

// TestHookReinstall: a new snippet from a reinstall replaces the mounted
// configuration in the same boot.
func TestHookReinstall(t *testing.T) {
	r := newRobot(t, shell{sh: "/bin/sh"}, readTestdata(t, "stock-ot2.conf"))
	r.hook(nil, "record-stock")
	if code, out, _ := r.hook(nil); code != 0 {
		t.Fatal(out)
	}
	snippet := append(r.read(Snippet), "# a newer otcompat\n"...)
	r.write(Snippet, snippet, 0o644)
	code, out, calls := r.hook(nil)
	if code != 0 || !strings.Contains(out, "nginx routes through otcompat") {
		t.Fatalf("%d %s", code, out)
	}
	if !has(calls, "umount "+r.path(NginxConf)) || !bytes.Contains(r.read(NginxConf), []byte("# a newer otcompat")) {
		t.Errorf("the new configuration is not in place; calls:\n%s", strings.Join(calls, "\n"))
	}
}

func TestHookErrors(t *testing.T) {
	r := newRobot(t, shell{sh: "/bin/sh"}, readTestdata(t, "stock-ot2.conf"))
	if code, out, _ := r.hook(nil, "restart"); code != 2 || !strings.Contains(out, "unknown command restart") {
		t.Errorf("unknown command: %d %q", code, out)
	}
	// stop on a robot where nothing was started: nothing to undo.
	if code, out, calls := r.hook(nil, "stop"); code != 0 || len(calls) != 0 {
		t.Errorf("stop with nothing started: %d %q %v", code, out, calls)
	}
	_ = os.Remove(r.path(Binary))
	if code, out, calls := r.hook(nil); code != 1 || !strings.Contains(out, "/data/otcompat/otcompat is missing") || len(calls) != 0 {
		t.Errorf("no binary: %d %q %v", code, out, calls)
	}
}

// TestFiles: every embedded file has a place on the robot, and every
// place names an embedded file.
func TestFiles(t *testing.T) {
	var embedded []string
	err := fs.WalkDir(Robot, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			embedded = append(embedded, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range Files {
		listed = append(listed, f.Name)
	}
	sort.Strings(embedded)
	sort.Strings(listed)
	if strings.Join(embedded, " ") != strings.Join(listed, " ") {
		t.Errorf("embedded %v, Files lists %v", embedded, listed)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test ./deploy -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the hook made:\n%s", p, got)
	}
}

// TestHookStopLeavesStock: start, then stop and the removal of Dir, leave
// the robot root byte for byte as it was before the install.
func TestHookStopLeavesStock(t *testing.T) {
	for shName, sh := range shells(t) {
		t.Run(shName, func(t *testing.T) {
			r := newRobot(t, sh, readTestdata(t, "stock-flex.conf"))
			if err := os.MkdirAll(r.path("/run/systemd/system"), 0o755); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, r.root, r.path(Dir))
			for _, args := range [][]string{{"record-stock"}, {"start"}, {"start"}, {"stop"}} {
				if code, out, _ := r.hook([]string{"NGINX_ACTIVE=yes"}, args...); code != 0 {
					t.Fatalf("%s: %d %s", args[0], code, out)
				}
			}
			if err := os.RemoveAll(r.path(Dir)); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, r.root, ""); after != before {
				t.Errorf("the root differs from before the install:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// snapshot lists every path under root but skip, with its mode and bytes.
func snapshot(t *testing.T, root, skip string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == skip {
			if err == nil && d.IsDir() {
				return filepath.SkipDir
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b.WriteString(rel + " " + info.Mode().String())
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(" " + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
