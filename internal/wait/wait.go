// Package wait is how tests wait for what another goroutine or process
// does: logs are written asynchronously, so a test polls for a line rather
// than reading the log once.
package wait

import (
	"testing"
	"time"
)

// timeout is generous: it only bounds a test that is failing anyway, and a
// loaded CI machine (-race) can be slow.
const timeout = 10 * time.Second

// For polls cond until it holds, failing the test if it has not after timeout.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
