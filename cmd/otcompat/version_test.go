package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// withBuild sets the link-time variables and the build information for one test.
func withBuild(t *testing.T, version, commit string, bi *debug.BuildInfo) {
	t.Helper()
	oldV, oldC, oldRead := Version, Commit, readBuildInfo
	t.Cleanup(func() { Version, Commit, readBuildInfo = oldV, oldC, oldRead })
	Version, Commit = version, commit
	readBuildInfo = func() (*debug.BuildInfo, bool) { return bi, bi != nil }
}

func TestCurrentBuild(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "otcompat", Version: "v0.2.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.modified", Value: "false"},
		},
	}
	dirty := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "otcompat", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	// What a build with -buildvcs=false (or go run) records.
	bare := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "otcompat", Version: "(devel)"}}

	tests := []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		wantV, wantC    string
	}{
		{"ldflags win", "0.1.0", "abc1234", vcs, "0.1.0", "abc1234"},
		{"build info", "", "", vcs, "v0.2.0", "0123456789ab"},
		{"dirty tree", "", "", dirty, "unknown", "0123456789ab-dirty"},
		{"no vcs", "", "", bare, "unknown", "unknown"},
		{"no build info", "", "", nil, "unknown", "unknown"},
		{"only version set", "0.1.0", "", bare, "0.1.0", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withBuild(t, tt.version, tt.commit, tt.bi)
			b := currentBuild()
			if b.Version != tt.wantV || b.Commit != tt.wantC {
				t.Errorf("currentBuild() = %q, %q; want %q, %q", b.Version, b.Commit, tt.wantV, tt.wantC)
			}
			if !strings.HasPrefix(b.GoVersion, "go") {
				t.Errorf("GoVersion = %q", b.GoVersion)
			}
			if b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
				t.Errorf("Platform = %q", b.Platform)
			}
		})
	}
}

func runVersionCmd(t *testing.T, args ...string) string {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"version"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("otcompat version %v: %v", args, err)
	}
	return out.String()
}

func TestVersionCommand(t *testing.T) {
	withBuild(t, "0.1.0", "abc1234", nil)
	want := "otcompat 0.1.0 (commit abc1234, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if got := runVersionCmd(t); got != want {
		t.Errorf("otcompat version printed %q, want %q", got, want)
	}

	var got buildInfo
	if err := json.Unmarshal([]byte(runVersionCmd(t, "--json")), &got); err != nil {
		t.Fatalf("otcompat version --json: %v", err)
	}
	if got.Version != "0.1.0" || got.Commit != "abc1234" || got.GoVersion != runtime.Version() {
		t.Errorf("otcompat version --json = %+v", got)
	}
}

func TestVersionRejectsArgs(t *testing.T) {
	if code := run([]string{"version", "extra"}); code != 2 {
		t.Errorf("otcompat version extra: exit %d, want 2", code)
	}
}
