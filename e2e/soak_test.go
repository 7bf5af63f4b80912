package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"otcompat/fixtures"
)

// TestSoakMixedVersionsHasNoErrorsAndNoBadRunsForOldClients keeps 200
// connections busy for 3 s with clients at every version against the fixture
// robot-server: no request fails, and no old client ever sees a BadRun.
func TestSoakMixedVersionsHasNoErrorsAndNoBadRunsForOldClients(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	const (
		conns    = 200
		duration = 3 * time.Second
	)
	store := fixtures.Default()
	ids, bad := store.IDs(), map[string]bool{}
	for _, id := range store.BadIDs() {
		bad[id] = true
	}
	up := startUpstream(t, fixtures.NewServer(store), false)
	p := startProxy(t, up.flag)
	versions := []string{"2", "3", "4", "5", "*"}

	var requests, failures atomic.Int64
	var mu sync.Mutex
	var firstErrors []string
	fail := func(format string, args ...any) {
		failures.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if len(firstErrors) < 10 {
			firstErrors = append(firstErrors, fmt.Sprintf(format, args...))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range conns {
		client := newClient(t, p.network, p.addr) // one connection each
		v := versions[i%len(versions)]
		old := v == "2" || v == "3" || v == "4"
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := i; ctx.Err() == nil; n++ {
				path := []string{"/runs", "/runs?pageLength=3", "/runs/" + ids[n%len(ids)], "/health"}[n%4]
				rctx, rcancel := context.WithTimeout(context.Background(), testTimeout)
				req, _ := http.NewRequestWithContext(rctx, http.MethodGet, p.base+path, nil)
				req.Header.Set("Opentrons-Version", v)
				resp, err := client.Do(req)
				if err != nil {
					rcancel()
					fail("client %s %s: %v", v, path, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				rcancel()
				requests.Add(1)
				if err != nil {
					fail("client %s %s: reading: %v", v, path, err)
					continue
				}
				checkSoakAnswer(fail, v, old, path, resp.StatusCode, body, bad)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests over %d connections in %v", requests.Load(), conns, duration)
	if f := failures.Load(); f > 0 {
		t.Errorf("%d failures; first ones:\n%s", f, strings.Join(firstErrors, "\n"))
	}
	if requests.Load() < conns {
		t.Errorf("only %d requests completed", requests.Load())
	}
	if e := p.metric(t, "otcompat_upstream_errors_total"); e != 0 {
		t.Errorf("otcompat_upstream_errors_total = %v", e)
	}
}

func checkSoakAnswer(fail func(string, ...any), v string, old bool, path string, status int, body []byte, bad map[string]bool) {
	id, isRun := strings.CutPrefix(path, "/runs/")
	switch {
	case isRun && old && bad[id]:
		if status != http.StatusNotFound || string(body) != runNotFound(id) {
			fail("client %s %s: %d, want 404 RunNotFound", v, path, status)
		}
		return
	case status != http.StatusOK:
		fail("client %s %s: status %d", v, path, status)
		return
	}
	if !strings.HasPrefix(path, "/runs?") && path != "/runs" {
		return
	}
	var l runList
	if err := json.Unmarshal(body, &l); err != nil {
		fail("client %s %s: %v", v, path, err)
		return
	}
	if l.Meta.TotalLength != len(l.Data) {
		fail("client %s %s: totalLength %d for %d runs", v, path, l.Meta.TotalLength, len(l.Data))
	}
	if !old {
		return
	}
	for _, raw := range l.Data {
		var r runInfo
		if err := json.Unmarshal(raw, &r); err != nil || r.bad() || bad[r.ID] {
			fail("client %s %s: BadRun %s listed (%v)", v, path, r.ID, err)
		}
	}
}
