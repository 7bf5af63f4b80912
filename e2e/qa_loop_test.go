package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"

	"otcompat/fixtures"
	"otcompat/internal/wait"
)

// qaReport is the part of compare's JSON schema (otcompat.compare/v1) the
// tests read, as a CI job would.
type qaReport struct {
	Schema   string `json:"schema"`
	Versions []struct {
		Version      string   `json:"version"`
		SeenRunIDs   []string `json:"seenRunIds"`
		BadRunIDs    []string `json:"badRunIds"`
		HiddenRunIDs []string `json:"hiddenRunIds"`
	} `json:"versions"`
	Paths []struct {
		Path    string `json:"path"`
		Answers []struct {
			Version string `json:"version"`
			Status  int    `json:"status"`
			Applied string `json:"applied"`
		} `json:"answers"`
	} `json:"paths"`
	Differences bool `json:"differences"`
}

// qaCompareJSON runs compare with --format json and parses the report.
func qaCompareJSON(t *testing.T, args ...string) qaReport {
	t.Helper()
	code, stdout, stderr := qaRun(t, append([]string{"compare", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("compare exited %d: %s", code, stderr)
	}
	var rep qaReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Schema != "otcompat.compare/v1" {
		t.Fatalf("not a compare report (%v):\n%.500s", err, stdout)
	}
	return rep
}

// checkBadRunsHidden checks the report for versions 3,5 names each bad run
// as hidden from 3 and seen (as bad) by 5.
func checkBadRunsHidden(t *testing.T, rep qaReport, bad []string) {
	t.Helper()
	if len(rep.Versions) != 2 || rep.Versions[0].Version != "3" || rep.Versions[1].Version != "5" {
		t.Fatalf("versions %+v, want 3 and 5", rep.Versions)
	}
	v3, v5 := rep.Versions[0], rep.Versions[1]
	for _, id := range bad {
		if !slices.Contains(v3.HiddenRunIDs, id) || slices.Contains(v3.SeenRunIDs, id) {
			t.Errorf("bad run %s is not hidden from 3 (hidden %v)", id, v3.HiddenRunIDs)
		}
		if !slices.Contains(v5.SeenRunIDs, id) || !slices.Contains(v5.BadRunIDs, id) || slices.Contains(v5.HiddenRunIDs, id) {
			t.Errorf("bad run %s is not seen as bad by 5", id)
		}
	}
	if len(v3.HiddenRunIDs) != len(bad) || len(v5.HiddenRunIDs) != 0 {
		t.Errorf("hidden from 3: %v; from 5: %v; want exactly the bad runs from 3", v3.HiddenRunIDs, v5.HiddenRunIDs)
	}
}

// TestQARecordReplayCompare is the QA loop: record the fixture robot-server
// through otcompat record, replay the cassette, put otcompat serve in front
// of the replay and compare versions 3 and 5 through it.
func TestQARecordReplayCompare(t *testing.T) {
	store := fixtures.Default()
	robot := qaStart(t, "fixtures", "serve", "--log-level", "warn")
	dir := t.TempDir()
	rec := qaStart(t, "record", "--upstream", robot.flag(), "--cassette", dir)

	type exchange struct {
		path, version string
		resp          *http.Response
		body          []byte
	}
	var recorded []exchange
	paths := []string{"/runs", "/runs?pageLength=3", "/health"}
	for _, id := range store.IDs() {
		paths = append(paths, "/runs/"+id)
	}
	for _, v := range []string{"3", "5", "*"} {
		for _, p := range paths {
			resp, body := rec.get(t, p, v)
			recorded = append(recorded, exchange{p, v, resp, body})
		}
	}
	if code := rec.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("record exited %d after SIGTERM", code)
	}

	replay := qaStart(t, "replay", "--cassette", dir)
	t.Run("replay is byte-identical", func(t *testing.T) {
		for _, x := range recorded {
			resp, body := replay.get(t, x.path, x.version)
			if resp.StatusCode != x.resp.StatusCode || !bytes.Equal(body, x.body) {
				t.Errorf("%s at %s: replayed %d (%d bytes), recorded %d (%d bytes)",
					x.path, x.version, resp.StatusCode, len(body), x.resp.StatusCode, len(x.body))
			}
			for _, h := range []string{"Content-Type", "Opentrons-Version", "Opentrons-Min-Version"} {
				if got, want := resp.Header.Get(h), x.resp.Header.Get(h); got != want {
					t.Errorf("%s at %s: %s %q, recorded %q", x.path, x.version, h, got, want)
				}
			}
		}
	})
	t.Run("unrecorded request gets 404 naming it", func(t *testing.T) {
		resp, body := replay.get(t, "/runs?pageLength=7", "4")
		var nr struct {
			Errors  []struct{ ID, Detail string }
			Request struct{ Method, Path, Version string }
			Closest []struct{ Method, Path, Version string }
		}
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal(body, &nr) != nil {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if nr.Request.Method != "GET" || nr.Request.Path != "/runs?pageLength=7" || nr.Request.Version != "4" ||
			len(nr.Errors) != 1 || !strings.Contains(nr.Errors[0].Detail, "GET /runs?pageLength=7") ||
			len(nr.Closest) != 3 || nr.Closest[0].Path != "/runs?pageLength=3" {
			t.Errorf("404 body does not name the request and the closest recorded ones:\n%s", body)
		}
		wait.For(t, "a log line naming the unrecorded request", func() bool {
			log := replay.log.String()
			return strings.Contains(log, "not recorded") && strings.Contains(log, "/runs?pageLength=7")
		})
	})

	proxy := startProxy(t, replay.flag())
	t.Run("compare names the BadRuns", func(t *testing.T) {
		rep := qaCompareJSON(t, "--target", proxy.base, "--versions", "3,5")
		checkBadRunsHidden(t, rep, store.BadIDs())
		if a := rep.Paths[0].Answers[0]; a.Applied != "badrun@5" {
			t.Errorf("version 3 answer applied %q, want badrun@5 (Otcompat-Explain)", a.Applied)
		}
	})
	t.Run("fail-on-diff", func(t *testing.T) {
		code, _, stderr := qaRun(t, "compare", "--target", proxy.base, "--versions", "3,5", "--fail-on-diff", "3,5")
		if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "versions 3 and 5 answer differently: /runs") {
			t.Errorf("exit %d, stderr %q; want 1 and one line", code, stderr)
		}
		code, _, stderr = qaRun(t, "compare", "--target", proxy.base, "--versions", "5,*", "--fail-on-diff", "5,*")
		if code != 0 {
			t.Errorf("5 and * differ: exit %d %s", code, stderr)
		}
	})
	t.Run("compare reads the cassette without the network", func(t *testing.T) {
		rep := qaCompareJSON(t, "--cassette", dir, "--versions", "3,5")
		checkBadRunsHidden(t, rep, store.BadIDs())
	})
}

// TestQACompareRefusesAndFailsClearly: unsafe methods and unreachable
// targets exit 2 with one line.
func TestQACompareRefusesAndFailsClearly(t *testing.T) {
	dead := "http://" + freePort(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--target", dead, "--method", "POST"}, "compare only sends GET or HEAD"},
		{[]string{"--target", dead}, "compare: no answer from " + dead},
		{[]string{"--versions", "3,5"}, "--target is required"},
	}
	for _, tt := range tests {
		code, stdout, stderr := qaRun(t, append([]string{"compare"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stdout != "" {
			t.Errorf("compare %v: exit %d, stderr %q; want 2 and one line with %q", tt.args, code, stderr, tt.want)
		}
	}
}
