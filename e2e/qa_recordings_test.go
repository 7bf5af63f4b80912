package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vcr "gopkg.in/dnaeon/go-vcr.v4/pkg/cassette"

	"otcompat/fixtures/cassette"
	"otcompat/fixtures/recorded"
	"otcompat/internal/wait"
)

// qaRealCassette converts the real robot-server recordings to a cassette
// directory, in memory and then through cassette.Dir.
func qaRealCassette(t *testing.T) (dir string, badRuns []string) {
	t.Helper()
	xs, err := recorded.Load(filepath.Join(recordings, "upstream"))
	if err != nil {
		t.Fatal(err)
	}
	dir = writeCassette(t, xs)
	raw, err := os.ReadFile(filepath.Join(recordings, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		BadRuns map[string]string `json:"badRuns"`
	}
	if err := json.Unmarshal(raw, &index); err != nil || len(index.BadRuns) != 3 {
		t.Fatalf("index.json: %v, %d bad runs", err, len(index.BadRuns))
	}
	for id := range index.BadRuns {
		badRuns = append(badRuns, id)
	}
	return dir, badRuns
}

// writeCassette writes recorded exchanges to a new cassette directory.
func writeCassette(t *testing.T, xs []recorded.Exchange) string {
	t.Helper()
	dir := t.TempDir()
	d, err := cassette.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		h := http.Header{}
		for _, kv := range x.Headers {
			h[kv[0]] = append(h[kv[0]], kv[1])
		}
		i := &vcr.Interaction{
			Request: vcr.Request{Method: x.Method, URL: "http://robot-server" + x.Path,
				Headers: http.Header{"Opentrons-Version": {x.Version}}},
			Response: vcr.Response{Code: x.Status, Body: string(x.Body), Headers: h},
		}
		if _, err := d.Write(i); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestQACompareRealRecordings: a replay of the real robot-server behind
// otcompat serve; compare names the three real BadRuns as hidden from 3 and
// seen by 5.
func TestQACompareRealRecordings(t *testing.T) {
	dir, bad := qaRealCassette(t)
	replay := qaStart(t, "replay", "--cassette", dir)
	proxy := startProxy(t, replay.flag())
	rep := qaCompareJSON(t, "--target", proxy.base, "--versions", "3,5")
	checkBadRunsHidden(t, rep, bad)

	// Every recorded byte comes back from the replay.
	xs, err := recorded.Load(filepath.Join(recordings, "upstream"))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		resp, body := replay.get(t, x.Path, x.Version)
		if resp.StatusCode != x.Status || string(body) != string(x.Body) {
			t.Errorf("%s: replayed %d with %d bytes, recorded %d with %d", x.File, resp.StatusCode, len(body), x.Status, len(x.Body))
		}
	}
}

// TestQADemoCassette: otcompat demo --cassette serves a recording in place
// of the built-in run store.
func TestQADemoCassette(t *testing.T) {
	dir, bad := qaRealCassette(t)
	demo := qaStart(t, "demo", "--cassette", dir, "--admin-listen", "", "--log-level", "warn")
	for _, tt := range []struct {
		version string
		wantBad bool
	}{{"3", false}, {"5", true}} {
		resp, body := demo.get(t, "/runs", tt.version)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("version %s: %d %s", tt.version, resp.StatusCode, body)
		}
		for _, id := range bad {
			if got := strings.Contains(string(body), id); got != tt.wantBad {
				t.Errorf("version %s: bad run %s listed %v", tt.version, id, got)
			}
		}
	}
	wait.For(t, "the demo to say it serves the recording", func() bool {
		return strings.Contains(demo.log.String(), "a replay of the recording "+dir)
	})
}
