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
// against the upstream directly and through a fresh otcompat.
type appRow struct {
	apps        int
	direct, via bench.AppReport
	cpu, wall   time.Duration // otcompat's user+system time over the simulation, and the simulation's length
	peakRSS     int64         // otcompat's VmHWM over its life
}

// share is otcompat's CPU time as a share of one core.
func (a *appRow) share() float64 { return a.cpu.Seconds() / a.wall.Seconds() }

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
// whose current run is good), each with a fresh otcompat.
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
		addr, pr, err := d.startOtcompat("otcompat", fmt.Sprintf("otcompat-apps-%d", n), up)
		if err != nil {
			return err
		}
		if err := waitListening(addr); err != nil {
			d.stopProc(pr)
			return err
		}
		fmt.Printf("[%3.0fs] App traffic: %d Apps for %s, through otcompat\n", time.Since(d.start).Seconds(), n, c.appWindow)
		pids := []int{pr.cmd.Process.Pid}
		r.via, r.cpu, r.wall, err = d.simulate("http://"+addr, n, pids)
		r.peakRSS = peakRSS(pids)
		d.stopProc(pr)
		if err != nil {
			return err
		}
		d.appRows = append(d.appRows, r)
		fmt.Printf("        %d Apps: otcompat %.2f%% of a core, peak RSS %.1f MB, p50 %s -> %s, p99 %s -> %s\n", n, 100*r.share(), mb(r.peakRSS),
			fmtUs(r.direct.P50us), fmtUs(r.via.P50us), fmtUs(r.direct.P99us), fmtUs(r.via.P99us))
	}
	return nil
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
	fmt.Fprintf(&sb, "\nApp traffic: N simulated Apps (bench/apps), each for %s, starts spread over %s, against the upstream directly and then through a fresh otcompat (log info); CPU is otcompat's user+system time over the window divided by the window, peak RSS its VmHWM; latency is per request, sent to last body byte.\n\n",
		c.appWindow, c.appJitter)
	sb.WriteString("| Apps | requests | otcompat CPU, share of one core | otcompat peak RSS | p50 direct | p50 via otcompat | p50 added | p99 direct | p99 via otcompat | p99 added | notes |\n")
	sb.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range d.appRows {
		fmt.Fprintf(&sb, "| %d | %d | %.2f%% | %.1f MB | %s | %s | %s | %s | %s | %s | %s |\n",
			r.apps, r.via.Requests, 100*r.share(), mb(r.peakRSS),
			fmtUs(r.direct.P50us), fmtUs(r.via.P50us), fmtAdded(r.via.P50us-r.direct.P50us),
			fmtUs(r.direct.P99us), fmtUs(r.via.P99us), fmtAdded(r.via.P99us-r.direct.P99us), r.notes())
	}
	return sb.String()
}

func fmtAdded(us float64) string {
	if us < 0 {
		return "-" + fmtUs(-us)
	}
	return "+" + fmtUs(us)
}

// notes says what differed between the two runs of a row, or "ok".
func (r *appRow) notes() string {
	var n []string
	for _, side := range []struct {
		name string
		rep  bench.AppReport
	}{{"direct", r.direct}, {"via otcompat", r.via}} {
		if side.rep.Errors > 0 {
			n = append(n, fmt.Sprintf("%s: %d errors (first: %s)", side.name, side.rep.Errors, side.rep.FirstErr))
		}
		if side.rep.Skipped > 0 {
			n = append(n, fmt.Sprintf("%s: %d current-run polls skipped", side.name, side.rep.Skipped))
		}
	}
	if !maps.EqualFunc(r.direct.Statuses, r.via.Statuses, maps.Equal) {
		n = append(n, fmt.Sprintf("statuses differ: direct %v, via otcompat %v", sortedStatuses(r.direct.Statuses), sortedStatuses(r.via.Statuses)))
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
