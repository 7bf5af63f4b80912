package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"

	"otcompat/negotiate"
	"otcompat/proxy"
	"otcompat/transforms"
)

// statusChange declares one change at version 6 on the run routes.
const statusChange = "../../testdata/config/status-change.yaml"

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
	path := statusChange
	for _, tt := range []struct {
		args []string
		want string // version:name, newest first
	}{
		{nil, "5:badrun"},
		{[]string{"--config", path}, "6:status-names 5:badrun"},
		{[]string{"--config", path, "--badrun-version", "8"}, "8:badrun 6:status-names"},
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
	if status != 0 || !strings.Contains(out, "## Version 6\n\n### status-names\n\nRuns report awaiting-recovery and succeeded; older clients knew paused and completed.\n\nRoutes: `GET /runs`, `GET /runs/{id}`\n") {
		t.Errorf("markdown: %d %v\n%s", status, err, out)
	}
	if status, _, err := runCmd(t, context.Background(), "changes", "--format", "yaml"); status != 2 || err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("--format yaml: status %d %v", status, err)
	}
	text, err := os.ReadFile(statusChange)
	if err != nil {
		t.Fatal(err)
	}
	broken := writeFile(t, t.TempDir(), "broken.yaml", strings.Replace(string(text), "path: data.status", "path: data.@this", 1))
	status, _, err = runCmd(t, context.Background(), "changes", "--config", broken)
	if status != 2 || err == nil || !strings.Contains(err.Error(), "broken.yaml:13:15: ") {
		t.Errorf("broken file: status %d %v", status, err)
	}
}

// TestErrorRecoveryExample: the shipped example passes config check and
// gives clients below 6 what examples/README.md says.
func TestErrorRecoveryExample(t *testing.T) {
	const path = "../../examples/error-recovery.yaml"
	if status, _, err := runCmd(t, context.Background(), "config", "check", path); status != 0 {
		t.Fatalf("config check: %d %v", status, err)
	}
	file, err := loadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	o := newServeFlags()
	o.explicit = map[string]string{}
	o.applyFile(file)
	chain, err := o.chain()
	if err != nil {
		t.Fatal(err)
	}
	list := `{"data": [{"id": "r1", "ok": true, "status": "awaiting-recovery", "actions": [{"id": "a1", "actionType": "play"}, ` +
		`{"id": "a2", "actionType": "resume-from-recovery"}, {"id": "a3", "actionType": "stop"}], "hasEverEnteredErrorRecovery": true, ` +
		`"runTimeParameters": [], "outputFileIds": [], "current": true}, {"id": "r2", "ok": true, "status": "awaiting-recovery-blocked-by-open-door", "actions": []}], ` +
		`"links": {"current": {"href": "/runs/r1"}}, "meta": {"cursor": 0, "totalLength": 2}}`
	commands := `{"data": [{"id": "c1", "intent": "protocol", "status": "failed"}, {"id": "c2", "intent": "fixit", "status": "succeeded"}, ` +
		`{"id": "c3", "intent": "protocol", "status": "queued"}], "links": {}, "meta": {"cursor": 0, "totalLength": 3}}`
	for _, tt := range []struct{ path, client, in, want string }{
		{"/runs", "3", list, `{"data": [{"id": "r1", "ok": true, "status": "paused", "actions": [{"id": "a1", "actionType": "play"}, {"id": "a3", "actionType": "stop"}], "current": true}, ` +
			`{"id": "r2", "ok": true, "status": "blocked-by-open-door", "actions": []}], "links": {"current": {"href": "/runs/r1"}}, "meta": {"cursor": 0, "totalLength": 2}}`},
		{"/runs/r2", "5", `{"data": {"id": "r2", "ok": true, "status": "awaiting-recovery-paused", "hasEverEnteredErrorRecovery": true}}`,
			`{"data": {"id": "r2", "ok": true, "status": "paused"}}`},
		{"/runs/r1/commands", "5", commands, `{"data": [{"id": "c1", "intent": "protocol", "status": "failed"}, {"id": "c3", "intent": "protocol", "status": "queued"}], "links": {}, "meta": {"cursor": 0, "totalLength": 2}}`},
		{"/runs", "6", list, list},
	} {
		out, _, err := chain.Plan(version.Must(version.NewVersion(tt.client)), "GET", tt.path).Apply(
			transforms.Input{Method: "GET", Path: tt.path, Status: 200, Body: []byte(tt.in)})
		got := tt.in
		if out.Body != nil {
			got = string(out.Body.Bytes())
		}
		if err != nil || got != tt.want {
			t.Errorf("%s at %s: %v\n got %s\nwant %s", tt.path, tt.client, err, got, tt.want)
		}
	}
}

// TestChangesReload: a reload brings the file's changes into the chain new
// requests get, and the admin /changes follows it.
func TestChangesReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "otcompat.yaml", "badrun-policy: hide\n")
	o, p := reloadableProxy(t, "--config", path)
	admin := httptest.NewServer(p.AdminHandler(false))
	defer admin.Close()
	changes := func() changelogJSON {
		t.Helper()
		resp, err := http.Get(admin.URL + "/changes")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l changelogJSON
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := changes(); l.Newest != "5" || len(l.Versions) != 1 {
		t.Fatalf("before: %+v", l)
	}
	text, err := os.ReadFile(statusChange)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "otcompat.yaml", string(text))
	o.reload(p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if l := changes(); l.Newest != "6" || len(l.Versions) != 2 || l.Versions[0].Changes[0].Name != "status-names" {
		t.Errorf("after the reload: %+v", l)
	}
	if plan := p.Settings().Chain.Plan(version.Must(version.NewVersion("5")), "GET", "/runs/x"); len(plan) != 1 || plan[0].Name() != "status-names" {
		t.Errorf("a client at 5 gets plan %v", plan)
	}
}

// reloadableProxy is a proxy built from serve's options and args, as serve
// builds it, for reload tests; its upstream is never asked.
func reloadableProxy(t *testing.T, args ...string) (*proxyOptions, *proxy.Proxy) {
	t.Helper()
	o, err := serveOptions(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := o.chain()
	if err != nil {
		t.Fatal(err)
	}
	up, err := proxy.ParseUpstream("http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(proxy.Config{Upstream: up, Chain: chain, Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest())})
	t.Cleanup(p.Close)
	return o, p
}
