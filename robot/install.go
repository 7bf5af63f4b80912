package robot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"otcompat/deploy"
)

// Options are what every robot command needs besides the target.
type Options struct {
	Target
	// API is the robot's HTTP API as the robot itself reaches it (nginx),
	// host:port; Admin is otcompat's admin listener there.
	API, Admin string
	// Out receives one line per step.
	Out io.Writer
}

func (o Options) say(format string, args ...any) {
	if o.Out != nil {
		fmt.Fprintf(o.Out, format+"\n", args...)
	}
}

// Robot addresses as the robot itself sees them: nginx's port (the App's)
// and otcompat's admin listener (the unit's --admin-listen).
const (
	DefaultAPI   = "127.0.0.1:31950"
	DefaultAdmin = deploy.AdminAddr
)

// InstallOptions add what install sends.
type InstallOptions struct {
	Options
	// Self is this program's binary, sent when it fits the robot.
	Self string
	// Dist is a directory of scripts/dist's binaries, for other robots.
	Dist string
	// Config is an otcompat configuration file to install (optional).
	Config string
	// CheckWait bounds how long install waits for otcompat to answer and
	// for nginx to route through it; zero means checkWait.
	CheckWait time.Duration
}

// ConfigFile is where install puts --config on the robot, and EnvFile's
// OTCOMPAT_CONFIG line that points otcompat at it.
const ConfigFile = deploy.Dir + "/otcompat.yaml"

// createdRecord lists, one a line, the directories outside deploy.Dir that
// install created, so that uninstall removes exactly those.
const createdRecord = deploy.Dir + "/created-dirs"

// checkWait bounds how long install waits for otcompat to answer after the
// hook started it (systemd starts it without blocking).
const checkWait = 20 * time.Second

// Install puts otcompat on the robot: the binary for its architecture,
// verified there by SHA-256, the persistent layout of package deploy, then
// the boot hook run once as at boot, then checks that otcompat answers and
// that nginx routes through it. When a step fails after the robot was
// changed, everything is taken off again (as by Uninstall) and the error
// says so.
func Install(ctx context.Context, o InstallOptions) error {
	c, err := Dial(ctx, o.Target)
	if err != nil {
		return err
	}
	defer c.Close()
	facts, err := c.probe(ctx)
	if err != nil {
		return fmt.Errorf("%s: %v", o.Host, err)
	}
	bin, err := o.binaryFor(facts.Arch)
	if err != nil {
		return err
	}
	sum, size, err := fileSHA256(bin)
	if err != nil {
		return err
	}
	if err := checkSpace(facts.DataFreeBytes, size); err != nil {
		return fmt.Errorf("%s: %v", o.Host, err)
	}
	var config []byte
	if o.Config != "" {
		if config, err = os.ReadFile(o.Config); err != nil {
			return fmt.Errorf("--config: %v", err)
		}
	}
	o.say("robot %s: %s, %s free on /data; sending %s (%s)", o.Host, facts.Arch.Machine, mib(facts.DataFreeBytes), bin, mib(size))

	if facts.Installed {
		o.say("replacing the otcompat installed on %s", o.Host)
		if err := c.uninstall(ctx, o.Options); err != nil {
			return fmt.Errorf("removing the installed otcompat first: %v", err)
		}
		// What exists changed: the boot-scripts directory may be gone.
		if facts, err = c.probe(ctx); err != nil {
			return fmt.Errorf("%s: %v", o.Host, err)
		}
	}
	if err := c.install(ctx, o, facts, bin, sum, config); err != nil {
		// The rollback runs even when ctx was cancelled (Ctrl-C).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if rerr := c.uninstall(rctx, o.Options); rerr != nil {
			return fmt.Errorf("install failed: %v; rolling back failed too: %v", err, rerr)
		}
		return fmt.Errorf("install failed, the robot is back as it was: %v", err)
	}
	return nil
}

// install does Install's steps that change the robot.
func (c *Conn) install(ctx context.Context, o InstallOptions, facts Facts, bin, sum string, config []byte) error {
	// Uninstall removes the boot-scripts directory only if install made it.
	bootDir := facts.BootDir
	record := ""
	for _, d := range facts.Missing {
		record += d + "\n"
	}
	if _, err := c.run(ctx, "mkdir -p "+quote(c.path(deploy.Dir))+" "+quote(c.path(bootDir))+" && cat > "+quote(c.path(createdRecord)), strings.NewReader(record)); err != nil {
		return err
	}

	// The binary goes in under another name until its SHA-256 is checked.
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	tmp := c.path(deploy.Binary + ".new")
	err = c.put(ctx, tmp, f, 0o755)
	f.Close()
	if err != nil {
		return err
	}
	out, err := c.run(ctx, "sha256sum "+quote(tmp), nil)
	if err != nil {
		return err
	}
	if got, _, _ := strings.Cut(strings.TrimSpace(string(out)), " "); got != sum {
		return fmt.Errorf("the binary's SHA-256 on the robot is %q, not %s as sent: the copy is damaged", got, sum)
	}
	if _, err := c.run(ctx, "mv -f "+quote(tmp)+" "+quote(c.path(deploy.Binary)), nil); err != nil {
		return err
	}
	o.say("sent the binary, SHA-256 %s checked on the robot", sum)

	for _, df := range deploy.Files {
		b, err := fs.ReadFile(deploy.Robot, df.Name)
		if err != nil {
			return err
		}
		p := df.Path
		if !path.IsAbs(p) {
			p = path.Join(bootDir, p)
		}
		if p == deploy.EnvFile && config != nil {
			b = append(bytes.TrimRight(b, "\n"), []byte("\n# Written by otcompat robot install --config.\nOTCOMPAT_CONFIG="+ConfigFile+"\n")...)
		}
		if err := c.put(ctx, c.path(p), bytes.NewReader(b), fs.FileMode(df.Mode)); err != nil {
			return err
		}
	}
	if config != nil {
		if err := c.put(ctx, c.path(ConfigFile), bytes.NewReader(config), 0o644); err != nil {
			return err
		}
	}
	o.say("placed the layout under %s and the boot entry %s", deploy.Dir, path.Join(bootDir, deploy.BootEntry))

	if err := c.hook(ctx, o.Options, "record-stock"); err != nil {
		return err
	}
	if err := c.hook(ctx, o.Options, "start"); err != nil {
		return err
	}
	// The hook leaves nginx stock, and says why, when it cannot wire it.
	if out, err := c.run(ctx, c.hookCmd("status"), nil); err != nil {
		return fmt.Errorf("boot hook status: %v", err)
	} else if s := strings.TrimSpace(string(out)); s != "nginx: otcompat" {
		return fmt.Errorf("the boot hook left nginx stock (%s): see its line above", s)
	}
	if out, err := c.run(ctx, quote(c.path(deploy.Binary))+" version", nil); err != nil {
		return fmt.Errorf("the installed binary does not run: %v", err)
	} else {
		o.say("installed %s", strings.TrimSpace(string(out)))
	}
	wait := o.CheckWait
	if wait <= 0 {
		wait = checkWait
	}
	if err := retry(ctx, wait, func() error { _, err := c.healthcheck(ctx, o.Admin, "/healthz"); return err }); err != nil {
		return err
	}
	o.say("otcompat healthcheck: healthy")
	var r route
	if err := retry(ctx, wait, func() error {
		var err error
		if r, err = c.route(ctx, o.API); err == nil && !r.throughOtcompat {
			err = fmt.Errorf("nginx on the robot's %s does not route through otcompat: GET /health answered %s without Otcompat-* headers", o.API, r.status)
		}
		return err
	}); err != nil {
		return err
	}
	o.say("nginx routes through otcompat: GET /health as version 2 answered %s, served version %s", r.status, r.served)
	return nil
}

// hook runs the boot hook with one of its commands, its output as steps.
func (c *Conn) hook(ctx context.Context, o Options, cmd string) error {
	out, err := c.run(ctx, c.hookCmd(cmd), nil)
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			o.say("robot: %s", l)
		}
	}
	if err != nil {
		return fmt.Errorf("boot hook %s: %v", cmd, err)
	}
	return nil
}

// hookCmd is the shell command that runs the boot hook's cmd, with the
// root the hook puts in front of its paths.
func (c *Conn) hookCmd(cmd string) string {
	return "ROOT=" + quote(c.t.Root) + " /bin/sh " + quote(c.path(deploy.Hook)) + " " + cmd
}

// exists says whether the robot path p (under the root) exists.
func (c *Conn) exists(ctx context.Context, p string) (bool, error) {
	_, err := c.run(ctx, "test -e "+quote(c.path(p)), nil)
	var re *remoteError
	if errors.As(err, &re) && re.status == 1 {
		return false, nil
	}
	return err == nil, err
}

// healthcheck runs the robot's otcompat healthcheck against the admin
// listener's path and returns its line.
func (c *Conn) healthcheck(ctx context.Context, admin, p string) (string, error) {
	out, err := c.run(ctx, quote(c.path(deploy.Binary))+" healthcheck --timeout 3s --url "+quote("http://"+admin+p), nil)
	if err != nil {
		var re *remoteError
		if errors.As(err, &re) && re.stderr != "" {
			return "", errors.New(re.stderr)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// route is what a request through the robot's nginx showed.
type route struct {
	status          string
	served          string
	throughOtcompat bool
}

// route asks the robot's API (nginx) for /health as an old client asking
// otcompat to explain itself: otcompat's answer carries
// Otcompat-Served-Version, robot-server's own does not.
func (c *Conn) route(ctx context.Context, api string) (route, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dialRobot(ctx, api) }, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+"/health", nil)
	if err != nil {
		return route{}, err
	}
	req.Header.Set("Opentrons-Version", "2")
	req.Header.Set("Otcompat-Explain", "1")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return route{}, fmt.Errorf("GET /health through the robot's nginx (%s): %v", api, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	served := resp.Header.Get("Otcompat-Served-Version")
	return route{status: resp.Status, served: served, throughOtcompat: served != ""}, nil
}

// retry calls f until it succeeds or wait has passed, and returns its last
// error.
func retry(ctx context.Context, wait time.Duration, f func() error) error {
	deadline := time.Now().Add(wait)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// binaryFor is the otcompat binary to send to a robot of architecture a:
// this program when it was built for it, else the one scripts/dist made
// for it in --dist (checked against dist's SHA256SUMS when there is one).
func (o InstallOptions) binaryFor(a Arch) (string, error) {
	self := selfArch()
	if o.Self != "" && self == a.GOARCH+"/"+a.GOARM {
		return o.Self, nil
	}
	if o.Dist == "" {
		return "", fmt.Errorf("the robot is %s and this otcompat is built for %s/%s: give --dist DIR holding %s (scripts/dist builds it)", a.Machine, runtime.GOOS, runtime.GOARCH, a.DistName)
	}
	p := filepath.Join(o.Dist, a.DistName)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the robot is %s: --dist %s has no %s (scripts/dist builds it): %v", a.Machine, o.Dist, a.DistName, err)
	}
	sums, err := os.ReadFile(filepath.Join(o.Dist, "SHA256SUMS"))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return "", fmt.Errorf("--dist: %v", err)
	}
	want, ok := sumOf(string(sums), a.DistName)
	if !ok {
		return "", fmt.Errorf("--dist %s: SHA256SUMS has no line for %s", o.Dist, a.DistName)
	}
	got, _, err := fileSHA256(p)
	if err != nil {
		return "", err
	}
	if got != want {
		return "", fmt.Errorf("--dist %s: %s has SHA-256 %s, SHA256SUMS says %s", o.Dist, a.DistName, got, want)
	}
	return p, nil
}

// sumOf finds name's hash in sha256sum's output ("HASH  NAME" lines, a
// "*" before NAME in binary mode).
func sumOf(sums, name string) (string, bool) {
	for _, l := range strings.Split(sums, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && strings.TrimPrefix(f[1], "*") == name {
			return f[0], true
		}
	}
	return "", false
}

// selfArch is this program's GOARCH/GOARM, as "arm/7" or "amd64/"; a
// program not built for Linux fits no robot.
func selfArch() string {
	if runtime.GOOS != "linux" {
		return runtime.GOOS + "/"
	}
	goarm := ""
	if runtime.GOARCH == "arm" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "GOARM" {
					goarm, _, _ = strings.Cut(s.Value, ",")
				}
			}
		}
	}
	return runtime.GOARCH + "/" + goarm
}

// fileSHA256 is a file's SHA-256 in hex, and its size.
func fileSHA256(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %v", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
