// Command driver runs the load benchmark that bench/run starts: it starts the
// benchmark upstreams, then for each row a fresh proxy (nginx, Caddy,
// nginx+njs, the naive filter or otcompat), checks its answer byte for byte
// or field by field, warms it up, times it with wrk several times, reads its
// CPU time and peak RSS from /proc, and prints one table with every ratio to
// nginx and to the naive filter from the same run. Then it runs the BadRun
// benchmark in process and the App-traffic rows (simulated Apps against the
// upstream directly and through otcompat), and prints the targets table.
// Every table is markdown.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"otcompat/bench"
)

type config struct {
	bin, work, nginxConf, njsDir   string
	njsModule                      string
	inprocTest                     string
	apps                           []int
	appWindow, appJitter           time.Duration
	appProxies                     []string
	commandsQuery                  string
	duration, warmup               time.Duration
	repeat, connsSmall, connsLarge int
	pinWrk, pinProxy, pinUpstream  string
	nginxWorkers, nginxBuffering   string
	rows                           *regexp.Regexp
	targets                        string
	nice                           int
	otcompatB                      string
}

func main() {
	var c config
	var rows string
	flag.StringVar(&c.bin, "bin", "", "folder with the built otcompat, upstream and naive binaries")
	flag.StringVar(&c.work, "work", "", "folder for logs, configs and results")
	flag.StringVar(&c.nginxConf, "nginx-conf", "bench/nginx.conf", "nginx config template")
	flag.StringVar(&c.njsDir, "njs-dir", "bench/njs", "nginx+njs: the config pieces (main.conf, http.conf, server.conf) for -nginx-conf's include points, and badrun.js")
	flag.StringVar(&c.njsModule, "njs-module", "/usr/lib/nginx/modules/ngx_http_js_module.so", "nginx's njs module (Debian package libnginx-mod-http-js)")
	flag.StringVar(&c.inprocTest, "inproc-test", "", `the compiled bench package tests (go test -c ./bench), for the in-process BadRun row ("" to skip)`)
	var apps string
	flag.StringVar(&apps, "apps", "1,20,200", `App-traffic rows: numbers of simulated Apps ("" to skip)`)
	var appProxies string
	flag.StringVar(&appProxies, "app-proxies", "otcompat,caddy,nginx", "proxies each App-traffic row runs through, after the upstream directly (otcompat, caddy, nginx)")
	flag.DurationVar(&c.appWindow, "app-window", 40*time.Second, "how long each App-traffic row polls, directly and through each proxy (30s + jitter at least, for the full GET /runs to come twice)")
	flag.DurationVar(&c.appJitter, "app-jitter", 5*time.Second, "App start times are spread over this")
	flag.StringVar(&c.commandsQuery, "commands-query", "pageLength=1", "query of the Apps' command poll (see bench/apps)")
	flag.IntVar(&c.nice, "nice", 0, "run the upstreams, proxies and wrk under nice -n this (e.g. -10 on a machine others are loading; needs root)")
	flag.DurationVar(&c.duration, "duration", 8*time.Second, "length of each timed wrk run")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "length of the untimed wrk run before each row")
	flag.IntVar(&c.repeat, "repeat", 3, "timed wrk runs per row (the table shows the median)")
	flag.IntVar(&c.connsSmall, "conns-small", 16, "wrk connections for the 57 KB list")
	flag.IntVar(&c.connsLarge, "conns-large", 8, "wrk connections for the 3.5 MB list and the 5 MB body")
	flag.StringVar(&c.pinWrk, "pin-wrk", "", "taskset CPU list for wrk (empty: not pinned)")
	flag.StringVar(&c.pinProxy, "pin-proxy", "", "taskset CPU list for the proxy under test (empty: not pinned)")
	flag.StringVar(&c.pinUpstream, "pin-upstream", "", "taskset CPU list for the upstreams (empty: not pinned)")
	flag.StringVar(&c.nginxWorkers, "nginx-workers", "auto", "nginx worker_processes")
	flag.StringVar(&c.nginxBuffering, "nginx-buffering", "off", "nginx proxy_buffering (on or off)")
	flag.StringVar(&rows, "rows", "", "only rows whose label matches this regexp (references are always run)")
	flag.StringVar(&c.targets, "targets", "upstream,nginx,caddy,njs,naive,otcompat", "targets to run (add otcompat-warn for otcompat at --log-level warn, otcompat-b to A/B -otcompat-b against otcompat)")
	flag.StringVar(&c.otcompatB, "otcompat-b", "", "a second otcompat binary, run as target otcompat-b (log info) to A/B a change in the same run")
	flag.Parse()
	if c.bin == "" || c.work == "" {
		fatalf("driver: -bin and -work are required")
	}
	if rows != "" {
		re, err := regexp.Compile(rows)
		if err != nil {
			fatalf("driver: -rows: %v", err)
		}
		c.rows = re
	}
	var err error
	if c.apps, err = parseCounts(apps); err != nil {
		fatalf("driver: -apps: %v", err)
	}
	for t := range strings.SplitSeq(appProxies, ",") {
		switch t = strings.TrimSpace(t); {
		case t == "":
		case slices.Contains(appProxyTargets, t):
			c.appProxies = append(c.appProxies, t)
		default:
			fatalf("driver: -app-proxies: unknown proxy %q (want one of %s)", t, strings.Join(appProxyTargets, ", "))
		}
	}
	d := &driver{cfg: c}
	// On a signal, stop every process of the benchmark before leaving.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() { <-sigs; d.cleanup(); os.Exit(130) }()
	err = d.run()
	d.cleanup()
	if err != nil {
		fatalf("bench: %v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

// bodySpec is one upstream body the rows are measured on.
type bodySpec struct {
	name     string
	path     string
	conns    int
	upstream string // address of the upstream serving it
	raw      []byte // the upstream's bytes
	list     *bench.Scenario
	filtered []byte   // what otcompat must send an old client (lists only)
	goodIDs  []string // the runs an old client must see (lists only)
	current  string   // the upstream's current run
	curBad   bool
}

// row is one line of the table.
type row struct {
	body    *bodySpec
	target  string // upstream, nginx, caddy, njs, naive, otcompat, otcompat-warn, otcompat-b
	client  string // Opentrons-Version sent
	filter  bool   // an old client on a list: the body must come back filtered
	res     result
	ran     bool
	proc    *proc
	pids    []int
	url     string
	logFile string
}

func (r *row) label() string {
	return fmt.Sprintf("%s %s %s", r.body.name, r.clientLabel(), r.target)
}

func (r *row) clientLabel() string {
	switch {
	case isReference(r.target):
		return "pass"
	case r.filter:
		return "old/filtered"
	case r.client == "*":
		return "new/pass"
	}
	return "old/pass"
}

type result struct {
	rps        []float64
	p50, p99   time.Duration
	requests   int64
	cpu        time.Duration
	peakRSS    int64 // bytes
	errors     string
	medianRun  int
	logBytes   int64 // the access log's size, over logLines lines
	logLines   int64
	checkNotes string
	load       float64 // highest 1-minute load average seen at a timed run's start
}

func (r result) medianRPS() float64 { return r.rps[r.medianRun] }

type proc struct {
	name string
	cmd  *exec.Cmd
}

type driver struct {
	cfg     config
	procs   []*proc
	bodies  []*bodySpec
	rows    []*row
	start   time.Time
	inproc  inprocResult
	appRows []*appRow
}

func (d *driver) run() error {
	d.start = time.Now()
	c := d.cfg
	if err := os.MkdirAll(c.work, 0o755); err != nil {
		return err
	}
	fmt.Printf("bench: %d cores, wrk -t1, %s warm-up + %d x %s per row, %d/%d connections (small/large bodies), pinning wrk=%q proxy=%q upstream=%q, nice %d\n",
		numCPU(), c.warmup, c.repeat, c.duration, c.connsSmall, c.connsLarge, c.pinWrk, c.pinProxy, c.pinUpstream, c.nice)
	if err := d.runInproc(); err != nil {
		return err
	}

	// Two upstreams, one per list; both serve the 5 MB body.
	addr57, err := d.startUpstream(bench.List57k)
	if err != nil {
		return err
	}
	addr3m, err := d.startUpstream(bench.List3_5M)
	if err != nil {
		return err
	}
	s57, s3m := bench.List57k, bench.List3_5M
	d.bodies = []*bodySpec{
		listBody(&s57, addr57, c.connsSmall),
		listBody(&s3m, addr3m, c.connsLarge),
		{name: "5M", path: bench.BigPath, conns: c.connsLarge, upstream: addr57, raw: bench.BigBody(bench.BigBytes)},
	}
	targets := strings.Split(c.targets, ",")
	for _, b := range d.bodies {
		for _, t := range targets {
			switch {
			case isReference(t):
				d.rows = append(d.rows, &row{body: b, target: t, client: "*"})
			case t == "njs":
				if b.list != nil {
					d.rows = append(d.rows, &row{body: b, target: t, client: "3", filter: true})
				}
			case b.list != nil:
				d.rows = append(d.rows, &row{body: b, target: t, client: "3", filter: true})
				if b.name == "57k" {
					d.rows = append(d.rows, &row{body: b, target: t, client: "*"})
				}
			default:
				d.rows = append(d.rows, &row{body: b, target: t, client: "3"})
			}
		}
	}
	for _, b := range d.bodies {
		var group []*row
		for _, r := range d.rows {
			if r.body == b && (c.rows == nil || c.rows.MatchString(r.label()) || isPeer(r.target)) {
				group = append(group, r)
			}
		}
		if len(group) == 0 {
			continue
		}
		if err := d.measureGroup(group); err != nil {
			return err
		}
	}
	if err := d.runApps(); err != nil {
		return err
	}
	table := d.table() + d.appTable() + d.targetTable()
	fmt.Println()
	fmt.Print(table)
	fmt.Printf("\nwhole run: %s\n", time.Since(d.start).Round(time.Second))
	return os.WriteFile(filepath.Join(c.work, "results.md"), []byte(table), 0o644)
}

func listBody(s *bench.Scenario, addr string, conns int) *bodySpec {
	st := s.Store()
	cur := st.CurrentID()
	return &bodySpec{name: s.Name, path: "/runs", conns: conns, upstream: addr, raw: s.ListBody(), list: s,
		filtered: s.FilteredBody(), goodIDs: s.GoodIDs(), current: cur, curBad: slices.Contains(st.BadIDs(), cur)}
}

func (d *driver) startUpstream(s bench.Scenario) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	_, err = d.startProc("upstream-"+s.Name, d.cfg.pinUpstream, filepath.Join(d.cfg.bin, "upstream"),
		"--listen", addr, "--list", s.Name)
	if err != nil {
		return "", err
	}
	return addr, waitListening(addr)
}

// setup starts a row's proxy (a fresh process) and checks its answer.
func (d *driver) setup(r *row, i int) error {
	b := r.body
	addr := b.upstream
	if r.target == "upstream" {
		for _, p := range d.procs {
			if p.name == "upstream-"+b.name || (b.list == nil && p.name == "upstream-57k") {
				r.pids = []int{p.cmd.Process.Pid}
			}
		}
	} else {
		var err error
		if addr, r.proc, r.pids, err = d.startProxy(r.target, i, b.upstream); err != nil {
			return err
		}
		if strings.HasPrefix(r.target, "otcompat") {
			r.logFile = filepath.Join(d.cfg.work, r.proc.name+".stderr")
		}
	}
	r.url = "http://" + addr + b.path
	note, err := d.check(r, r.url)
	if err != nil {
		return fmt.Errorf("wrong answer, not timed: %w", err)
	}
	r.res.checkNotes = note
	for _, pid := range r.pids {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) // reset VmHWM
	}
	return nil
}

// startProxy starts target, the i-th proxy of the run, a fresh process in
// front of upstream, and waits until it listens. It returns its address,
// its process and the pids whose CPU and memory count (nginx: master and
// workers).
func (d *driver) startProxy(target string, i int, upstream string) (string, *proc, []int, error) {
	var addr string
	var pr *proc
	var err error
	switch target {
	case "nginx":
		addr, pr, err = d.startNginx(false, upstream, i)
	case "njs":
		addr, pr, err = d.startNginx(true, upstream, i)
	case "caddy":
		addr, pr, err = d.startCaddy(upstream, i)
	case "naive":
		addr, err = freeAddr()
		if err == nil {
			pr, err = d.startProc(fmt.Sprintf("naive-%d", i), d.cfg.pinProxy, filepath.Join(d.cfg.bin, "naive"),
				"--listen", addr, "--upstream", "http://"+upstream)
		}
	case "otcompat", "otcompat-warn", "otcompat-b":
		addr, pr, err = d.startOtcompat(target, fmt.Sprintf("otcompat-%d", i), upstream)
	default:
		return "", nil, nil, fmt.Errorf("unknown target %q", target)
	}
	if err != nil {
		return "", nil, nil, err
	}
	if err := waitListening(addr); err != nil {
		d.stopProc(pr)
		return "", nil, nil, fmt.Errorf("%v (its output: %s)", err, filepath.Join(d.cfg.work, pr.name+".stderr"))
	}
	return addr, pr, append([]int{pr.cmd.Process.Pid}, childrenOf(pr.cmd.Process.Pid)...), nil
}

// measureGroup measures the rows of one body: each gets a fresh process and
// a correctness check, then warm-ups and timed runs go round-robin over the
// rows (in a rotating order), so that load from elsewhere on the machine
// falls on every row alike and the ratios stay fair.
func (d *driver) measureGroup(group []*row) error {
	c := d.cfg
	defer func() {
		for _, r := range group {
			if r.proc != nil {
				d.stopProc(r.proc)
			}
		}
	}()
	for _, r := range group {
		fmt.Printf("[%3.0fs] start and check: %s\n", time.Since(d.start).Seconds(), r.label())
		if err := d.setup(r, slices.Index(d.rows, r)); err != nil {
			return fmt.Errorf("%s: %w", r.label(), err)
		}
	}
	var runs = make([][]wrkResult, len(group))
	for round := -1; round < c.repeat; round++ {
		for k := range group {
			i := (k + max(round, 0)) % len(group)
			r := group[i]
			if round < 0 {
				if _, err := d.wrk(r.url, r, c.warmup, true); err != nil {
					return fmt.Errorf("%s: warm-up: %w", r.label(), err)
				}
				continue
			}
			load := loadAvg()
			cpu0 := cpuTime(r.pids)
			w, err := d.wrk(r.url, r, c.duration, false)
			if err != nil {
				return fmt.Errorf("%s: %w", r.label(), err)
			}
			r.res.cpu += cpuTime(r.pids) - cpu0
			w.load = load
			runs[i] = append(runs[i], w)
			fmt.Printf("[%3.0fs] %-32s run %d: %6.0f req/s (load avg %.1f)\n", time.Since(d.start).Seconds(), r.label(), round+1, w.rps, load)
		}
	}
	for i, r := range group {
		r.res.peakRSS = peakRSS(r.pids)
		for _, w := range runs[i] {
			r.res.rps = append(r.res.rps, w.rps)
			r.res.requests += w.requests
			r.res.load = max(r.res.load, w.load)
			if w.errors != "" {
				r.res.errors = w.errors
			}
		}
		order := make([]int, len(runs[i]))
		for k := range order {
			order[k] = k
		}
		sort.Slice(order, func(a, b int) bool { return runs[i][order[a]].rps < runs[i][order[b]].rps })
		m := order[len(order)/2]
		r.res.medianRun = m
		r.res.p50, r.res.p99 = runs[i][m].p50, runs[i][m].p99
		if r.logFile != "" {
			if b, err := os.ReadFile(r.logFile); err == nil {
				if lines := bytes.Count(b, []byte("\n")); lines > 0 {
					r.res.logBytes, r.res.logLines = int64(len(b)), int64(lines)
				}
			}
		}
		r.ran = true
		fmt.Printf("        %-32s %s\n", r.label(), r.summary())
	}
	return nil
}

// loadAvg is the 1-minute load average: above the core count, something
// else on the machine competed with the benchmark.
func loadAvg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// check fetches the row's URL once and proves the answer right.
func (d *driver) check(r *row, url string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Opentrons-Version", r.client)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	b := r.body
	if !r.filter {
		if !bytes.Equal(got, b.raw) {
			return "", fmt.Errorf("pass-through body differs from the upstream's (%d bytes, want %d)", len(got), len(b.raw))
		}
		return "bytes identical", nil
	}
	if err := checkFiltered(got, b); err != nil {
		return "", err
	}
	if bytes.Equal(got, b.filtered) {
		return "valid, no bad run, counts right, byte-identical to the list without bad runs", nil
	}
	if strings.HasPrefix(r.target, "otcompat") {
		return "", errors.New("filtered list is not byte for byte the upstream's list without its bad runs")
	}
	return "valid, no bad run, counts right (re-encoded)", nil
}

// checkFiltered proves a filtered list valid, free of bad runs, with the
// right runs in order, a recounted totalLength and a consistent current link.
func checkFiltered(got []byte, b *bodySpec) error {
	var l struct {
		Data  []map[string]json.RawMessage `json:"data"`
		Links map[string]json.RawMessage   `json:"links"`
		Meta  struct {
			TotalLength *int `json:"totalLength"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(got, &l); err != nil {
		return fmt.Errorf("filtered list is not valid JSON: %v", err)
	}
	var ids []string
	for _, run := range l.Data {
		if _, bad := run["dataError"]; bad || string(run["ok"]) == "false" {
			return errors.New("a bad run is left in the filtered list")
		}
		var id string
		_ = json.Unmarshal(run["id"], &id)
		ids = append(ids, id)
	}
	if !slices.Equal(ids, b.goodIDs) {
		return fmt.Errorf("filtered list has %d runs, want the %d good ones in order", len(ids), len(b.goodIDs))
	}
	if l.Meta.TotalLength == nil || *l.Meta.TotalLength != len(ids) {
		return fmt.Errorf("meta.totalLength is not %d", len(ids))
	}
	var cur struct {
		Href string `json:"href"`
	}
	raw, has := l.Links["current"]
	switch {
	case b.curBad && has:
		return errors.New("links.current still names the bad current run")
	case !b.curBad && !has:
		return errors.New("links.current was dropped though the current run is good")
	case has:
		if err := json.Unmarshal(raw, &cur); err != nil || cur.Href != "/runs/"+b.current {
			return fmt.Errorf("links.current is %s", raw)
		}
	}
	return nil
}

type wrkResult struct {
	rps      float64
	requests int64
	p50, p99 time.Duration
	errors   string
	load     float64
}

var (
	reLatency  = regexp.MustCompile(`^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$`)
	reRequests = regexp.MustCompile(`^\s*(\d+) requests in`)
	reRPS      = regexp.MustCompile(`^Requests/sec:\s+([\d.]+)`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSockErr  = regexp.MustCompile(`Socket errors: (.*)`)
)

func (d *driver) wrk(url string, r *row, dur time.Duration, warmup bool) (wrkResult, error) {
	args := []string{"-t1", "-c" + strconv.Itoa(r.body.conns), "-d" + strconv.Itoa(int(dur.Seconds())) + "s",
		"--timeout", "10s", "--latency", "-H", "Opentrons-Version: " + r.client, url}
	name, args := d.withPin(d.cfg.pinWrk, "wrk", args)
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	var w wrkResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := reLatency.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			unit := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9}[m[3]]
			lat := time.Duration(v * unit)
			if m[1] == "50" {
				w.p50 = lat
			} else {
				w.p99 = lat
			}
		}
		if m := reRequests.FindStringSubmatch(line); m != nil {
			w.requests, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if m := reRPS.FindStringSubmatch(line); m != nil {
			w.rps, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := reNon2xx.FindStringSubmatch(line); m != nil {
			w.errors = "non-2xx: " + m[1]
		}
		if m := reSockErr.FindStringSubmatch(line); m != nil {
			w.errors = strings.TrimSpace(w.errors + " socket errors: " + m[1])
		}
	}
	if !warmup && (w.rps == 0 || w.requests == 0) {
		return w, fmt.Errorf("wrk measured nothing: no request finished in %s (a longer BENCH_DURATION gives slow rows time):\n%s", dur, out)
	}
	return w, nil
}

func (d *driver) withPin(cpus, name string, args []string) (string, []string) {
	if cpus != "" {
		name, args = "taskset", append([]string{"-c", cpus, name}, args...)
	}
	if d.cfg.nice != 0 {
		name, args = "nice", append([]string{"-n", strconv.Itoa(d.cfg.nice), name}, args...)
	}
	return name, args
}

// startOtcompat starts the otcompat of target (otcompat, otcompat-warn or
// otcompat-b) in front of upstream and returns its address.
func (d *driver) startOtcompat(target, name, upstream string) (string, *proc, error) {
	c := d.cfg
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	args := []string{"serve", "--upstream", "http://" + upstream, "--listen", addr, "--admin-listen", ""}
	if target == "otcompat-warn" {
		args = append(args, "--log-level", "warn")
	}
	bin := filepath.Join(c.bin, "otcompat")
	if target == "otcompat-b" {
		if c.otcompatB == "" {
			return "", nil, errors.New("target otcompat-b needs -otcompat-b")
		}
		bin = c.otcompatB
	}
	pr, err := d.startProc(name, c.pinProxy, bin, args...)
	return addr, pr, err
}

func (d *driver) startProc(name, pin, path string, args ...string) (*proc, error) {
	return d.startProcEnv(name, pin, nil, path, args...)
}

// startProcEnv starts a process of the benchmark in its own process group,
// its output to name.stderr in the work folder, with env added to the
// driver's environment.
func (d *driver) startProcEnv(name, pin string, env []string, path string, args ...string) (*proc, error) {
	bin, args := d.withPin(pin, path, args)
	cmd := exec.Command(bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	logf, err := os.Create(filepath.Join(d.cfg.work, name+".stderr"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %v", name, err)
	}
	logf.Close()
	p := &proc{name: name, cmd: cmd}
	d.procs = append(d.procs, p)
	return p, nil
}

func (d *driver) stopProc(p *proc) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (d *driver) cleanup() {
	for _, p := range d.procs {
		d.stopProc(p)
	}
}

// startNginx starts nginx in front of upstream: the pass-through of
// -nginx-conf, or with njs that config with -njs-dir's pieces included.
func (d *driver) startNginx(njs bool, upstream string, i int) (string, *proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("nginx-%d", i)
	prefix := filepath.Join(d.cfg.work, name)
	confPath, err := d.cfg.writeNginxConf(prefix, upstream, addr, njs)
	if err != nil {
		return "", nil, err
	}
	p, err := d.startProc(name, d.cfg.pinProxy, "nginx", "-p", prefix, "-c", confPath, "-e", filepath.Join(prefix, "error.log"))
	return addr, p, err
}

// nginxParts are the include points of the nginx config: a folder each in
// the prefix, which nginx+njs fills from the same-named piece in -njs-dir.
var nginxParts = []string{"main", "http", "server"}

// writeNginxConf fills in -nginx-conf (and with njs the pieces of -njs-dir)
// for an nginx in prefix that listens on addr and proxies to upstream, and
// returns the config's path.
func (c config) writeNginxConf(prefix, upstream, addr string, njs bool) (string, error) {
	njsDir, err := filepath.Abs(c.njsDir)
	if err != nil {
		return "", err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must write the temp folders under the work folder
	}
	fill := strings.NewReplacer("@USER@", user, "@WORKERS@", c.nginxWorkers, "@PREFIX@", prefix,
		"@UPSTREAM@", upstream, "@LISTEN@", addr, "@BUFFERING@", c.nginxBuffering,
		"@NJSDIR@", njsDir, "@NJSMODULE@", c.njsModule)
	write := func(from, to string) error {
		tmpl, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		return os.WriteFile(to, []byte(fill.Replace(string(tmpl))), 0o644)
	}
	dirs := []string{"logs"}
	for _, part := range nginxParts {
		dirs = append(dirs, part+".d")
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(filepath.Join(prefix, dir), 0o777); err != nil {
			return "", err
		}
	}
	if njs {
		for _, part := range nginxParts {
			if err := write(filepath.Join(c.njsDir, part+".conf"), filepath.Join(prefix, part+".d", "njs.conf")); err != nil {
				return "", err
			}
		}
	}
	confPath := filepath.Join(prefix, "nginx.conf")
	return confPath, write(c.nginxConf, confPath)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			time.Sleep(100 * time.Millisecond) // nginx: let the workers start
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after 15s", addr)
}

// childrenOf lists the direct children of pid (nginx's workers).
func childrenOf(pid int) []int {
	var kids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(n); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, n)
		}
	}
	return kids
}

// statFields returns /proc/pid/stat's fields after the command name, so
// f[0] is the state (field 3) and f[11], f[12] are utime and stime.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

const clockTicks = 100 // USER_HZ on Linux

func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// peakRSS sums VmHWM over pids (nginx: master and workers).
func peakRSS(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return bytes.Count(b, []byte("\nprocessor")) + bytes.Count(b[:min(len(b), 9)], []byte("processor"))
}

func (r *row) summary() string {
	res := r.res
	parts := make([]string, len(res.rps))
	for i, v := range res.rps {
		parts[i] = strconv.FormatFloat(v, 'f', 0, 64)
	}
	s := fmt.Sprintf("req/s %s | p50 %s p99 %s | CPU %.0f µs/req | peak RSS %.1f MB | %s",
		strings.Join(parts, " "), fmtDur(res.p50), fmtDur(res.p99), cpuPerReq(res), mb(res.peakRSS), res.checkNotes)
	if res.errors != "" {
		s += " | wrk: " + res.errors
	}
	return s
}

func cpuPerReq(res result) float64 {
	return float64(res.cpu.Microseconds()) / float64(res.requests)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f µs", float64(d)/1e3)
}

func (d *driver) find(body *bodySpec, target, client string) *row {
	for _, r := range d.rows {
		if r.ran && r.body == body && r.target == target && (client == "" || r.client == client) {
			return r
		}
	}
	return nil
}

func ratio(a, b *row) string {
	if a == nil || b == nil {
		return "–"
	}
	return fmt.Sprintf("%.2fx", a.res.medianRPS()/b.res.medianRPS())
}

func (d *driver) table() string {
	var sb strings.Builder
	c := d.cfg
	fmt.Fprintf(&sb, "%d cores; wrk -t1, %s warm-up then %d x %s per row, rows of a body interleaved round-robin (median shown, spread = (max-min)/median, load = highest 1-min load average at a run's start); every proxy row a fresh process.\n\n",
		numCPU(), c.warmup, c.repeat, c.duration)
	sb.WriteString("| body | client | target | conns | req/s | spread | p50 | p99 | CPU µs/req | peak RSS | x nginx | x naive | load |\n")
	sb.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range d.rows {
		if !r.ran {
			continue
		}
		res := r.res
		lo, hi := slices.Min(res.rps), slices.Max(res.rps)
		nginx := d.find(r.body, "nginx", "")
		naiveClient := r.client
		if isReference(r.target) {
			naiveClient = "*"
			if r.body.list == nil {
				naiveClient = "3"
			}
		}
		naive := d.find(r.body, "naive", naiveClient)
		target := r.target
		switch target {
		case "otcompat":
			target = "otcompat (log info)"
		case "otcompat-warn":
			target = "otcompat (log warn)"
		case "otcompat-b":
			target = "otcompat-b (log info)"
		case "upstream":
			target = "upstream direct"
		case "naive":
			target = "naive Go filter"
		case "caddy":
			target = "Caddy"
		case "njs":
			target = "nginx+njs filter"
		}
		cpu := fmt.Sprintf("%.0f", cpuPerReq(res))
		if res.errors != "" {
			cpu += " (wrk: " + res.errors + ")"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %d | %.0f | %.0f%% | %s | %s | %s | %.1f MB | %s | %s | %.1f |\n",
			r.body.name, r.clientLabel(), target, r.body.conns, res.medianRPS(), 100*(hi-lo)/res.medianRPS(),
			fmtDur(res.p50), fmtDur(res.p99), cpu, mb(res.peakRSS), ratio(r, nginx), ratio(r, naive), res.load)
	}
	for _, r := range d.rows {
		if r.ran && r.target == "otcompat" && r.res.logBytes > 0 {
			fmt.Fprintf(&sb, "\nAccess log at info (%s %s): %d lines, %.0f bytes a line.", r.body.name, r.clientLabel(), r.res.logLines, float64(r.res.logBytes)/float64(r.res.logLines))
		}
	}
	sb.WriteString("\n")
	return sb.String()
}
