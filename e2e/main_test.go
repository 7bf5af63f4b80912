// Package e2e runs the built otcompat binary as a subprocess in front of
// fake upstreams (the fixture run store, replays of real robot-server
// recordings, and deliberately misbehaving servers) and talks HTTP to it.
// It imports no internals of the proxy: only the upstream fixtures.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binary is the otcompat executable built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "otcompat-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "otcompat")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/otcompat")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building otcompat: %v\n%s", err, out)
		return 1
	}
	before := goleak.IgnoreCurrent()
	code := m.Run()
	if code == 0 {
		// Every connection, server and process a test started must be gone.
		if err := goleak.Find(before); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	return code
}
