// Command apps simulates Opentrons Apps polling one robot, as the App does
// while MQTT notifications are unavailable, and reports the latency of every
// request as JSON on stdout. bench/run runs it against the upstream directly
// and through otcompat for its App-traffic rows; it runs on its own too:
//
//	go run ./bench/apps --url http://127.0.0.1:31960 --apps 20 --window 40s
//
// Each App keeps its own keep-alive connection, starts at a random offset
// within --jitter, sends every poll once at its start and then at the poll's
// period, and learns the current run from GET /runs?pageLength=0's
// links.current, as the App does: the current-run and command polls are
// skipped while it knows no current run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"otcompat/bench"
)

// UserAgent is the shape of the desktop App's User-Agent: Electron's
// renderer names the product (productName "Opentrons") and the Chrome and
// Electron versions.
const UserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) " +
	"Opentrons/8.2.0 Chrome/128.0.6613.186 Electron/32.2.6 Safari/537.36"

// A poll is one request an App repeats. needsCurrent polls name the current
// run ({run} in path) and wait until the App knows one.
type poll struct {
	name         string
	path         string
	version      string
	every        time.Duration
	needsCurrent bool
}

// appPolls are the App's polls, from the public App source. The command
// poll's query is what goes on the wire: the App passes
// {cursor: null, pageLength: 1} and axios leaves null parameters out.
func appPolls(commandsQuery string) []poll {
	return []poll{
		{name: "runs?pageLength=0", path: "/runs?pageLength=0", version: "3", every: 5 * time.Second},
		{name: "runs/{current}", path: "/runs/{run}", version: "3", every: 5 * time.Second, needsCurrent: true},
		{name: "commands", path: "/runs/{run}/commands?" + commandsQuery, version: "3", every: 3 * time.Second, needsCurrent: true},
		{name: "runs", path: "/runs", version: "3", every: 30 * time.Second},
		{name: "health", path: "/health", version: "2", every: 5 * time.Second},
	}
}

// An event is one request of one App at an offset from the start.
type event struct {
	app  int
	poll int // index into the polls
	at   time.Duration
}

// schedule lays out every request of apps Apps over window: App i starts at
// a random offset in [0, jitter) and sends poll k at start + m*every for
// every m >= 0 that falls inside the window. Events come sorted by time,
// and within one instant by App and then in the polls' order (so the
// current-run link is asked for before the current run).
func schedule(polls []poll, apps int, window, jitter time.Duration, rng *rand.Rand) []event {
	var evs []event
	for a := range apps {
		var start time.Duration
		if jitter > 0 {
			start = time.Duration(rng.Int64N(int64(jitter)))
		}
		for k, p := range polls {
			for at := start; at < window; at += p.every {
				evs = append(evs, event{app: a, poll: k, at: at})
			}
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.at != b.at {
			return a.at < b.at
		}
		if a.app != b.app {
			return a.app < b.app
		}
		return a.poll < b.poll
	})
	return evs
}

type config struct {
	url           string
	apps          int
	window        time.Duration
	jitter        time.Duration
	timeout       time.Duration
	seed          uint64
	commandsQuery string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apps", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.url, "url", "http://127.0.0.1:31960", "base URL of the robot (otcompat or robot-server), loopback only")
	fs.IntVar(&c.apps, "apps", 20, "number of simulated Apps")
	fs.DurationVar(&c.window, "window", 40*time.Second, "how long the Apps poll (at least 30s plus --jitter for the full GET /runs to come twice)")
	fs.DurationVar(&c.jitter, "jitter", 5*time.Second, "each App starts at a random offset below this")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "longest a request may take before it counts as an error")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the start offsets (the same seed gives the same schedule)")
	fs.StringVar(&c.commandsQuery, "commands-query", "pageLength=1", "query of the command poll (the App's {cursor: null, pageLength: 1} as axios sends it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := c.check(); err != nil {
		fmt.Fprintf(stderr, "apps: %v\n", err)
		return 2
	}
	rep := simulate(context.Background(), c)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintf(stderr, "apps: %v\n", err)
		return 1
	}
	return 0
}

func (c *config) check() error {
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want http://host:port", c.url)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return fmt.Errorf("--url %q: loopback only", c.url)
	}
	c.url = strings.TrimSuffix(c.url, "/")
	switch {
	case c.apps < 1:
		return fmt.Errorf("--apps %d: want at least 1", c.apps)
	case c.window <= 0:
		return fmt.Errorf("--window %s: want a positive duration", c.window)
	case c.jitter < 0:
		return fmt.Errorf("--jitter %s: want zero or more", c.jitter)
	}
	return nil
}

// app is one simulated App: its connection and what it learned.
type app struct {
	client  *http.Client
	current string // the current run's href, from links.current
}

type sample struct {
	poll   int
	status string
	lat    time.Duration
	err    error
}

func simulate(ctx context.Context, c config) bench.AppReport {
	polls := appPolls(c.commandsQuery)
	evs := schedule(polls, c.apps, c.window, c.jitter, rand.New(rand.NewPCG(c.seed, 0)))
	byApp := make([][]event, c.apps)
	for _, e := range evs {
		byApp[e.app] = append(byApp[e.app], e)
	}
	results := make([][]sample, c.apps)
	skipped := make([]int, c.apps)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range c.apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute, DisableCompression: true}
			defer tr.CloseIdleConnections()
			a := &app{client: &http.Client{Transport: tr, Timeout: c.timeout}}
			for _, e := range byApp[i] {
				if d := time.Until(start.Add(e.at)); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case <-t.C:
					}
				}
				p := polls[e.poll]
				if p.needsCurrent && a.current == "" {
					skipped[i]++
					continue
				}
				results[i] = append(results[i], a.do(ctx, c.url, e.poll, p))
			}
		}()
	}
	wg.Wait()
	return report(c, polls, len(evs), results, skipped)
}

// do sends one poll and reads the whole answer; the latency runs from
// sending the request to its body's last byte.
func (a *app) do(ctx context.Context, base string, k int, p poll) sample {
	path := p.path
	if p.needsCurrent {
		path = strings.Replace(path, "/runs/{run}", a.current, 1)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return sample{poll: k, status: "error", err: err}
	}
	req.Header.Set("Opentrons-Version", p.version)
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "application/json, text/plain, */*")
	t0 := time.Now()
	resp, err := a.client.Do(req)
	if err != nil {
		return sample{poll: k, status: "error", lat: time.Since(t0), err: err}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	lat := time.Since(t0)
	s := sample{poll: k, status: fmt.Sprint(resp.StatusCode), lat: lat, err: err}
	if err == nil && resp.StatusCode/100 != 2 {
		s.err = fmt.Errorf("%s: status %d", p.name, resp.StatusCode)
	}
	if err == nil && p.path == "/runs?pageLength=0" && resp.StatusCode == http.StatusOK {
		a.current = currentHref(body)
	}
	return s
}

// currentHref is links.current.href of a run list, or "" without one.
func currentHref(body []byte) string {
	var l struct {
		Links struct {
			Current struct {
				Href string `json:"href"`
			} `json:"current"`
		} `json:"links"`
	}
	if json.Unmarshal(body, &l) != nil || !strings.HasPrefix(l.Links.Current.Href, "/runs/") {
		return ""
	}
	return l.Links.Current.Href
}

func report(c config, polls []poll, scheduled int, results [][]sample, skipped []int) bench.AppReport {
	rep := bench.AppReport{URL: c.url, Apps: c.apps, Window: c.window.String(), Scheduled: scheduled, Statuses: map[string]map[string]int{}}
	var lats []time.Duration
	for i, rs := range results {
		rep.Skipped += skipped[i]
		for _, s := range rs {
			rep.Requests++
			name := polls[s.poll].name
			if rep.Statuses[name] == nil {
				rep.Statuses[name] = map[string]int{}
			}
			rep.Statuses[name][s.status]++
			if s.err != nil {
				rep.Errors++
				if rep.FirstErr == "" {
					rep.FirstErr = s.err.Error()
				}
				continue
			}
			lats = append(lats, s.lat)
		}
	}
	if len(lats) > 0 {
		slices.Sort(lats)
		rep.P50us = us(percentile(lats, 50))
		rep.P99us = us(percentile(lats, 99))
		rep.MaxUs = us(lats[len(lats)-1])
	}
	return rep
}

// percentile is the nearest-rank percentile of sorted (not empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
