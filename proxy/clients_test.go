package proxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"otcompat/clients"
	"otcompat/negotiate"
	"otcompat/transforms"
)

const (
	ua722 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/7.2.2 Chrome/120.0.6099.291 Electron/28.3.3 Safari/537.36"
	ua810 = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Opentrons/8.1.0 Chrome/128.0.6613.186 Electron/32.2.0 Safari/537.36"
)

// appRules pins the newest version for Apps from 7.3.0 on, and version 4
// for clients sending X-Pin: 4.
func appRules(t *testing.T) *clients.Rules {
	t.Helper()
	c, err := version.NewConstraint(">= 7.3.0")
	if err != nil {
		t.Fatal(err)
	}
	return &clients.Rules{Trusted: clients.DefaultTrusted, List: []clients.Rule{
		{Name: "app-knows-badrun", UserAgent: &clients.UserAgent{Product: "Opentrons", Version: ">= 7.3.0", Constraints: c},
			Serve: clients.Serve{Newest: true}},
		{Name: "pin-four", Header: &clients.Header{Name: "X-Pin", Value: "4"}, Serve: clients.Serve{Version: 4}},
	}}
}

// newRulesProxy serves a proxy (BadRun at 5, hide) through net/http.
func newRulesProxy(t *testing.T, up http.Handler, rules *clients.Rules) (*Proxy, *httptest.Server) {
	t.Helper()
	upstream := httptest.NewServer(up)
	t.Cleanup(upstream.Close)
	u, err := ParseUpstream(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	chain := transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion("5")), transforms.Hide))
	p := New(Config{Upstream: u, Chain: chain, Clients: rules,
		Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest()),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(p.Close)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return p, srv
}

// getWith GETs url with header; an empty User-Agent sends none.
func getWith(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestClientRules(t *testing.T) {
	up := &static{status: 200, headers: map[string]string{"Content-Type": "application/json", "Opentrons-Version": "4"}, body: []byte(listWithBadRun)}
	p, srv := newRulesProxy(t, up, appRules(t))
	for _, tc := range []struct {
		name                     string
		header                   map[string]string
		body, rule, served, resp string // resp: the Opentrons-Version response header
	}{
		{"App 7.2.2", map[string]string{"Opentrons-Version": "3", "User-Agent": ua722}, listFiltered, "none", "3", "3"},
		{"App 8.1.0", map[string]string{"Opentrons-Version": "3", "User-Agent": ua810}, listWithBadRun, "app-knows-badrun", "5", "5"},
		{"no User-Agent", map[string]string{"Opentrons-Version": "3", "User-Agent": ""}, listFiltered, "none", "3", "3"},
		{"malformed User-Agent", map[string]string{"Opentrons-Version": "3", "User-Agent": "Mozilla/5.0 (Opentrons/8.1.0"}, listFiltered, "none", "3", "3"},
		{"pinned to 4", map[string]string{"Opentrons-Version": "3", "X-Pin": "4"}, listFiltered, "pin-four", "4", "4"},
		// A matching rule decides the version, whatever the client asked.
		{"pinned to 4 asking for *", map[string]string{"Opentrons-Version": "*", "X-Pin": "4"}, listFiltered, "pin-four", "4", "4"},
		{"no header: the upstream's", map[string]string{"User-Agent": ua810}, listWithBadRun, "none", "none", "4"},
		{"invalid header: the upstream's", map[string]string{"Opentrons-Version": "three", "User-Agent": ua810}, listWithBadRun, "none", "none", "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Otcompat-Explain": "1"}
			for k, v := range tc.header {
				h[k] = v
			}
			resp, body := getWith(t, srv.URL+"/runs", h)
			if string(body) != tc.body {
				t.Errorf("body %s\nwant %s", body, tc.body)
			}
			if got := resp.Header.Get("Otcompat-Client-Rule"); got != tc.rule {
				t.Errorf("Otcompat-Client-Rule %q, want %q", got, tc.rule)
			}
			if got := resp.Header.Get("Otcompat-Served-Version"); got != tc.served {
				t.Errorf("Otcompat-Served-Version %q, want %q", got, tc.served)
			}
			if got := resp.Header.Get("Opentrons-Version"); got != tc.resp {
				t.Errorf("Opentrons-Version %q, want %q", got, tc.resp)
			}
			if got, want := up.last.Header.Get("Opentrons-Version"), tc.header["Opentrons-Version"]; got != want {
				t.Errorf("upstream saw Opentrons-Version %q, want the client's %q", got, want)
			}
			if got := up.last.Header.Get("User-Agent"); got != tc.header["User-Agent"] && tc.header["User-Agent"] != "" {
				t.Errorf("upstream saw User-Agent %q", got)
			}
		})
	}
	if n := testutil.ToFloat64(p.Metrics().requests.WithLabelValues("GET", "/runs", "5", "200", "ok", "app-knows-badrun")); n != 1 {
		t.Errorf("requests{rule=app-knows-badrun} = %v, want 1", n)
	}
	if n := testutil.ToFloat64(p.Metrics().requests.WithLabelValues("GET", "/runs", "3", "200", "ok", "none")); n != 3 {
		t.Errorf("requests{version=3,rule=none} = %v, want 3", n)
	}
}

// TestNoRulesIsTodaysBehaviour: an App that knows BadRuns still gets them
// hidden when no rule says otherwise.
func TestNoRulesIsTodaysBehaviour(t *testing.T) {
	up := &static{status: 200, headers: map[string]string{"Content-Type": "application/json"}, body: []byte(listWithBadRun)}
	for _, rules := range []*clients.Rules{nil, {Trusted: clients.DefaultTrusted}} {
		_, srv := newRulesProxy(t, up, rules)
		resp, body := getWith(t, srv.URL+"/runs", map[string]string{"Opentrons-Version": "3", "User-Agent": ua810, "Otcompat-Explain": "1"})
		if string(body) != listFiltered || resp.Header.Get("Otcompat-Client-Rule") != "none" {
			t.Errorf("rules %v: %s %q", rules, body, resp.Header.Get("Otcompat-Client-Rule"))
		}
	}
}

// TestSettingsSwapDuringRequest: a request in flight finishes under the
// settings it started with; the next one gets the new.
func TestSettingsSwapDuringRequest(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("slow") != "" {
			arrived <- struct{}{}
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, listWithBadRun)
	})
	p, srv := newRulesProxy(t, up, nil)
	h := map[string]string{"Opentrons-Version": "3", "User-Agent": ua810}
	type result struct{ body string }
	slow := make(chan result)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/runs?slow=1", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- result{err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- result{string(b)}
	}()
	<-arrived
	old := p.Settings()
	p.SetSettings(&Settings{Chain: old.Chain, Clients: appRules(t)})
	if _, body := getWith(t, srv.URL+"/runs", h); string(body) != listWithBadRun {
		t.Errorf("after the swap App 8.1.0 got %s", body)
	}
	close(release)
	if r := <-slow; r.body != listFiltered {
		t.Errorf("the request in flight got %s, want its old settings' answer %s", r.body, listFiltered)
	}
}

func TestPeerAddr(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1"},
		{"", "unix"},
		{"@", "unix"},
		{"garbage", "unknown"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if got := peerAddr(r).String(); got != tc.want {
			t.Errorf("peerAddr(%q) = %s, want %s", tc.remote, got, tc.want)
		}
	}
}

// TestReloadKeepsOneConfiguration: while reloads swap the chain back and
// forth, every request is served the newest version of the chain it took,
// never the other configuration's.
func TestReloadKeepsOneConfiguration(t *testing.T) {
	p, _ := newRulesProxy(t, http.NotFoundHandler(), nil)
	chains := [2]*transforms.Chain{}
	for i, v := range []string{"5", "7"} {
		chains[i] = transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion(v)), transforms.Hide))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20000; i++ {
			p.SetSettings(&Settings{Chain: chains[i%2]})
		}
	}()
	r := httptest.NewRequest(http.MethodGet, "/runs", nil)
	r.Header.Set("Opentrons-Version", "*")
	mixed := 0
	for n := 0; ; n++ {
		select {
		case <-done:
			if mixed > 0 {
				t.Fatalf("%d of %d requests were served another configuration's newest version", mixed, n)
			}
			return
		default:
		}
		s := p.Settings()
		ex := &exchange{}
		p.negotiate(r, ex, s)
		if ex.served != s.Chain.Newest().Original() {
			mixed++
		}
	}
}
