package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"otcompat/fixtures/recorded"
)

// statusChange is one change at version 6 on the run routes with two map
// edits, on run statuses the recordings hold (see the file).
const statusChange = "../testdata/config/status-change.yaml"

// mapStatuses is what the change must make of a recorded run body: in
// robot-server's formatting, a run's status is the only member written
// "status": "succeeded" (the test checks that count against the runs).
func mapStatuses(t *testing.T, body []byte) []byte {
	t.Helper()
	var doc struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("recorded body: %v", err)
	}
	var runs []struct{ Status string }
	if bytes.HasPrefix(doc.Data, []byte("{")) {
		runs = make([]struct{ Status string }, 1)
		if err := json.Unmarshal(doc.Data, &runs[0]); err != nil {
			t.Fatal(err)
		}
	} else if err := json.Unmarshal(doc.Data, &runs); err != nil {
		t.Fatal(err)
	}
	succeeded := 0
	for _, r := range runs {
		if r.Status == "succeeded" {
			succeeded++
		}
	}
	from, to := []byte(`"status": "succeeded"`), []byte(`"status": "completed"`)
	if n := bytes.Count(body, from); n != succeeded {
		t.Fatalf("%d runs succeeded but the text holds %d %s", succeeded, n, from)
	}
	return bytes.ReplaceAll(body, from, to)
}

// TestDeclaredChangeRealRobotServer: otcompat serve --config with one
// declared change in front of a replay of the real robot-server. * and 6
// get the upstream's bytes, 5 the statuses mapped and nothing else, 3 the
// statuses mapped and the BadRuns hidden (byte for byte the server's answer
// once they were deleted, mapped); the changelog lists both changes; a
// broken definition is refused by config check at its line.
func TestDeclaredChangeRealRobotServer(t *testing.T) {
	sc, err := recorded.LoadScenario(recordings)
	if err != nil {
		t.Fatal(err)
	}
	// Robot-server answers runs the same at every version: the "*"
	// recordings answer every version the test sends.
	replay := qaStart(t, "replay", "--cassette", writeCassette(t, recorded.AsVersions(sc.Upstream, "*", "*", "6", "5", "3")))
	dir := t.TempDir()
	cfg, err := filepath.Abs(statusChange)
	if err != nil {
		t.Fatal(err)
	}
	scenario, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, replay.flag(), "--config", cfg)

	compared := 0
	for _, x := range sc.Upstream {
		if x.Version != "*" || x.Path == "/health" {
			continue
		}
		hidden := recorded.Find(sc.ExpectedHide, x.Method, x.Path, "*")
		if hidden == nil {
			t.Fatalf("no expected-hide answer for %s", x.Path)
		}
		for _, tt := range []struct {
			version    string
			wantStatus int
			want       []byte
		}{
			{"*", x.Status, x.Body},
			{"6", x.Status, x.Body},
			{"5", x.Status, mapStatuses(t, x.Body)},
			{"3", hidden.Status, hiddenWant(t, hidden)},
		} {
			resp, body := proxy.get(t, x.Path, tt.version)
			if resp.StatusCode != tt.wantStatus || !bytes.Equal(body, tt.want) {
				t.Errorf("%s at %s: %d, %d bytes; want %d, %d bytes\n got %.200s\nwant %.200s",
					x.Path, tt.version, resp.StatusCode, len(body), tt.wantStatus, len(tt.want), body, tt.want)
			}
			compared++
		}
	}
	if compared != 4*21 {
		t.Errorf("compared %d answers, want %d", compared, 4*21)
	}
	if v := proxy.metric(t, "otcompat_changes_applied_total", "change", "status-names"); v == 0 {
		t.Errorf("otcompat_changes_applied_total{change=status-names} = %v", v)
	}

	status, out, stderr := qaRun(t, "changes", "--config", cfg, "--format", "json")
	var l struct {
		Versions []struct {
			Version string
			Changes []struct{ Name string }
		}
	}
	if status != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Versions) != 2 ||
		l.Versions[0].Version != "6" || l.Versions[0].Changes[0].Name != "status-names" ||
		l.Versions[1].Version != "5" || l.Versions[1].Changes[0].Name != "badrun" {
		t.Errorf("otcompat changes: %d %s %s", status, out, stderr)
	}
	code, admin := proxy.adminGet(t, "/changes")
	if code != 200 || admin != out {
		t.Errorf("admin /changes: %d\n%s\nwant what otcompat changes printed:\n%s", code, admin, out)
	}

	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(scenario), "path: data.status", "path: data.status|@reverse", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	status, _, stderr = qaRun(t, "config", "check", broken)
	if status != 2 || !strings.Contains(stderr, broken+`:13:15: changes: change "status-names", edit 2 (map): path: `) {
		t.Errorf("config check of a broken change: %d\n%s", status, stderr)
	}
}

// hiddenWant is what version 3 gets for a request: the server's answer once
// the bad runs were deleted, statuses mapped where it is a run answer.
func hiddenWant(t *testing.T, h *recorded.Exchange) []byte {
	if h.Status/100 != 2 {
		return h.Body
	}
	return mapStatuses(t, h.Body)
}
