package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// inprocResult is the in-process BadRun row: BenchmarkBadRunList57k of the
// bench package, run -count times.
type inprocResult struct {
	ran     bool
	mbps    []float64 // go test's MB/s: bytes over wall-clock time
	cpuMBps []float64 // the same bytes over the process's CPU time
	allocs  string
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

var reBench = regexp.MustCompile(`^BenchmarkBadRunList57k(?:-\d+)?\s+\d+\s+[\d.]+ ns/op\s+([\d.]+) MB/s\s+([\d.]+) cpu-MB/s.*?(\d+) allocs/op`)

const inprocCount = 5

// runInproc runs the BadRun change alone on the 57 KB list in process.
func (d *driver) runInproc() error {
	if d.cfg.inprocTest == "" {
		return nil
	}
	fmt.Printf("[%3.0fs] in process: BenchmarkBadRunList57k x %d\n", 0.0, inprocCount)
	args := []string{"-test.run", "^$", "-test.bench", "^BenchmarkBadRunList57k$", "-test.benchtime", "1s",
		"-test.count", strconv.Itoa(inprocCount), "-test.benchmem"}
	name, args := d.withPin(d.cfg.pinProxy, d.cfg.inprocTest, args)
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("in-process benchmark: %v: %s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if m := reBench.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			cpu, _ := strconv.ParseFloat(m[2], 64)
			d.inproc.mbps = append(d.inproc.mbps, v)
			d.inproc.cpuMBps = append(d.inproc.cpuMBps, cpu)
			d.inproc.allocs = m[3]
		}
	}
	if len(d.inproc.mbps) == 0 {
		return fmt.Errorf("in-process benchmark printed no BenchmarkBadRunList57k result:\n%s", out)
	}
	d.inproc.ran = true
	fmt.Printf("        BadRun on the 57 KB list: %v MB/s, %s allocs/op\n", d.inproc.mbps, d.inproc.allocs)
	return nil
}

// goal is one line of the targets table.
type goal struct {
	what, want, got string
	met             bool
}

// ratioGoal compares r's req/s with ref's; rssMax > 0 also bounds r's peak RSS.
func ratioGoal(what string, r, ref *row, want, rssMax float64) (goal, bool) {
	if r == nil || ref == nil {
		return goal{}, false
	}
	got := r.res.medianRPS() / ref.res.medianRPS()
	g := goal{what: what, want: fmt.Sprintf("≥ %gx", want), met: got >= want,
		got: fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", got, r.res.medianRPS(), ref.res.medianRPS())}
	if rssMax > 0 {
		g.want += fmt.Sprintf(", peak RSS ≤ %g MB", rssMax)
		g.got += fmt.Sprintf(", peak RSS %.1f MB", mb(r.res.peakRSS))
		g.met = g.met && mb(r.res.peakRSS) <= rssMax
	}
	return g, true
}

func (d *driver) goals() []goal {
	var gs []goal
	add := func(g goal, ok bool) {
		if ok {
			gs = append(gs, g)
		}
	}
	b57, b3m, b5m := d.bodies[0], d.bodies[1], d.bodies[2]
	for _, t := range []string{"otcompat", "otcompat-warn", "otcompat-b"} {
		name := ""
		if t != "otcompat" {
			name = " (" + t + ")"
		}
		old57 := d.find(b57, t, "3")
		add(ratioGoal("old-client filtered 57 KB list vs the naive filter"+name, old57, d.find(b57, "naive", "3"), 5, 0))
		add(ratioGoal("old-client filtered 57 KB list vs nginx+njs"+name, old57, d.find(b57, "njs", "3"), 5, 0))
		add(ratioGoal("new-client pass-through 57 KB vs Caddy"+name, d.find(b57, t, "*"), d.find(b57, "caddy", ""), 1.0, 0))
		add(ratioGoal("5 MB pass-through vs nginx"+name, d.find(b5m, t, ""), d.find(b5m, "nginx", ""), 0.85, 32))
		add(ratioGoal(fmt.Sprintf("3.5 MB filtered vs the naive filter, %d clients%s", b3m.conns, name), d.find(b3m, t, "3"), d.find(b3m, "naive", "3"), 15, 64))
	}
	if d.inproc.ran {
		m := median(d.inproc.mbps)
		gs = append(gs, goal{what: "in process: the BadRun change on the 57 KB list", want: "≥ 500 MB/s", met: m >= 500,
			got: fmt.Sprintf("%.0f MB/s (median of %d; %.0f MB/s of CPU time; %s allocs/op)", m, len(d.inproc.mbps), median(d.inproc.cpuMBps), d.inproc.allocs)})
	}
	for _, r := range d.appRows {
		a := r.run("otcompat")
		if r.apps != 20 || a == nil {
			continue
		}
		ok := r.direct.Errors == 0 && a.rep.Errors == 0
		errNote := ""
		if !ok {
			errNote = " (with errors: see the App-traffic table)"
		}
		gs = append(gs,
			goal{what: "20 Apps: otcompat's share of one core", want: "< 1%", met: ok && a.share() < 0.01, got: fmt.Sprintf("%.2f%%%s%s", 100*a.share(), r.peerShares(), errNote)},
			goal{what: "20 Apps: p99 latency added over direct", want: "< 2 ms", met: ok && a.rep.P99us-r.direct.P99us < 2000,
				got: fmt.Sprintf("%s (%s vs %s)%s%s", fmtAdded(a.rep.P99us-r.direct.P99us), fmtUs(a.rep.P99us), fmtUs(r.direct.P99us), r.peerP99s(), errNote)},
			goal{what: "20 Apps: otcompat's peak RSS", want: "< 24 MB", met: ok && mb(a.peakRSS) < 24, got: fmt.Sprintf("%.1f MB%s", mb(a.peakRSS), errNote)},
		)
	}
	return gs
}

func (d *driver) targetTable() string {
	gs := d.goals()
	if len(gs) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("\nTargets (this run):\n\n| target | want | measured | result |\n| --- | --- | --- | --- |\n")
	for _, g := range gs {
		verdict := "met"
		if !g.met {
			verdict = "**not met**"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s |\n", g.what, g.want, g.got, verdict)
	}
	return sb.String()
}
