// Command loadgen holds many keep-alive connections open against otcompat
// (or robot-server) for a while, each sending requests back to back at mixed
// Opentrons-Version values, and reports throughput, errors by kind, latency
// percentiles and, given the proxy's PID, its goroutines and memory.
//
// Old clients (versions below --badrun-version) must never see a BadRun: any
// of their run responses with "ok": false or a "dataError" key is an error.
//
//	go run ./bench/loadgen --url http://127.0.0.1:31960 --admin http://127.0.0.1:31961 \
//	    --connections 1000 --duration 60s --pid $(pidof otcompat)
//
// scripts/soak starts the fake robot-server and the proxy and runs this.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	url           string
	admin         string
	connections   int
	duration      time.Duration
	timeout       time.Duration
	versions      []string
	mix           []weighted
	badrunVersion int
	pid           int
	settle        time.Duration
	jsonOut       string
}

type weighted struct {
	path   string
	weight int
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var c config
	var versions, mix string
	fs.StringVar(&c.url, "url", "http://127.0.0.1:31960", "base URL of the proxy (loopback only)")
	fs.StringVar(&c.admin, "admin", "http://127.0.0.1:31961", `the proxy's admin base URL, for go_goroutines from /metrics ("" to skip)`)
	fs.IntVar(&c.connections, "connections", 1000, "concurrent keep-alive connections, each sending requests back to back")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to send requests")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "longest a single request may take before it counts as an error")
	fs.StringVar(&versions, "versions", "2,3,4,5,*", "Opentrons-Version values, rotated request by request")
	fs.StringVar(&mix, "mix", "/runs:5,/runs?pageLength=3:2,/runs/{run}:2,/health:1",
		"requests as path:weight; {run} is replaced by the id of a good run")
	fs.IntVar(&c.badrunVersion, "badrun-version", 5, "clients below this version must not see BadRuns")
	fs.IntVar(&c.pid, "pid", 0, "the proxy's PID: sample its RSS from /proc/PID/status")
	fs.DurationVar(&c.settle, "settle", 100*time.Second, "after the load, how long to wait for the proxy's goroutines to return to their idle count (its idle upstream connections live 90 s)")
	fs.StringVar(&c.jsonOut, "json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := c.parse(versions, mix); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: "+err.Error())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadTest(ctx, &c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: "+err.Error())
		return 1
	}
	rep.print(os.Stdout)
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: "+err.Error())
			return 1
		}
	}
	if rep.Errors > 0 {
		return 1
	}
	return 0
}

func (c *config) parse(versions, mix string) error {
	for _, u := range []string{c.url, c.admin} {
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "http" || pu.Host == "" {
			return fmt.Errorf("%q: want http://host:port", u)
		}
		if !isLoopback(pu.Hostname()) {
			return fmt.Errorf("%q: loadgen only targets loopback addresses", u)
		}
	}
	c.url = strings.TrimSuffix(c.url, "/")
	c.admin = strings.TrimSuffix(c.admin, "/")
	if c.connections < 1 || c.duration <= 0 || c.timeout <= 0 {
		return errors.New("--connections, --duration and --timeout must be positive")
	}
	for _, v := range strings.Split(versions, ",") {
		if v = strings.TrimSpace(v); v != "" {
			c.versions = append(c.versions, v)
		}
	}
	if len(c.versions) == 0 {
		return errors.New("--versions: none given")
	}
	for _, m := range strings.Split(mix, ",") {
		i := strings.LastIndexByte(m, ':')
		w, err := strconv.Atoi(m[i+1:])
		if i < 0 || err != nil || w < 0 || !strings.HasPrefix(m, "/") {
			return fmt.Errorf("--mix %q: want /path:weight", m)
		}
		c.mix = append(c.mix, weighted{m[:i], w})
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isOld says whether a client at version v must not see BadRuns.
func (c *config) isOld(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n < c.badrunVersion
}

// stats are the outcomes of one version's requests.
type stats struct {
	requests  int64
	latencies []time.Duration
	errors    map[string]int64
}

func (s *stats) fail(kind string) {
	if s.errors == nil {
		s.errors = map[string]int64{}
	}
	s.errors[kind]++
}

// worker is one connection's request loop.
type worker struct {
	c      *config
	client *http.Client
	plan   []string // paths, each repeated by its weight
	runIDs []string
	byVer  map[string]*stats
	newBad int64 // responses in which a new client saw a BadRun (they should)
	buf    bytes.Buffer
}

func loadTest(ctx context.Context, c *config) (*report, error) {
	rep := &report{
		URL: c.url, Connections: c.connections, Duration: c.duration.String(),
		Versions: c.versions, Mix: fmt.Sprint(c.mix), PID: c.pid,
	}
	runIDs, err := goodRunIDs(ctx, c)
	if err != nil {
		return nil, err
	}
	var plan []string
	for _, m := range c.mix {
		for range m.weight {
			plan = append(plan, m.path)
		}
	}
	if len(plan) == 0 {
		return nil, errors.New("--mix: all weights are 0")
	}

	if c.admin != "" {
		if rep.GoroutinesBefore, err = goroutines(ctx, c.admin); err != nil {
			return nil, fmt.Errorf("reading go_goroutines before the load: %v", err)
		}
	}
	var mem memSampler
	if c.pid > 0 {
		if err := mem.sample(c.pid); err != nil {
			return nil, fmt.Errorf("--pid %d: %v", c.pid, err)
		}
		rep.RSSBeforeKB = mem.rssKB
	}

	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	workers := make([]*worker, c.connections)
	transports := make([]*http.Transport, c.connections)
	for i := range workers {
		// One transport per worker: each worker is one connection (redialled
		// only when the server closes it), as a real client holds one.
		tr := &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		}
		transports[i] = tr
		workers[i] = &worker{c: c, client: &http.Client{Transport: tr, Timeout: c.timeout}, plan: plan, runIDs: runIDs, byVer: map[string]*stats{}}
	}

	loadCtx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	// Sample the proxy while the load runs.
	var peakG atomic.Int64
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		n := 0
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
			}
			if c.pid > 0 {
				_ = mem.sample(c.pid)
			}
			if n++; n%4 == 0 && c.admin != "" {
				if g, err := goroutines(loadCtx, c.admin); err == nil && g > peakG.Load() {
					peakG.Store(g)
				}
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() { w.loop(loadCtx, i) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	<-samplerDone
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}

	// Merge.
	all := &stats{}
	per := map[string]*stats{}
	for _, w := range workers {
		rep.NewClientBadRunResponses += w.newBad
		for v, s := range w.byVer {
			p := per[v]
			if p == nil {
				p = &stats{}
				per[v] = p
			}
			for _, dst := range []*stats{all, p} {
				dst.requests += s.requests
				dst.latencies = append(dst.latencies, s.latencies...)
				for k, n := range s.errors {
					if dst.errors == nil {
						dst.errors = map[string]int64{}
					}
					dst.errors[k] += n
				}
			}
		}
	}
	rep.Elapsed = elapsed.Round(time.Millisecond).String()
	rep.Requests = all.requests
	rep.PerSecond = float64(all.requests) / elapsed.Seconds()
	rep.ErrorsByKind = all.errors
	for _, n := range all.errors {
		rep.Errors += n
	}
	rep.Dials = dials.Load()
	rep.Latency = summarize(all.latencies)
	for _, v := range c.versions {
		if s := per[v]; s != nil {
			var errs int64
			for _, n := range s.errors {
				errs += n
			}
			rep.PerVersion = append(rep.PerVersion, versionReport{Version: v, Requests: s.requests, Errors: errs, Latency: summarize(s.latencies)})
		}
	}

	if c.admin != "" {
		rep.GoroutinesPeak = peakG.Load()
		// Once the clients have closed their connections, the proxy's
		// goroutines for them must go. Its idle upstream connections (two
		// goroutines each) stay until its transport's idle timeout (90 s),
		// so a full return to the idle count can take that long: wait up to
		// --settle for it.
		settleStart := time.Now()
		for {
			g, err := goroutines(ctx, c.admin)
			if err != nil {
				return nil, fmt.Errorf("reading go_goroutines after the load: %v", err)
			}
			if rep.GoroutinesAfterLoad == 0 {
				rep.GoroutinesAfterLoad = g
			}
			rep.GoroutinesSettled = g
			if g <= rep.GoroutinesBefore+2 || time.Since(settleStart) > c.settle || ctx.Err() != nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		rep.SettledAfter = time.Since(settleStart).Round(100 * time.Millisecond).String()
	}
	if c.pid > 0 {
		_ = mem.sample(c.pid)
		rep.RSSAfterKB = mem.rssKB
		rep.RSSPeakKB = max(mem.peakKB, mem.hwmKB)
	}
	return rep, nil
}

// goodRunIDs asks for every run as a new client and keeps the good ones,
// for /runs/{run}; it also checks the target is up.
func goodRunIDs(ctx context.Context, c *config) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/runs", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Opentrons-Version", "*")
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s/runs: %v", c.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/runs: %s", c.url, resp.Status)
	}
	var body struct {
		Data []struct {
			ID        string          `json:"id"`
			OK        *bool           `json:"ok"`
			DataError json.RawMessage `json:"dataError"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s/runs: %v", c.url, err)
	}
	var ids []string
	for _, r := range body.Data {
		if (r.OK == nil || *r.OK) && r.DataError == nil {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("GET %s/runs: no good runs to ask for by id", c.url)
	}
	return ids, nil
}

func (w *worker) loop(ctx context.Context, i int) {
	rng := rand.New(rand.NewPCG(uint64(i), 0x6f74636f6d706174))
	for n := i; ctx.Err() == nil; n++ {
		v := w.c.versions[n%len(w.c.versions)]
		path := w.plan[rng.IntN(len(w.plan))]
		if strings.Contains(path, "{run}") {
			path = strings.ReplaceAll(path, "{run}", w.runIDs[rng.IntN(len(w.runIDs))])
		}
		w.do(ctx, v, path)
	}
}

func (w *worker) do(ctx context.Context, v, path string) {
	s := w.byVer[v]
	if s == nil {
		s = &stats{latencies: make([]time.Duration, 0, 256)}
		w.byVer[v] = s
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.c.url+path, nil)
	if err != nil {
		s.requests++
		s.fail("request: " + err.Error())
		return
	}
	req.Header.Set("Opentrons-Version", v)
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // cut off by the end of the run: not counted
		}
		s.requests++
		s.fail("transport: " + errorKind(err))
		return
	}
	w.buf.Reset()
	_, err = w.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.requests++
		s.fail("body: " + errorKind(err))
		return
	}
	s.requests++
	s.latencies = append(s.latencies, time.Since(start))
	if resp.StatusCode/100 != 2 {
		s.fail("status " + strconv.Itoa(resp.StatusCode))
		return
	}
	if strings.HasPrefix(path, "/runs") {
		bad := hasBadRun(w.buf.Bytes())
		switch {
		case bad && w.c.isOld(v):
			s.fail("old client saw a BadRun")
		case bad:
			w.newBad++
		}
	}
}

// hasBadRun reports whether a run response body has `"ok": false` or a
// "dataError" key, as text (a key's quotes are never escaped; a quote
// inside a string value is).
func hasBadRun(b []byte) bool {
	if bytes.Contains(b, []byte(`"dataError"`)) {
		return true
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(`"ok"`))
		if j < 0 {
			return false
		}
		j += i
		i = j + 4
		if j > 0 && b[j-1] == '\\' {
			continue
		}
		rest := bytes.TrimLeft(b[i:], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		if bytes.HasPrefix(bytes.TrimLeft(rest[1:], " \t\r\n"), []byte("false")) {
			return true
		}
	}
}

// errorKind names a transport error without its addresses, so the same
// failure on a thousand connections counts as one kind.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port (EADDRNOTAVAIL)"
	case errors.Is(err, syscall.EMFILE):
		return "too many open files"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed early (EOF)"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// goroutines reads go_goroutines from the admin /metrics.
func goroutines(ctx context.Context, admin string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, errors.New("no go_goroutines in /metrics")
}

// memSampler follows a process's resident memory from /proc/PID/status.
type memSampler struct {
	mu                   sync.Mutex
	rssKB, peakKB, hwmKB int64
}

func (m *memSampler) sample(pid int) error {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if k == "VmRSS" {
			m.rssKB = n
			m.peakKB = max(m.peakKB, n)
		} else {
			m.hwmKB = n
		}
	}
	return nil
}

type latency struct {
	P50  string `json:"p50"`
	P90  string `json:"p90"`
	P99  string `json:"p99"`
	P999 string `json:"p99_9"`
	Max  string `json:"max"`
}

func summarize(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	slices.Sort(d)
	q := func(p float64) string {
		i := int(p * float64(len(d)-1))
		return round(d[i]).String()
	}
	return latency{P50: q(.50), P90: q(.90), P99: q(.99), P999: q(.999), Max: round(d[len(d)-1]).String()}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

type versionReport struct {
	Version  string  `json:"version"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Latency  latency `json:"latency"`
}

type report struct {
	URL                      string           `json:"url"`
	Connections              int              `json:"connections"`
	Duration                 string           `json:"duration"`
	Elapsed                  string           `json:"elapsed"`
	Versions                 []string         `json:"versions"`
	Mix                      string           `json:"mix"`
	Requests                 int64            `json:"requests"`
	PerSecond                float64          `json:"per_second"`
	Errors                   int64            `json:"errors"`
	ErrorsByKind             map[string]int64 `json:"errors_by_kind,omitempty"`
	Dials                    int64            `json:"dials"`
	NewClientBadRunResponses int64            `json:"new_client_badrun_responses"`
	Latency                  latency          `json:"latency"`
	PerVersion               []versionReport  `json:"per_version"`
	PID                      int              `json:"pid,omitempty"`
	GoroutinesBefore         int64            `json:"goroutines_before,omitempty"`
	GoroutinesPeak           int64            `json:"goroutines_peak,omitempty"`
	GoroutinesAfterLoad      int64            `json:"goroutines_after_load,omitempty"`
	GoroutinesSettled        int64            `json:"goroutines_settled,omitempty"`
	SettledAfter             string           `json:"settled_after,omitempty"`
	RSSBeforeKB              int64            `json:"rss_before_kb,omitempty"`
	RSSPeakKB                int64            `json:"rss_peak_kb,omitempty"`
	RSSAfterKB               int64            `json:"rss_after_kb,omitempty"`
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "target       %s, %d connections, %s (ran %s)\n", r.URL, r.Connections, r.Duration, r.Elapsed)
	fmt.Fprintf(w, "mix          versions %s; paths %s\n", strings.Join(r.Versions, ","), r.Mix)
	fmt.Fprintf(w, "requests     %d (%.0f/s), connections dialled %d\n", r.Requests, r.PerSecond, r.Dials)
	fmt.Fprintf(w, "errors       %d\n", r.Errors)
	kinds := make([]string, 0, len(r.ErrorsByKind))
	for k := range r.ErrorsByKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return r.ErrorsByKind[kinds[i]] > r.ErrorsByKind[kinds[j]] })
	for _, k := range kinds {
		fmt.Fprintf(w, "  %8d  %s\n", r.ErrorsByKind[k], k)
	}
	fmt.Fprintf(w, "latency      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	for _, v := range r.PerVersion {
		fmt.Fprintf(w, "  version %-2s %9d req %6d err  p50 %-9s p99 %-9s max %s\n", v.Version, v.Requests, v.Errors, v.Latency.P50, v.Latency.P99, v.Latency.Max)
	}
	fmt.Fprintf(w, "badruns      new clients saw BadRuns in %d responses (expected > 0: the check is live)\n", r.NewClientBadRunResponses)
	if r.GoroutinesBefore > 0 {
		fmt.Fprintf(w, "goroutines   before %d, peak %d, right after the load %d, %s later %d\n",
			r.GoroutinesBefore, r.GoroutinesPeak, r.GoroutinesAfterLoad, r.SettledAfter, r.GoroutinesSettled)
	}
	if r.PID > 0 {
		fmt.Fprintf(w, "proxy RSS    before %.1f MiB, peak %.1f MiB, after %.1f MiB (pid %d)\n",
			float64(r.RSSBeforeKB)/1024, float64(r.RSSPeakKB)/1024, float64(r.RSSAfterKB)/1024, r.PID)
	}
}
