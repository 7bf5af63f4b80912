package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"otcompat/fixtures"
)

func TestReplayCommand(t *testing.T) {
	store := fixtures.Default()
	bad := store.BadIDs()[0]
	dir := recordFixtures(t, store, []string{"3", "*"}, "/runs", "/runs/"+bad, "/health")
	strict := serveCmd(t, "replay", "--cassette", dir)
	loose := serveCmd(t, "replay", "--cassette", dir, "--match", "method,path")
	want := map[string][]byte{}
	for _, p := range []string{"/runs", "/runs/" + bad, "/health"} {
		_, body := get(t, strict, p, "3")
		want[p] = body
	}
	tests := []struct {
		name          string
		c             *http.Client
		path, version string
		status        int
	}{
		{"recorded", strict, "/runs", "*", 200},
		{"recorded bad run", strict, "/runs/" + bad, "3", 200},
		{"health keeps its version header", strict, "/health", "3", 200},
		{"version not recorded", strict, "/runs", "5", 404},
		{"path not recorded", strict, "/runs?pageLength=1", "3", 404},
		{"version ignored", loose, "/runs", "5", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, tt.c, tt.path, tt.version)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 200 && string(body) != string(want[tt.path]) {
				t.Errorf("body differs from the recording")
			}
			if tt.path == "/health" && resp.Header.Get("Opentrons-Version") != "3" {
				t.Errorf("Opentrons-Version %q, recorded 3", resp.Header.Get("Opentrons-Version"))
			}
			if tt.status == 404 {
				var nr struct {
					Request struct{ Method, Path, Version string }
					Closest []struct{ Path string }
				}
				if err := json.Unmarshal(body, &nr); err != nil || nr.Request.Path != tt.path || nr.Request.Version != tt.version ||
					len(nr.Closest) == 0 || !strings.Contains(string(body), tt.path) {
					t.Errorf("404 body does not name the request and the closest ones: %s", body)
				}
			}
		})
	}
}
