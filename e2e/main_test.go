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
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binary is the otcompat executable built once for the whole package, or
// the one named by OTCOMPAT_E2E_BINARY (a cross-built linux/arm one, say),
// which runner, when OTCOMPAT_E2E_RUNNER names one (qemu-arm-static), runs:
// the same tests then run the emulated binary.
var binary, runner string

// otcompatCmd is the command that runs the binary with args.
func otcompatCmd(ctx context.Context, args ...string) *exec.Cmd {
	if runner != "" {
		return exec.CommandContext(ctx, runner, append([]string{binary}, args...)...)
	}
	return exec.CommandContext(ctx, binary, args...)
}

// notePeakRSS appends the peak resident set size, in KiB, of an exited
// otcompat process (its runner's, emulator included, under a runner) and
// its subcommand to the file OTCOMPAT_E2E_RSS_FILE names, when it names
// one: scripts/arm-e2e reports them.
func notePeakRSS(cmd *exec.Cmd) {
	name := os.Getenv("OTCOMPAT_E2E_RSS_FILE")
	if name == "" || cmd.ProcessState == nil {
		return
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return
	}
	sub := "?"
	if i := slices.Index(cmd.Args, binary); i >= 0 && i+1 < len(cmd.Args) {
		sub = cmd.Args[i+1]
	}
	rssMu.Lock()
	defer rssMu.Unlock()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, ru.Maxrss, sub)
}

var rssMu sync.Mutex

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if b := os.Getenv("OTCOMPAT_E2E_BINARY"); b != "" {
		binary, runner = b, os.Getenv("OTCOMPAT_E2E_RUNNER")
		return runTests(m)
	}
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
	return runTests(m)
}

func runTests(m *testing.M) int {
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
