package main

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"otcompat/bench"
)

const testNjsModule = "/usr/lib/nginx/modules/ngx_http_js_module.so"

// listUpstream serves the 57 KB benchmark list at /runs as bench/upstream
// does.
func listUpstream(t *testing.T) (addr string, body []byte) {
	body = bench.List57k.ListBody()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/runs" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), body
}

func fetch(t *testing.T, url, client string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Opentrons-Version", client)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s (version %s): %d, %v: %.200s", url, client, resp.StatusCode, err, b)
	}
	return b
}

func testDriver(t *testing.T) *driver {
	d := &driver{cfg: config{work: t.TempDir(), nginxConf: "../nginx.conf", njsDir: "../njs", nginxWorkers: "1", nginxBuffering: "off", njsModule: testNjsModule}}
	t.Cleanup(d.cleanup)
	return d
}

// TestPeers starts each peer the driver configures (Debian's nginx, its njs
// module and Caddy) in front of a test upstream and checks what a client
// gets through it: the pass-through peers the upstream's bytes, nginx+njs
// a filtered list for an old client and the bytes for a new one.
func TestPeers(t *testing.T) {
	tests := []struct {
		name   string
		needs  []string // binaries or files; the test skips without them
		start  func(d *driver, upstream string) (string, *proc, error)
		filter bool
	}{
		{"nginx", []string{"nginx"}, func(d *driver, up string) (string, *proc, error) { return d.startNginx(false, up, 0) }, false},
		{"nginx+njs", []string{"nginx", testNjsModule}, func(d *driver, up string) (string, *proc, error) { return d.startNginx(true, up, 1) }, true},
		{"caddy", []string{"caddy"}, func(d *driver, up string) (string, *proc, error) { return d.startCaddy(up, 2) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range tt.needs {
				if _, err := os.Stat(n); err != nil {
					if _, err := exec.LookPath(n); err != nil {
						t.Skipf("%s is not installed (Debian: nginx, libnginx-mod-http-js, caddy)", n)
					}
				}
			}
			up, raw := listUpstream(t)
			d := testDriver(t)
			addr, _, err := tt.start(d, up)
			if err != nil {
				t.Fatal(err)
			}
			if err := waitListening(addr); err != nil {
				logs, _ := exec.Command("sh", "-c", "cat "+d.cfg.work+"/*.stderr").CombinedOutput()
				t.Fatalf("%v: %s", err, logs)
			}
			url := "http://" + addr + "/runs"
			if got := fetch(t, url, "*"); !bytes.Equal(got, raw) {
				t.Errorf("a new client got %d bytes, not the upstream's %d", len(got), len(raw))
			}
			got := fetch(t, url, "3")
			if !tt.filter {
				if !bytes.Equal(got, raw) {
					t.Errorf("an old client got %d bytes through a pass-through peer, not the upstream's %d", len(got), len(raw))
				}
				return
			}
			s := bench.List57k
			if err := checkFiltered(got, listBody(&s, up, 1)); err != nil {
				t.Errorf("the filter's list: %v", err)
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkGolden compares got with testdata/name; go test -update rewrites
// the file first.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", golden, got)
	}
}

// TestCaddyfile compares the generated Caddyfile with testdata/Caddyfile
// and has Caddy adapt it.
func TestCaddyfile(t *testing.T) {
	got := caddyfile("127.0.0.1:8080", "127.0.0.1:9090")
	checkGolden(t, "Caddyfile", got)
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skip("caddy is not installed (Debian: caddy)")
	}
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("caddy", "adapt", "--config", path, "--adapter", "caddyfile").CombinedOutput(); err != nil {
		t.Errorf("caddy adapt: %v: %s", err, out)
	}
}

func TestParseCounts(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1,20,200", []int{1, 20, 200}, false},
		{" 5 , 7 ", []int{5, 7}, false},
		{"", nil, false},
		{"1,,2", []int{1, 2}, false},
		{"0", nil, true},
		{"-3", nil, true},
		{"ten", nil, true},
	}
	for _, tt := range tests {
		got, err := parseCounts(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseCounts(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func rowAt(rps float64, rssMB int64) *row {
	return &row{ran: true, res: result{rps: []float64{rps}, peakRSS: rssMB << 20}}
}

func TestRatioGoal(t *testing.T) {
	tests := []struct {
		name     string
		r, ref   *row
		want     float64
		rssMax   float64
		met, has bool
	}{
		{"above", rowAt(600, 20), rowAt(100, 10), 5, 0, true, true},
		{"exactly", rowAt(500, 20), rowAt(100, 10), 5, 0, true, true},
		{"below", rowAt(499, 20), rowAt(100, 10), 5, 0, false, true},
		{"fast but too big", rowAt(100, 33), rowAt(100, 10), 0.85, 32, false, true},
		{"fast and small", rowAt(100, 32), rowAt(100, 10), 0.85, 32, true, true},
		{"no reference", rowAt(100, 10), nil, 1, 0, false, false},
	}
	for _, tt := range tests {
		g, ok := ratioGoal(tt.name, tt.r, tt.ref, tt.want, tt.rssMax)
		if ok != tt.has || g.met != tt.met {
			t.Errorf("%s: ratioGoal = %+v, %v; want met %v, present %v", tt.name, g, ok, tt.met, tt.has)
		}
	}
}

func TestReBench(t *testing.T) {
	line := "BenchmarkBadRunList57k-2        	    8000	    149475 ns/op	 378.12 MB/s	      1399 cpu-MB/s	     40395 cpu-ns/op	    2600 B/op	      11 allocs/op\n"
	m := reBench.FindStringSubmatch(line)
	if m == nil || m[1] != "378.12" || m[2] != "1399" || m[3] != "11" {
		t.Errorf("reBench on %q = %q", line, m)
	}
	if reBench.MatchString("BenchmarkBadRunList3_5M-2 200 3835904 ns/op 912.73 MB/s 1311 cpu-MB/s 1 allocs/op") {
		t.Error("reBench matched the 3.5M benchmark")
	}
}
