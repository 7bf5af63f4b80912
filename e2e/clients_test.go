package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"otcompat/fixtures/recorded"
	"otcompat/internal/wait"
)

// Real-shaped User-Agents of the Opentrons App (Electron's default).
const (
	uaApp722 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/7.2.2 Chrome/120.0.6099.291 Electron/28.3.3 Safari/537.36"
	uaApp810 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/8.1.0 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36"
)

// issueRules is the configuration of the issue: the App from 7.3.0 on and
// the touchscreen see the newest version.
func issueRules(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/config/issue-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	// Written whole and renamed into place, as an editor or a deployment
	// would: a reload never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// recordedUpstream replays the real robot-server's recorded answers at
// version 3. A request whose query ends in "&hold" (or is "?hold") waits
// for release before getting the answer recorded without it.
type recordedUpstream struct {
	sc      recorded.Scenario
	h       http.Handler
	arrived chan struct{}
	release chan struct{}
}

func newRecordedUpstream(t *testing.T) *recordedUpstream {
	sc, err := recorded.LoadScenario(recordings)
	if err != nil {
		t.Fatal(err)
	}
	return &recordedUpstream{sc: sc, h: recorded.Handler(recorded.AsVersions(sc.Upstream, "3", "3")),
		arrived: make(chan struct{}, 1), release: make(chan struct{})}
}

func (u *recordedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.RawQuery; q == "hold" || strings.HasSuffix(q, "&hold") {
		u.arrived <- struct{}{}
		<-u.release
		r = r.Clone(r.Context())
		r.URL.RawQuery = strings.TrimSuffix(strings.TrimSuffix(q, "hold"), "&")
		r.RequestURI = r.URL.RequestURI()
	}
	u.h.ServeHTTP(w, r)
}

// startWithConfig writes text to a configuration file and starts otcompat
// serve in front of the recorded robot-server, with the flags or
// environment that with sets to name the file.
func startWithConfig(t *testing.T, text string, with func(pc *proxyConfig, cfg string)) (*recordedUpstream, *proc, string) {
	t.Helper()
	up := newRecordedUpstream(t)
	cfg := filepath.Join(t.TempDir(), "otcompat.yaml")
	writeConfig(t, cfg, text)
	pc := proxyConfig{upstream: startUpstream(t, up, false).flag}
	with(&pc, cfg)
	return up, startProxyWith(t, pc), cfg
}

// TestClientRulesRecorded: with the issue's two rules, in front of the real
// robot-server's recorded answers, App 8.1.0 gets the upstream's bytes and
// App 7.2.2 and a client without a User-Agent get exactly what robot-server
// answered once its BadRuns were deleted.
func TestClientRulesRecorded(t *testing.T) {
	t.Parallel()
	up, p, _ := startWithConfig(t, issueRules(t), func(pc *proxyConfig, cfg string) {
		pc.env = []string{"OTCOMPAT_CONFIG=" + cfg}
	})

	clients := []struct {
		name, ua, rule string
		filtered       bool
	}{
		{"App 8.1.0", uaApp810, "app-knows-badrun", false},
		{"App 7.2.2", uaApp722, "none", true},
		{"no User-Agent", "", "none", true},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			for _, w := range up.sc.ExpectedHide {
				if w.Version != "3" {
					continue
				}
				x := recorded.Find(up.sc.Upstream, w.Method, w.Path, "3")
				if x == nil {
					t.Fatalf("%s: not recorded upstream", w.Path)
				}
				want := *x
				if c.filtered {
					want = w
				}
				n++
				resp, body := p.get(t, x.Path, "3", "User-Agent", c.ua, "Otcompat-Explain", "1")
				if resp.StatusCode != want.Status || !bytes.Equal(body, want.Body) {
					t.Errorf("%s: %d (%d bytes), want %d (%d bytes) as %s", x.Path, resp.StatusCode, len(body), want.Status, len(want.Body), want.File)
				}
				if got := resp.Header.Get("Otcompat-Client-Rule"); got != c.rule {
					t.Errorf("%s: Otcompat-Client-Rule %q, want %q", x.Path, got, c.rule)
				}
			}
			if n != 21 {
				t.Errorf("checked %d recorded requests, want 21", n)
			}
		})
	}
	// The rule label counts each App 8.1.0 request; the others count as none.
	if got := p.metric(t, "otcompat_requests_total", `rule="app-knows-badrun"`); got != 21 {
		t.Errorf("requests with rule app-knows-badrun: %v, want 21", got)
	}
	if got := p.metric(t, "otcompat_requests_total", `rule="none"`); got != 42 {
		t.Errorf("requests with rule none: %v, want 42", got)
	}
	// A request without a valid Opentrons-Version stays robot-server's,
	// whatever the rules: the replay has nothing recorded without one.
	resp, _ := p.get(t, "/runs", "", "User-Agent", uaApp810, "Otcompat-Explain", "1")
	if resp.StatusCode != 599 || resp.Header.Get("Otcompat-Client-Rule") != "none" {
		t.Errorf("no version: %d, rule %q; want the upstream's own answer", resp.StatusCode, resp.Header.Get("Otcompat-Client-Rule"))
	}
}

// TestClientRulesThroughNginxAddress: the touchscreen's requests come
// through nginx on the robot, which forwards its loopback address; a
// lab client's do not match.
func TestClientRulesThroughNginxAddress(t *testing.T) {
	t.Parallel()
	_, p, _ := startWithConfig(t, issueRules(t), func(pc *proxyConfig, cfg string) {
		pc.unixListen, pc.args = true, []string{"--config", cfg, "--log-level", "info"}
	})
	for _, tc := range []struct{ xff, rule string }{
		{"127.0.0.1", "touchscreen"},
		{"192.168.1.20", "none"},
		{"127.0.0.1, 192.168.1.20", "none"}, // a lab client claiming to be local
	} {
		resp, _ := p.get(t, "/runs", "3", "X-Forwarded-For", tc.xff, "User-Agent", uaApp722, "Otcompat-Explain", "1")
		if got := resp.Header.Get("Otcompat-Client-Rule"); got != tc.rule {
			t.Errorf("X-Forwarded-For %s: rule %q, want %q", tc.xff, got, tc.rule)
		}
	}
	// The access log names the rule of each request.
	wait.For(t, "the access log", func() bool {
		log := p.stderr.String()
		return strings.Count(log, "msg=request") == 3 && strings.Count(log, " rule=touchscreen ") == 1 &&
			strings.Count(log, " rule=none ") == 2
	})
}

// TestConfigReloadSignal: SIGHUP after editing the file changes the
// answer; a broken edit is refused and changes nothing; a request in flight
// finishes under the configuration it started with.
func TestConfigReloadSignal(t *testing.T) {
	t.Parallel()
	up, p, cfg := startWithConfig(t, "badrun-policy: hide\n", func(pc *proxyConfig, cfg string) {
		pc.args = []string{"--config", cfg}
	})
	upRuns := recorded.Find(up.sc.Upstream, "GET", "/runs", "3")
	hideRuns := recorded.Find(up.sc.ExpectedHide, "GET", "/runs", "3")
	runs := func() []byte {
		_, body := p.get(t, "/runs", "3", "User-Agent", uaApp810)
		return body
	}
	reloads := func(result string) float64 {
		return p.metric(t, "otcompat_config_reloads_total", `result="`+result+`"`)
	}
	if !bytes.Equal(runs(), hideRuns.Body) {
		t.Fatal("without rules App 8.1.0 should get the filtered list")
	}

	// Good edit.
	writeConfig(t, cfg, issueRules(t))
	p.signal(syscall.SIGHUP)
	wait.For(t, "the reload", func() bool { return reloads("ok") == 1 })
	if !bytes.Equal(runs(), upRuns.Body) {
		t.Error("after the reload App 8.1.0 should get the upstream's list")
	}

	// Broken edit: refused, the rules stay.
	writeConfig(t, cfg, issueRules(t)+"  - name: Broken\n    remote: [10.0.0.0/33]\n    serve: newest\n")
	p.signal(syscall.SIGHUP)
	wait.For(t, "the refusal", func() bool { return reloads("error") == 1 })
	if !bytes.Equal(runs(), upRuns.Body) {
		t.Error("a broken file changed the answer")
	}
	wait.For(t, "the refusal in the log", func() bool {
		return strings.Contains(p.stderr.String(), "configuration reload refused") &&
			strings.Contains(p.stderr.String(), `otcompat.yaml:9:11: name \"Broken\"`)
	})

	// A long request keeps the configuration it started with.
	var wg sync.WaitGroup
	var slowBody []byte
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, slowBody = p.get(t, "/runs?hold", "3", "User-Agent", uaApp810)
	}()
	<-up.arrived
	writeConfig(t, cfg, "badrun-policy: hide\n")
	p.signal(syscall.SIGHUP)
	wait.For(t, "the second reload", func() bool { return reloads("ok") == 2 })
	if !bytes.Equal(runs(), hideRuns.Body) {
		t.Error("after removing the rules App 8.1.0 should get the filtered list")
	}
	close(up.release)
	wg.Wait()
	if !bytes.Equal(slowBody, upRuns.Body) {
		t.Errorf("the request in flight got %d bytes, want the upstream's %d (the rules it started under)", len(slowBody), len(upRuns.Body))
	}
}

// TestConfigFileErrors: serve refuses a bad file naming its place;
// config check lists every problem with exit status 2.
func TestConfigFileErrors(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "otcompat.yaml")
	writeConfig(t, cfg, "upstream: http://127.0.0.1:9\nlisten-address: x\nbadrun-policy: forget\n")
	code, _, stderr := qaRun(t, "config", "check", cfg)
	want := cfg + ":2:1: unknown key \"listen-address\"; allowed: "
	if code != 2 || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, cfg+":3:16: badrun-policy: unknown BadRun policy \"forget\"") {
		t.Errorf("config check: %d\n%s", code, stderr)
	}
	code, _, stderr = qaRun(t, "serve", "--config", cfg)
	if code != 2 || !strings.HasPrefix(stderr, "otcompat: "+want) {
		t.Errorf("serve: %d\n%s", code, stderr)
	}
	code, stdout, stderr := qaRun(t, "config", "example")
	writeConfig(t, cfg, stdout)
	if code2, out, stderr2 := qaRun(t, "config", "check", cfg); code != 0 || code2 != 0 || !strings.Contains(out, "name: app-knows-badrun") {
		t.Errorf("config example | config check: %d %d\n%s%s", code, code2, stderr, stderr2)
	}
}

// TestDemoConfig: demo takes --config too, and its rules apply to the
// built-in run store; compare --clients shows each client as a column.
func TestDemoConfig(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "otcompat.yaml")
	writeConfig(t, cfg, issueRules(t))
	demo := qaStart(t, "demo", "--config", cfg, "--admin-listen", "", "--log-level", "warn")
	seesBad := func(ua string) bool {
		resp, body := doRequest(t, demo.client, http.MethodGet, "http://otcompat/runs", "3", nil, "User-Agent", ua)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		return bytes.Contains(body, []byte(`"dataError"`))
	}
	if !seesBad(uaApp810) || seesBad(uaApp722) || seesBad("") {
		t.Errorf("App 8.1.0 should see BadRuns, App 7.2.2 and no User-Agent not")
	}
	clients := filepath.Join(t.TempDir(), "clients.yaml")
	writeConfig(t, clients, "- {name: app-7.2.2, userAgent: '"+uaApp722+"', version: 3}\n- {name: app-8.1.0, userAgent: '"+uaApp810+"', version: 3}\n")
	code, out, stderr := qaRun(t, "compare", "--target", demo.flag(), "--versions", "3", "--clients", clients, "--fail-on-diff", "app-7.2.2,app-8.1.0")
	if code != 1 || !strings.Contains(out, "app-8.1.0  200     -                  5       app-knows-badrun") ||
		!strings.Contains(out, "app-7.2.2  200     -                  3       none") {
		t.Errorf("compare --clients: exit %d\n%s\n%s", code, out, stderr)
	}
}
