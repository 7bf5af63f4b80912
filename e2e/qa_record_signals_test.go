package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"otcompat/fixtures/cassette"
)

// qaSlowUpstream answers /item/N after a pause, streaming a body that
// names N, and reports each request's arrival.
func qaSlowUpstream(t *testing.T, pause time.Duration) (*upstream, <-chan struct{}) {
	arrived := make(chan struct{}, 256)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-time.After(pause):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, r.URL.Path+":")
		w.(http.Flusher).Flush()
		_, _ = w.Write(bytes.Repeat([]byte{0xff, 0x00, '\t'}, 10<<10)) // binary, not UTF-8
	}), false)
	return up, arrived
}

// qaCheckRecorded checks every completed exchange is in the cassette with
// the bytes the client got.
func qaCheckRecorded(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	is, err := cassette.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	inCassette := map[string]string{}
	for _, i := range is {
		inCassette[i.Request.RequestURI] = i.Response.Body
	}
	for path, body := range got {
		if rec, ok := inCassette[path]; !ok {
			t.Errorf("%s completed but is not in the cassette", path)
		} else if rec != string(body) {
			t.Errorf("%s recorded with %d bytes, the client got %d", path, len(rec), len(body))
		}
	}
}

// TestQASIGTERMDuringRecordingLosesNothing: requests in flight when record
// gets SIGTERM finish, and every completed exchange is in the cassette.
func TestQASIGTERMDuringRecordingLosesNothing(t *testing.T) {
	up, arrived := qaSlowUpstream(t, 300*time.Millisecond)
	dir := t.TempDir()
	rec := qaStart(t, "record", "--upstream", up.flag, "--cassette", dir)
	got := map[string][]byte{}
	var mu sync.Mutex
	fetch := func(path string) {
		resp, err := rec.client.Get("http://otcompat" + path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %v", path, resp.StatusCode, err)
			return
		}
		mu.Lock()
		got[path] = body
		mu.Unlock()
	}
	for i := range 3 { // completed before the signal
		fetch("/item/before-" + strconv.Itoa(i))
		<-arrived
	}
	const inFlight = 16
	var wg sync.WaitGroup
	for i := range inFlight {
		wg.Go(func() { fetch(fmt.Sprintf("/item/during-%d", i)) })
	}
	for range inFlight {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("requests did not reach the upstream")
		}
	}
	if code := rec.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("record exited %d after SIGTERM", code)
	}
	wg.Wait()
	if len(got) != 3+inFlight {
		t.Fatalf("%d of %d requests completed", len(got), 3+inFlight)
	}
	qaCheckRecorded(t, dir, got)
}

// TestQASIGKILLKeepsCompletedExchanges: each exchange is on disk before its
// client has the last byte, so even SIGKILL loses none that completed.
func TestQASIGKILLKeepsCompletedExchanges(t *testing.T) {
	up, arrived := qaSlowUpstream(t, 0)
	dir := t.TempDir()
	rec := qaStart(t, "record", "--upstream", up.flag, "--cassette", dir)
	got := map[string][]byte{}
	for i := range 10 {
		path := "/item/" + strconv.Itoa(i)
		resp, body := rec.get(t, path, "3")
		<-arrived
		if resp.StatusCode == http.StatusOK {
			got[path] = body
		}
	}
	rec.stop(syscall.SIGKILL)
	qaCheckRecorded(t, dir, got)
}
