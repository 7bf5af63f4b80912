package main

import (
	"testing"
	"time"

	"otcompat/bench"
)

// TestAppTables renders the App-traffic table and the 20-App targets of a
// made-up run with peers, one of them with errors and other statuses, and
// compares them with testdata/apps.md.
func TestAppTables(t *testing.T) {
	ok := map[string]map[string]int{"runs": {"200": 8}, "health": {"200": 8}}
	report := func(p50, p99 float64) bench.AppReport {
		return bench.AppReport{Requests: 16, P50us: p50, P99us: p99, Statuses: ok}
	}
	run := func(target string, ticks int, rssKB int64, rep bench.AppReport) *appRun {
		return &appRun{target: target, rep: rep, cpu: time.Duration(ticks) * 10 * time.Millisecond, wall: 40 * time.Second, peakRSS: rssKB << 10}
	}
	broken := report(700, 2500)
	broken.Errors, broken.FirstErr = 2, "read: connection reset by peer"
	broken.Statuses = map[string]map[string]int{"runs": {"200": 6, "error": 2}, "health": {"200": 8}}
	d := &driver{
		cfg:    config{appWindow: 40 * time.Second, appJitter: 5 * time.Second},
		bodies: []*bodySpec{{name: "57k"}, {name: "3.5M"}, {name: "5M"}},
		appRows: []*appRow{
			{apps: 1, direct: report(500, 1500), via: []*appRun{run("otcompat", 1, 16000, report(900, 3000))}},
			{apps: 20, direct: report(500, 3000), via: []*appRun{
				run("otcompat", 40, 20000, report(1000, 4500)),
				run("caddy", 60, 38000, report(1100, 5500)),
				run("nginx", 12, 15000, broken),
			}},
		},
	}
	checkGolden(t, "apps.md", d.appTable()+d.targetTable())
}
