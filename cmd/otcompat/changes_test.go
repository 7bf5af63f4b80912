package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// checkerFile declares one change at version 6 on the run routes.
const checkerFile = `changes:
  - name: error-recovery
    description: Runs can enter error recovery; older clients see them paused.
    version: 6
    routes: ["GET /runs", "GET /runs/{id}"]
    edits:
      - path: data.#.status
        map: {awaiting-recovery: paused}
      - path: data.status
        map: {awaiting-recovery: paused}
`

type changelogJSON struct {
	Newest   string `json:"newest"`
	Versions []struct {
		Version string `json:"version"`
		Changes []struct {
			Name, Description string
			Routes            []string
		} `json:"changes"`
	} `json:"versions"`
}

func TestChangesCommand(t *testing.T) {
	path := writeFile(t, t.TempDir(), "otcompat.yaml", checkerFile)
	for _, tt := range []struct {
		args []string
		want string // version:name, newest first
	}{
		{nil, "5:badrun"},
		{[]string{"--config", path}, "6:error-recovery 5:badrun"},
		{[]string{"--config", path, "--badrun-version", "8"}, "8:badrun 6:error-recovery"},
	} {
		status, out, err := runCmd(t, context.Background(), append([]string{"changes", "--format", "json"}, tt.args...)...)
		if status != 0 {
			t.Fatalf("%v: status %d %v", tt.args, status, err)
		}
		var l changelogJSON
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, out)
		}
		var got []string
		for _, v := range l.Versions {
			for _, c := range v.Changes {
				got = append(got, v.Version+":"+c.Name)
				if c.Description == "" || len(c.Routes) == 0 {
					t.Errorf("%v: %s has no description or routes", tt.args, c.Name)
				}
			}
		}
		if strings.Join(got, " ") != tt.want || l.Newest != strings.Split(tt.want, ":")[0] {
			t.Errorf("%v: %q newest %q, want %q", tt.args, got, l.Newest, tt.want)
		}
	}
	status, out, err := runCmd(t, context.Background(), "changes", "--config", path)
	if status != 0 || !strings.Contains(out, "## Version 6\n\n### error-recovery\n\nRuns can enter error recovery; older clients see them paused.\n\nRoutes: `GET /runs`, `GET /runs/{id}`\n") {
		t.Errorf("markdown: %d %v\n%s", status, err, out)
	}
	if status, _, err := runCmd(t, context.Background(), "changes", "--format", "yaml"); status != 2 || err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("--format yaml: status %d %v", status, err)
	}
	broken := writeFile(t, t.TempDir(), "broken.yaml", strings.Replace(checkerFile, "data.status", "data.@this", 1))
	status, _, err = runCmd(t, context.Background(), "changes", "--config", broken)
	if status != 2 || err == nil || !strings.Contains(err.Error(), "broken.yaml:9:15: ") {
		t.Errorf("broken file: status %d %v", status, err)
	}
}
