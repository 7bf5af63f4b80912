package proxy

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"otcompat/accesslog"
	"otcompat/negotiate"
	"otcompat/transforms"
)

// syncBuffer is a log destination the proxy may write from any goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func declared(t *testing.T, s transforms.Spec) *transforms.Declared {
	t.Helper()
	d, err := transforms.NewDeclared(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDeclaredChangesThroughTheProxy: BadRun and two declared changes in one
// chain; explain headers, metrics and the access log name every change
// applied, a body a declared change cannot apply to passes through and is
// counted, and the admin /changes serves the chain's changelog.
func TestDeclaredChangesThroughTheProxy(t *testing.T) {
	statuses := declared(t, transforms.Spec{Name: "status-names", Description: "succeeded was completed", Version: "6",
		Routes: []string{"GET /runs", "GET /runs/{id}"},
		Edits:  []transforms.EditSpec{{Kind: transforms.EditMap, Path: "data.#.status", Values: map[string]string{"succeeded": "completed"}}}})
	fields := declared(t, transforms.Spec{Name: "run-fields", Description: "runs gained current", Version: "7",
		Routes: []string{"GET /runs"},
		Edits:  []transforms.EditSpec{{Kind: transforms.EditRemove, Path: "data.#", Fields: []string{"current"}}}})
	chain := transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion("5")), transforms.Hide), statuses, fields)

	up := &static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)}
	upstream := httptest.NewServer(up)
	defer upstream.Close()
	u, err := ParseUpstream(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	p := New(Config{Upstream: u, Chain: chain, Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest()),
		Logger: log, AccessLog: accesslog.FromSlog(log)})
	defer p.Close()
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()

	for _, tt := range []struct {
		version, served, applied, body string
	}{
		{"*", "7", "none", listWithBadRun},
		{"7", "7", "none", listWithBadRun},
		{"6", "6", "run-fields@7", `{"data": [{"id": "a", "ok": true, "status": "succeeded"}, {"id": "b", "ok": false, "dataError": {"id": "RunDataError"}, "status": "stopped"}], "links": {}, "meta": {"cursor": 0, "totalLength": 2}}`},
		{"5", "5", "run-fields@7,status-names@6", `{"data": [{"id": "a", "ok": true, "status": "completed"}, {"id": "b", "ok": false, "dataError": {"id": "RunDataError"}, "status": "stopped"}], "links": {}, "meta": {"cursor": 0, "totalLength": 2}}`},
		{"3", "3", "run-fields@7,status-names@6,badrun@5", `{"data": [{"id": "a", "ok": true, "status": "completed"}], "links": {}, "meta": {"cursor": 0, "totalLength": 1}}`},
	} {
		resp, body := getWith(t, srv.URL+"/runs", map[string]string{"Opentrons-Version": tt.version, "Otcompat-Explain": "1"})
		if resp.StatusCode != 200 || string(body) != tt.body {
			t.Errorf("version %s: %d %s\nwant %s", tt.version, resp.StatusCode, body, tt.body)
		}
		if s, a := resp.Header.Get("Otcompat-Served-Version"), resp.Header.Get("Otcompat-Applied"); s != tt.served || a != tt.applied {
			t.Errorf("version %s: served %q applied %q, want %q %q", tt.version, s, a, tt.served, tt.applied)
		}
		if tt.applied != "none" && !strings.Contains(logs.String(), `"applied":"`+tt.applied+`"`) {
			t.Errorf("version %s: no access log line with applied %s:\n%s", tt.version, tt.applied, logs.String())
		}
	}
	for change, want := range map[string]float64{"run-fields": 3, "status-names": 2, "badrun": 1} {
		if got := testutil.ToFloat64(p.metrics.changesApplied.WithLabelValues(change)); got != want {
			t.Errorf("changes applied %s = %v, want %v", change, got, want)
		}
	}
	if got := testutil.ToFloat64(p.metrics.records.WithLabelValues("status-names", transforms.ActionMapped)); got != 2 {
		t.Errorf("records status-names mapped = %v, want 2", got)
	}

	// A body no change can read: out unchanged, counted, never a 500.
	up.body = []byte(`{"data": [`)
	resp, body := getWith(t, srv.URL+"/runs", map[string]string{"Opentrons-Version": "3"})
	if resp.StatusCode != 200 || string(body) != `{"data": [` {
		t.Errorf("broken body: %d %q", resp.StatusCode, body)
	}
	if got := testutil.ToFloat64(p.metrics.skipped.WithLabelValues(skipChangeErr)); got != 1 {
		t.Errorf("change errors counted %v, want 1", got)
	}

	admin := httptest.NewServer(p.AdminHandler(false))
	defer admin.Close()
	resp, body = getWith(t, admin.URL+"/changes", nil)
	var want bytes.Buffer
	if err := chain.Changelog().WriteJSON(&want); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || string(body) != want.String() {
		t.Errorf("/changes: %d %s %s\nwant %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want.String())
	}
	if !strings.Contains(string(body), `"newest": "7"`) {
		t.Errorf("/changes does not say 7 is the newest: %s", body)
	}
}
