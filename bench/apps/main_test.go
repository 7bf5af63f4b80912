package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"otcompat/bench"
)

func TestSchedule(t *testing.T) {
	polls := appPolls("pageLength=1")
	tests := []struct {
		name           string
		apps           int
		window, jitter time.Duration
		// per App and poll name: how many times it may come, inclusive
		min, max map[string]int
	}{
		{
			name: "default window: the full list twice", apps: 20, window: 40 * time.Second, jitter: 5 * time.Second,
			min: map[string]int{"runs?pageLength=0": 7, "runs/{current}": 7, "commands": 12, "runs": 2, "health": 7},
			max: map[string]int{"runs?pageLength=0": 8, "runs/{current}": 8, "commands": 14, "runs": 2, "health": 8},
		},
		{
			name: "no jitter: every poll at 0 and on its period", apps: 3, window: 30 * time.Second, jitter: 0,
			min: map[string]int{"runs?pageLength=0": 6, "runs/{current}": 6, "commands": 10, "runs": 1, "health": 6},
			max: map[string]int{"runs?pageLength=0": 6, "runs/{current}": 6, "commands": 10, "runs": 1, "health": 6},
		},
		{
			name: "a window shorter than every period: each poll once", apps: 200, window: time.Second, jitter: time.Millisecond,
			min: map[string]int{"runs?pageLength=0": 1, "runs/{current}": 1, "commands": 1, "runs": 1, "health": 1},
			max: map[string]int{"runs?pageLength=0": 1, "runs/{current}": 1, "commands": 1, "runs": 1, "health": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := schedule(polls, tt.apps, tt.window, tt.jitter, rand.New(rand.NewPCG(7, 0)))
			count := map[int]map[string]int{}
			first := map[int]time.Duration{}
			for i, e := range evs {
				if e.at < 0 || e.at >= tt.window {
					t.Fatalf("event %+v outside the window %s", e, tt.window)
				}
				if i > 0 && !less(evs[i-1], e) {
					t.Fatalf("events %+v and %+v out of order", evs[i-1], e)
				}
				if count[e.app] == nil {
					count[e.app] = map[string]int{}
					first[e.app] = e.at
				}
				count[e.app][polls[e.poll].name]++
			}
			if len(count) != tt.apps {
				t.Fatalf("%d Apps in the schedule, want %d", len(count), tt.apps)
			}
			for a, c := range count {
				if first[a] >= max(tt.jitter, 1) {
					t.Errorf("App %d starts at %s, want below the jitter %s", a, first[a], tt.jitter)
				}
				for name, n := range c {
					if n < tt.min[name] || n > tt.max[name] {
						t.Errorf("App %d sends %s %d times, want %d to %d", a, name, n, tt.min[name], tt.max[name])
					}
				}
			}
		})
	}
}

// less is the schedule's order: time, then App, then poll.
func less(a, b event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.app != b.app {
		return a.app < b.app
	}
	return a.poll < b.poll
}

func TestScheduleSpacingAndSeed(t *testing.T) {
	polls := appPolls("pageLength=1")
	evs := schedule(polls, 5, time.Minute, 5*time.Second, rand.New(rand.NewPCG(1, 0)))
	last := map[[2]int]time.Duration{}
	for _, e := range evs {
		k := [2]int{e.app, e.poll}
		if prev, ok := last[k]; ok && e.at-prev != polls[e.poll].every {
			t.Errorf("App %d poll %s: %s after the one before, want %s", e.app, polls[e.poll].name, e.at-prev, polls[e.poll].every)
		}
		last[k] = e.at
	}
	again := schedule(polls, 5, time.Minute, 5*time.Second, rand.New(rand.NewPCG(1, 0)))
	if !slices.Equal(evs, again) {
		t.Error("the same seed gave a different schedule")
	}
	other := schedule(polls, 5, time.Minute, 5*time.Second, rand.New(rand.NewPCG(2, 0)))
	if slices.Equal(evs, other) {
		t.Error("another seed gave the same start offsets")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(d, tt.p); got != tt.want {
			t.Errorf("percentile(1..100, %v) = %d, want %d", tt.p, got, tt.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile of one = %d", got)
	}
}

func TestCurrentHref(t *testing.T) {
	for body, want := range map[string]string{
		`{"data": [], "links": {"current": {"href": "/runs/abc"}}, "meta": {"cursor": 0, "totalLength": 0}}`: "/runs/abc",
		`{"data": [], "links": {}, "meta": {"cursor": 0, "totalLength": 0}}`:                                 "",
		`{"links": {"current": {"href": "http://elsewhere/x"}}}`:                                             "",
		`not json`: "",
	} {
		if got := currentHref([]byte(body)); got != want {
			t.Errorf("currentHref(%s) = %q, want %q", body, got, want)
		}
	}
}

func FuzzCurrentHref(f *testing.F) {
	f.Add([]byte(`{"data": [], "links": {"current": {"href": "/runs/abc"}}, "meta": {"cursor": 0, "totalLength": 0}}`))
	f.Add([]byte(`{"links": {"current": {"href": 5}}}`))
	f.Add([]byte(`{"links": []}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got := currentHref(body)
		if got != "" && !strings.HasPrefix(got, "/runs/") {
			t.Errorf("currentHref(%q) = %q: neither empty nor a run's path", body, got)
		}
	})
}

// TestSimulate runs two Apps for a short window against a fake robot and
// checks what they sent: the headers, the polls' paths with the learned
// current run, and that the report counts every request.
func TestSimulate(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "3"
		if r.URL.Path == "/health" {
			want = "2"
		}
		if r.Header.Get("Opentrons-Version") != want || !strings.Contains(r.UserAgent(), "Electron/") {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen[r.URL.RequestURI()]++
		mu.Unlock()
		if r.URL.RequestURI() == "/runs?pageLength=0" {
			_, _ = w.Write([]byte(`{"data": [], "links": {"current": {"href": "/runs/cur"}}, "meta": {"cursor": 0, "totalLength": 0}}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := config{url: srv.URL, apps: 2, window: 200 * time.Millisecond, jitter: 0, timeout: 5 * time.Second, seed: 1, commandsQuery: "pageLength=1"}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	rep := simulate(t.Context(), c)
	if rep.Errors != 0 || rep.Skipped != 0 {
		t.Fatalf("report %+v", rep)
	}
	want := map[string]int{"/runs?pageLength=0": 2, "/runs/cur": 2, "/runs/cur/commands?pageLength=1": 2, "/runs": 2, "/health": 2}
	for uri, n := range want {
		if seen[uri] != n {
			t.Errorf("%s asked %d times, want %d (all: %v)", uri, seen[uri], n, seen)
		}
	}
	if rep.Requests != 10 || rep.Scheduled != 10 || rep.P50us <= 0 || rep.P99us < rep.P50us {
		t.Errorf("report %+v", rep)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--url", "http://192.0.2.1:31950"},
		{"--url", "ftp://127.0.0.1"},
		{"--apps", "0"},
		{"--window", "0s"},
		{"--jitter", "-1s"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "apps: ") || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("run(%q) = %d, stderr %q; want 2 and one line", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	defer srv.Close()
	if code := run([]string{"--url", srv.URL, "--apps", "1", "--window", "50ms", "--jitter", "0s"}, &out, &errb); code != 0 {
		t.Fatalf("run = %d: %s", code, errb.String())
	}
	var rep bench.AppReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Apps != 1 || rep.Skipped != 2 {
		t.Errorf("report %s (err %v): want 1 App whose 2 current-run polls were skipped (no current run)", out.String(), err)
	}
}
