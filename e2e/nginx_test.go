package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"otcompat/fixtures"
)

// The robot-side files as shipped, and the stock nginx.conf files of the
// robot images (see deploy/testdata/README.md).
const (
	deployRobot = "../deploy/robot"
	deployStubs = "../deploy/testdata/robot-stubs"
	deployStock = "../deploy/testdata"
)

// nginxRobot is a robot root in a temporary directory with otcompat
// installed the way deploy/README.md says, the hook run, and the real nginx
// serving the result.
type nginxRobot struct {
	root     string
	base     string // http://127.0.0.1:port, nginx's server
	client   *http.Client
	proxy    *proc
	up       *upstream
	store    *fixtures.Store
	uploads  atomic.Int64 // POST /protocols the upstream received
	polls    atomic.Int64 // long polls the upstream received
	polled   chan struct{}
	nginx    *exec.Cmd
	nginxLog *tailBuffer
}

// longPollPath waits pollWait upstream before answering, as robot-server's
// waitUntilComplete does.
const (
	longPollPath = "/runs/x/commands"
	pollWait     = 2 * time.Second
)

func startNginxRobot(t *testing.T, model string) *nginxRobot {
	t.Helper()
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		if nginxBin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed (.ci/run installs Debian's nginx)")
		}
	}
	r := &nginxRobot{root: shortTempDir(t), store: fixtures.Default(), polled: make(chan struct{}, 8), nginxLog: &tailBuffer{max: 64 << 10}}
	state := shortTempDir(t)
	for _, d := range []string{"/etc/nginx", "/run/otcompat", "/data/otcompat", "/data/boot.d"} {
		if err := os.MkdirAll(filepath.Join(r.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"mounts", "nginx"} {
		if err := os.MkdirAll(filepath.Join(state, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// robot-server: the fixture run store on a Unix socket, plus a long poll
	// and counters that show how often each request arrived.
	fx := fixtures.NewServer(r.store)
	r.up = startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.URL.Path == "/protocols" && req.Method == http.MethodPost:
			r.uploads.Add(1)
		case req.URL.Path == longPollPath:
			r.polls.Add(1)
			r.polled <- struct{}{}
			select {
			case <-time.After(pollWait):
			case <-req.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"data": {"id": "c", "status": "succeeded"}}`)
			return
		}
		fx.ServeHTTP(w, req)
	}), true)
	link(t, strings.TrimPrefix(r.up.flag, "unix:"), filepath.Join(r.root, "/run/aiohttp.sock"))

	// otcompat, on its own socket where the unit would put it.
	r.proxy = startProxyWith(t, proxyConfig{upstream: r.up.flag, unixListen: true})
	link(t, r.proxy.addr, filepath.Join(r.root, "/run/otcompat/otcompat.sock"))

	// The stock locations that are not robot-server's answer as themselves.
	stub := func(name string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			_, _ = fmt.Fprintf(w, "%s %s X-Host-IP=%s", name, req.URL.Path, req.Header.Get("X-Host-IP"))
		}))
		t.Cleanup(s.Close)
		return strings.TrimPrefix(s.URL, "http://")
	}

	// The stock nginx.conf, templated to this test's paths and ports.
	stock, err := os.ReadFile(filepath.Join(deployStock, "stock-"+model+".conf"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	r.base = "http://" + addr
	temp := filepath.Join(state, "nginx")
	conf := strings.NewReplacer(
		"listen [::]:31950;", "",
		"listen 0.0.0.0:31950;", "listen "+addr+";",
		"127.0.0.1:34000", stub("update-server"),
		"127.0.0.1:32950", stub("system-server"),
		"/data/", filepath.Join(r.root, "data")+"/",
		"syslog:server=unix:/dev/log", filepath.Join(r.root, "data/nginx-access.log"),
		// Debian's nginx has temporary directories under /var/lib/nginx.
		"http {", "http {\n    client_body_temp_path "+temp+"/body;\n    proxy_temp_path "+temp+"/proxy;\n"+
			"    fastcgi_temp_path "+temp+"/fastcgi;\n    uwsgi_temp_path "+temp+"/uwsgi;\n    scgi_temp_path "+temp+"/scgi;\n",
	).Replace(string(stock))
	writeFile(t, filepath.Join(r.root, "/etc/nginx/nginx.conf"), conf, 0o644)

	// The install: files in place, the stock recorded, the hook run.
	for name, to := range map[string]string{
		"otcompat-boot":       "/data/otcompat/otcompat-boot",
		"otcompat.service":    "/data/otcompat/otcompat.service",
		"otcompat.env":        "/data/otcompat/otcompat.env",
		"nginx-upstream.conf": "/data/otcompat/nginx-upstream.conf",
		"boot.d/otcompat":     "/data/boot.d/otcompat",
	} {
		b, err := os.ReadFile(filepath.Join(deployRobot, name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(r.root, to), string(b), 0o755)
	}
	link(t, binary, filepath.Join(r.root, "/data/otcompat/otcompat"))
	stubs, err := filepath.Abs(deployStubs)
	if err != nil {
		t.Fatal(err)
	}
	hook := func(arg string) string {
		cmd := exec.Command("/bin/sh", filepath.Join(r.root, "/data/otcompat/otcompat-boot"), arg)
		cmd.Env = append(cleanEnv(), "ROOT="+r.root, "PATH="+stubs+":"+os.Getenv("PATH"),
			"CALLS="+filepath.Join(state, "calls"), "MOUNTS="+filepath.Join(state, "mounts"),
			"NGINX_BIN="+nginxBin, "NGINX_PREFIX="+temp)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("otcompat-boot %s: %v\n%s", arg, err, out)
		}
		return string(out)
	}
	hook("record-stock")
	if out := hook("start"); !strings.Contains(out, "nginx routes through otcompat") {
		t.Fatalf("otcompat-boot start did not wire nginx:\n%s", out)
	}

	// The real nginx on what the hook mounted, unprivileged paths only.
	r.nginx = exec.Command(nginxBin, "-p", temp+"/", "-e", temp+"/error.log",
		"-c", filepath.Join(r.root, "/etc/nginx/nginx.conf"), "-g", "daemon off; pid "+temp+"/nginx.pid;")
	r.nginx.Stdout, r.nginx.Stderr = r.nginxLog, r.nginxLog
	if err := r.nginx.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = r.nginx.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = r.nginx.Process.Signal(syscall.SIGTERM) // fast shutdown, workers included
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = r.nginx.Process.Kill()
			<-done
		}
		if t.Failed() {
			errLog, _ := os.ReadFile(temp + "/error.log")
			t.Logf("nginx output:\n%s\nerror.log:\n%s\naccess log:\n%s", r.nginxLog, errLog, r.accessLog(t))
		}
	})
	r.client = newClient(t, "tcp", addr)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			t.Fatalf("nginx exited:\n%s", r.nginxLog)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen within 10s:\n%s", r.nginxLog)
		}
	}
	return r
}

func link(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

func (r *nginxRobot) do(t *testing.T, method, path, version string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return doRequest(t, r.client, method, r.base+path, version, body, hdr...)
}

func (r *nginxRobot) accessLog(t *testing.T) string {
	b, _ := os.ReadFile(filepath.Join(r.root, "data/nginx-access.log"))
	return string(b)
}

// upload sends a 2 MB protocol file as robot clients do (multipart) and
// checks that robot-server received every byte, once.
func (r *nginxRobot) upload(t *testing.T) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("files", "protocol.py")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(bytes.Repeat([]byte("# a long protocol\n"), 2<<20/18+1))
	_ = mw.Close()
	before := r.uploads.Load()
	resp, got := r.do(t, http.MethodPost, "/protocols", "3", bytes.NewReader(body.Bytes()), "Content-Type", mw.FormDataContentType())
	if resp.StatusCode != http.StatusCreated || !bytes.Contains(got, fmt.Appendf(nil, `"receivedBytes": %d`, body.Len())) {
		t.Errorf("2 MB upload: %d %s", resp.StatusCode, got)
	}
	if n := r.uploads.Load() - before; n != 1 {
		t.Errorf("robot-server received the upload %d times", n)
	}
}

// longPoll waits for a waitUntilComplete command through nginx.
func (r *nginxRobot) longPoll(t *testing.T) {
	t.Helper()
	start := time.Now()
	resp, body := r.do(t, http.MethodPost, longPollPath+"?waitUntilComplete=true&timeout=3600000", "3",
		strings.NewReader(`{"data": {"commandType": "home", "params": {}}}`), "Content-Type", "application/json")
	r.seePoll(t)
	if resp.StatusCode != http.StatusCreated || string(body) != `{"data": {"id": "c", "status": "succeeded"}}` {
		t.Errorf("long poll: %d %s", resp.StatusCode, body)
	}
	if el := time.Since(start); el < pollWait {
		t.Errorf("long poll answered after %v, before robot-server's %v", el, pollWait)
	}
}

// seePoll takes the note of a long poll robot-server received.
func (r *nginxRobot) seePoll(t *testing.T) {
	t.Helper()
	select {
	case <-r.polled:
	case <-time.After(testTimeout):
		t.Fatal("robot-server did not receive the long poll")
	}
}

func otcompatHeaders(h http.Header) []string {
	var names []string
	for k := range h {
		if strings.HasPrefix(k, "Otcompat-") {
			names = append(names, k)
		}
	}
	return names
}

// TestNginxFailOpen runs the shipped robot configuration in the real nginx,
// wired into each robot's stock nginx.conf by the boot hook, in front of
// otcompat and a fixture robot-server on Unix sockets.
func TestNginxFailOpen(t *testing.T) {
	t.Parallel()
	for _, model := range []string{"ot2", "flex"} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			r := startNginxRobot(t, model)
			bad := r.store.BadIDs()
			_, direct3 := r.up.get(t, "/runs", "3")
			_, directAll := r.up.get(t, "/runs", "*")
			if !bytes.Contains(direct3, []byte(bad[0])) {
				t.Fatal("the fixture robot-server lists no BadRun")
			}

			t.Run("through otcompat", func(t *testing.T) {
				resp, body := r.do(t, http.MethodGet, "/runs", "3", nil, "Otcompat-Explain", "1")
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Otcompat-Served-Version") != "3" {
					t.Fatalf("old client: %d, Otcompat-Served-Version %q", resp.StatusCode, resp.Header.Get("Otcompat-Served-Version"))
				}
				for _, id := range bad {
					if bytes.Contains(body, []byte(id)) {
						t.Errorf("old client sees BadRun %s", id)
					}
				}
				if _, body := r.do(t, http.MethodGet, "/runs", "*", nil); !bytes.Equal(body, directAll) {
					t.Error("new client: not robot-server's bytes")
				}
				if model == "flex" {
					// Robot-server's /system/time goes through otcompat too.
					resp, _ := r.do(t, http.MethodGet, "/system/time", "3", nil, "Otcompat-Explain", "1")
					if resp.Header.Get("Otcompat-Served-Version") == "" {
						t.Error("/system/time did not go through otcompat")
					}
				}
				r.upload(t)
				r.longPoll(t)
				if log := r.accessLog(t); !strings.Contains(log, `"GET /runs HTTP/1.1" 200`) ||
					!strings.Contains(log, "upstream=unix:"+filepath.Join(r.root, "/run/otcompat/otcompat.sock")+" ") {
					t.Errorf("the access log does not name otcompat as the upstream:\n%s", log)
				}
			})

			t.Run("stock locations untouched", func(t *testing.T) {
				paths := map[string]string{"/server/update/health": "update-server /server/update/health X-Host-IP=127.0.0.1"}
				if model == "flex" {
					paths["/system/connected"] = "system-server /system/connected X-Host-IP="
				}
				for path, want := range paths {
					resp, body := r.do(t, http.MethodGet, path, "3", nil, "Otcompat-Explain", "1")
					if resp.StatusCode != http.StatusOK || string(body) != want || len(otcompatHeaders(resp.Header)) > 0 {
						t.Errorf("%s: %d %q %v, want %q from the stub alone", path, resp.StatusCode, body, otcompatHeaders(resp.Header), want)
					}
				}
			})

			// A POST otcompat already took is not sent again when otcompat
			// dies under it: the client gets nginx's 502, robot-server saw
			// it once.
			t.Run("in-flight POST not retried", func(t *testing.T) {
				before := r.polls.Load()
				type result struct {
					status int
					err    error
				}
				res := make(chan result, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
					defer cancel()
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+longPollPath+"?waitUntilComplete=true",
						strings.NewReader(`{"data": {"commandType": "home", "params": {}}}`))
					req.Header.Set("Opentrons-Version", "3")
					resp, err := r.client.Do(req)
					if err != nil {
						res <- result{err: err}
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					res <- result{status: resp.StatusCode}
				}()
				r.seePoll(t)
				r.proxy.signal(syscall.SIGKILL)
				r.proxy.wait(10 * time.Second)
				got := <-res
				if got.err != nil || got.status != http.StatusBadGateway {
					t.Errorf("POST cut in otcompat: %d %v, want nginx's 502", got.status, got.err)
				}
				select {
				case <-r.polled:
					t.Error("nginx sent the POST to robot-server again")
				case <-time.After(200 * time.Millisecond):
				}
				if n := r.polls.Load() - before; n != 1 {
					t.Errorf("robot-server received the POST %d times", n)
				}
			})
			if r.proxy.cmd.ProcessState == nil {
				t.Fatal("otcompat still runs")
			}

			t.Run("otcompat stopped", func(t *testing.T) {
				for _, v := range []struct{ version, want string }{{"3", string(direct3)}, {"*", string(directAll)}} {
					resp, body := r.do(t, http.MethodGet, "/runs", v.version, nil, "Otcompat-Explain", "1")
					if resp.StatusCode != http.StatusOK || string(body) != v.want {
						t.Errorf("version %s: %d, want robot-server's own 200 and bytes", v.version, resp.StatusCode)
					}
					if h := otcompatHeaders(resp.Header); len(h) > 0 {
						t.Errorf("version %s: %v on a request that bypassed otcompat", v.version, h)
					}
				}
				r.upload(t)
				r.longPoll(t)
				lines := strings.Split(strings.TrimSpace(r.accessLog(t)), "\n")
				backup := "unix:" + filepath.Join(r.root, "/run/aiohttp.sock") + " "
				if !slices.ContainsFunc(lines, func(l string) bool {
					return strings.Contains(l, `"GET /runs HTTP/1.1" 200`) && strings.Contains(l, backup)
				}) {
					t.Errorf("no access log line shows the backup answering:\n%s", strings.Join(lines, "\n"))
				}
			})
		})
	}
}
