package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"otcompat/bench"
)

// appRow is one App-traffic row: N simulated Apps for the same window
// against the upstream directly, then through each proxy of -app-proxies,
// each a fresh process.
type appRow struct {
	apps   int
	direct bench.AppReport
	via    []*appRun
}

// appRun is one proxy's run of an App-traffic row.
type appRun struct {
	target    string
	rep       bench.AppReport
	cpu, wall time.Duration // the proxy's user+system time over the simulation, and the simulation's length
	peakRSS   int64         // the proxy's VmHWM over its life
}

// share is the proxy's CPU time as a share of one core.
func (a *appRun) share() float64 { return a.cpu.Seconds() / a.wall.Seconds() }

// run is target's run of the row, or nil.
func (r *appRow) run(target string) *appRun {
	for _, a := range r.via {
		if a.target == target {
			return a
		}
	}
	return nil
}

func parseCounts(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want a comma-separated list of positive integers", s)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// runApps runs the App-traffic rows on their own upstream (the app list,
// whose current run is good), each proxy a fresh process.
func (d *driver) runApps() error {
	c := d.cfg
	if len(c.apps) == 0 {
		return nil
	}
	up, err := d.startUpstream(bench.ListApp)
	if err != nil {
		return err
	}
	for _, n := range c.apps {
		r := &appRow{apps: n}
		fmt.Printf("[%3.0fs] App traffic: %d Apps for %s, directly\n", time.Since(d.start).Seconds(), n, c.appWindow)
		if r.direct, _, _, err = d.simulate("http://"+up, n, nil); err != nil {
			return err
		}
		for i, target := range c.appProxies {
			a, err := d.appRun(target, n, 100+i*1000+n, up)
			if err != nil {
				return err
			}
			r.via = append(r.via, a)
			fmt.Printf("        %d Apps: %s %.2f%% of a core, peak RSS %.1f MB, p50 %s -> %s, p99 %s -> %s\n", n, target, 100*a.share(), mb(a.peakRSS),
				fmtUs(r.direct.P50us), fmtUs(a.rep.P50us), fmtUs(r.direct.P99us), fmtUs(a.rep.P99us))
		}
		d.appRows = append(d.appRows, r)
	}
	return nil
}

// appProxyTargets are the proxies an App-traffic row can run through.
var appProxyTargets = []string{"otcompat", "caddy", "nginx"}

// appRun runs n Apps through a fresh target in front of up; i numbers the
// proxy's files apart from the wrk rows'.
func (d *driver) appRun(target string, n, i int, up string) (*appRun, error) {
	addr, pr, pids, err := d.startProxy(target, i, up)
	if err != nil {
		return nil, err
	}
	defer d.stopProc(pr)
	fmt.Printf("[%3.0fs] App traffic: %d Apps for %s, through %s\n", time.Since(d.start).Seconds(), n, d.cfg.appWindow, target)
	a := &appRun{target: target}
	a.rep, a.cpu, a.wall, err = d.simulate("http://"+addr, n, pids)
	a.peakRSS = peakRSS(pids)
	return a, err
}

// simulate runs bench/apps against url and returns its report, with the
// CPU time pids spent while it ran and how long it ran.
func (d *driver) simulate(url string, apps int, pids []int) (bench.AppReport, time.Duration, time.Duration, error) {
	c := d.cfg
	args := []string{"--url", url, "--apps", strconv.Itoa(apps), "--window", c.appWindow.String(),
		"--jitter", c.appJitter.String(), "--commands-query", c.commandsQuery}
	name, args := d.withPin(c.pinWrk, filepath.Join(c.bin, "apps"), args)
	cpu0, t0 := cpuTime(pids), time.Now()
	out, err := exec.Command(name, args...).Output()
	wall, cpu := time.Since(t0), cpuTime(pids)-cpu0
	var rep bench.AppReport
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return rep, 0, 0, fmt.Errorf("apps against %s: %s", url, msg)
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return rep, 0, 0, fmt.Errorf("apps against %s: its report: %v", url, err)
	}
	if rep.Requests == 0 {
		return rep, 0, 0, fmt.Errorf("apps against %s sent no request", url)
	}
	return rep, cpu, wall, nil
}

func fmtUs(us float64) string { return fmtDur(time.Duration(us * float64(time.Microsecond))) }

func (d *driver) appTable() string {
	if len(d.appRows) == 0 {
		return ""
	}
	var sb strings.Builder
	c := d.cfg
	fmt.Fprintf(&sb, "\nApp traffic: N simulated Apps (bench/apps), each for %s, starts spread over %s, against the upstream directly and then through each proxy, a fresh process each (otcompat at log info; Caddy and nginx pass everything through); CPU is the proxy's user+system time over the window divided by the window, peak RSS its VmHWM; latency is per request, sent to last body byte.\n\n",
		c.appWindow, c.appJitter)
	sb.WriteString("| Apps | proxy | requests | CPU, share of one core | peak RSS | p50 direct | p50 via the proxy | p50 added | p99 direct | p99 via the proxy | p99 added | notes |\n")
	sb.WriteString("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range d.appRows {
		for _, a := range r.via {
			fmt.Fprintf(&sb, "| %d | %s | %d | %.2f%% | %.1f MB | %s | %s | %s | %s | %s | %s | %s |\n",
				r.apps, a.target, a.rep.Requests, 100*a.share(), mb(a.peakRSS),
				fmtUs(r.direct.P50us), fmtUs(a.rep.P50us), fmtAdded(a.rep.P50us-r.direct.P50us),
				fmtUs(r.direct.P99us), fmtUs(a.rep.P99us), fmtAdded(a.rep.P99us-r.direct.P99us), r.notes(a))
		}
	}
	return sb.String()
}

func fmtAdded(us float64) string {
	if us < 0 {
		return "-" + fmtUs(-us)
	}
	return "+" + fmtUs(us)
}

// notes says what differed between the direct run and a's, or that
// nothing did.
func (r *appRow) notes(a *appRun) string {
	var n []string
	for _, side := range []struct {
		name string
		rep  bench.AppReport
	}{{"direct", r.direct}, {"via " + a.target, a.rep}} {
		if side.rep.Errors > 0 {
			n = append(n, fmt.Sprintf("%s: %d errors (first: %s)", side.name, side.rep.Errors, side.rep.FirstErr))
		}
		if side.rep.Skipped > 0 {
			n = append(n, fmt.Sprintf("%s: %d current-run polls skipped", side.name, side.rep.Skipped))
		}
	}
	if !maps.EqualFunc(r.direct.Statuses, a.rep.Statuses, maps.Equal) {
		n = append(n, fmt.Sprintf("statuses differ: direct %v, via %s %v", sortedStatuses(r.direct.Statuses), a.target, sortedStatuses(a.rep.Statuses)))
	}
	if len(n) == 0 {
		return "same statuses both ways, no errors"
	}
	return strings.Join(n, "; ")
}

func sortedStatuses(m map[string]map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// peerShares and peerP99s put the other proxies' figures of the row beside
// otcompat's in the targets table: the floor the machine sets.
func (r *appRow) peerShares() string {
	return r.peers(func(a *appRun) string { return fmt.Sprintf("%.2f%%", 100*a.share()) })
}

func (r *appRow) peerP99s() string {
	return r.peers(func(a *appRun) string { return fmtAdded(a.rep.P99us - r.direct.P99us) })
}

func (r *appRow) peers(figure func(*appRun) string) string {
	var parts []string
	for _, a := range r.via {
		if a.target != "otcompat" {
			parts = append(parts, a.target+" "+figure(a))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}
