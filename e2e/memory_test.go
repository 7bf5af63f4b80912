package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"otcompat/fixtures"
)

// TestRunListAboveDefaultLimitStreamsInBoundedMemory: a 64 MiB run list, four
// times the default --max-transform-bytes, reaches an old client unchanged,
// and the proxy's peak RSS stays far below the body's size.
func TestRunListAboveDefaultLimitStreamsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 64 MiB")
	}
	t.Parallel()
	const size = 64 << 20
	run := fixtures.Generate(1, 0, false).List(-1)[0]
	// writeList writes `{"data": [RUN, RUN, ...], ...}` of at least size
	// bytes without holding it in memory.
	writeList := func(w io.Writer) {
		_, _ = io.WriteString(w, `{"data": [`)
		n := 0
		for written := 0; written < size; written += len(run) + 2 {
			if n > 0 {
				_, _ = io.WriteString(w, ", ")
			}
			_, _ = w.Write(run)
			n++
		}
		_, _ = io.WriteString(w, `], "links": {}, "meta": {"cursor": 0, "totalLength": `+strconv.Itoa(n)+`}}`)
	}
	counted := &countingWriter{h: sha256.New()}
	writeList(counted)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.FormatInt(counted.n, 10))
		bw := bufio.NewWriterSize(w, 64<<10)
		writeList(bw)
		_ = bw.Flush()
	}), false)
	p := startProxy(t, up.flag)

	req, err := http.NewRequest(http.MethodGet, p.base+"/runs", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Opentrons-Version", "3")
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got := &countingWriter{h: sha256.New()}
	_, err = io.Copy(got, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || got.n != counted.n || !bytes.Equal(got.h.Sum(nil), counted.h.Sum(nil)) {
		t.Fatalf("got %d, %d bytes (%v), want the upstream's %d bytes unchanged", resp.StatusCode, got.n, err, counted.n)
	}
	if m := p.metric(t, "otcompat_transform_failures_total", `reason="too_large"`); m != 1 {
		t.Errorf("otcompat_transform_failures_total{reason=too_large} = %v, want 1", m)
	}
	hwm := peakRSS(t, p.cmd.Process.Pid)
	t.Logf("proxy peak RSS after streaming a %d MiB run list: %.1f MiB", counted.n>>20, float64(hwm)/(1<<20))
	if hwm > 40<<20 {
		t.Errorf("peak RSS %.1f MiB: the body was buffered, not streamed", float64(hwm)/(1<<20))
	}
}

// countingWriter hashes and counts what is written to it.
type countingWriter struct {
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return c.h.Write(b)
}

// peakRSS reads a process's VmHWM from /proc, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
