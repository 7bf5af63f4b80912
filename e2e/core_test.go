package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"

	"otcompat/fixtures"
	"otcompat/fixtures/recorded"
)

var (
	oldClients = []string{"2", "3", "4"}
	newClients = []string{"5", "*"}
)

// blobPath answers a binary body beside the fixture run store.
const blobPath = "/protocols/blob/files/0"

// blob is a binary body with every byte value, invalid UTF-8 included.
var blob = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// coreUpstream is the fixture robot-server plus a binary route.
func coreUpstream(s *fixtures.Store) http.Handler {
	fx := fixtures.NewServer(s)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == blobPath {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
			_, _ = w.Write(blob)
			return
		}
		fx.ServeHTTP(w, r)
	})
}

// TestCore runs the binary against the fixture robot-server over every mix of
// TCP and Unix sockets, with clients at every version.
func TestCore(t *testing.T) {
	t.Parallel()
	for _, topo := range []struct {
		name                     string
		unixUpstream, unixListen bool
	}{
		{"tcp upstream tcp listen", false, false},
		{"unix upstream tcp listen", true, false},
		{"tcp upstream unix listen", false, true},
		{"unix upstream unix listen", true, true},
	} {
		t.Run(topo.name, func(t *testing.T) {
			store := fixtures.Default()
			up := startUpstream(t, coreUpstream(store), topo.unixUpstream)
			p := startProxyWith(t, proxyConfig{upstream: up.flag, unixListen: topo.unixListen})
			checkCore(t, p, up, store)
		})
	}
}

func checkCore(t *testing.T, p *proc, up *upstream, store *fixtures.Store) {
	ids, badIDs := store.IDs(), store.BadIDs()
	if len(badIDs) == 0 {
		t.Fatal("the fixture store has no BadRuns to hide")
	}
	var goodIDs []string
	for _, id := range ids {
		if !slices.Contains(badIDs, id) {
			goodIDs = append(goodIDs, id)
		}
	}
	_, full := up.get(t, "/runs", "*")
	upstreamRuns := map[string][]byte{}
	for _, raw := range parseList(t, full).Data {
		upstreamRuns[parseRun(t, raw).ID] = raw
	}

	lists := []string{"/runs"}
	for k := 0; k <= len(ids)+1; k++ {
		lists = append(lists, "/runs?pageLength="+strconv.Itoa(k))
	}
	for _, v := range oldClients {
		t.Run("old client "+v+" gets lists without BadRuns", func(t *testing.T) {
			for i, path := range lists {
				resp, body := p.get(t, path, v)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
				}
				l := parseList(t, body)
				want := goodIDs
				if i > 0 {
					want = goodIDs[max(0, len(goodIDs)-(i-1)):]
				}
				var got []string
				for _, raw := range l.Data {
					r := parseRun(t, raw)
					if r.bad() {
						t.Errorf("%s: BadRun %s listed", path, r.ID)
					}
					if !bytes.Equal(raw, upstreamRuns[r.ID]) {
						t.Errorf("%s: run %s is not byte for byte the upstream's", path, r.ID)
					}
					got = append(got, r.ID)
				}
				if l.Meta.TotalLength != len(l.Data) {
					t.Errorf("%s: meta.totalLength %d, %d runs listed", path, l.Meta.TotalLength, len(l.Data))
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: runs %v, want the newest good ones %v", path, got, want)
				}
			}
		})
		t.Run("old client "+v+" gets RunNotFound for a BadRun by id and good runs as sent", func(t *testing.T) {
			for _, id := range ids {
				resp, body := p.get(t, "/runs/"+id, v)
				if slices.Contains(badIDs, id) {
					if resp.StatusCode != http.StatusNotFound || string(body) != runNotFound(id) {
						t.Errorf("bad run %s: %d %s, want 404 %s", id, resp.StatusCode, body, runNotFound(id))
					}
					continue
				}
				uresp, ubody := up.get(t, "/runs/"+id, v)
				if resp.StatusCode != uresp.StatusCode || !bytes.Equal(body, ubody) {
					t.Errorf("good run %s: %d (%d bytes), want the upstream's %d (%d bytes)", id, resp.StatusCode, len(body), uresp.StatusCode, len(ubody))
				}
			}
		})
	}
	for _, v := range newClients {
		t.Run("new client "+v+" gets the upstream's bytes", func(t *testing.T) {
			paths := append([]string{}, lists...)
			for _, id := range ids {
				paths = append(paths, "/runs/"+id)
			}
			for _, path := range paths {
				resp, body := p.get(t, path, v)
				uresp, ubody := up.get(t, path, v)
				if resp.StatusCode != uresp.StatusCode || !bytes.Equal(body, ubody) {
					t.Errorf("%s: %d (%d bytes), want the upstream's %d (%d bytes)", path, resp.StatusCode, len(body), uresp.StatusCode, len(ubody))
				}
			}
		})
	}
	for _, v := range append(slices.Clone(oldClients), newClients...) {
		t.Run("client "+v+" gets non-run routes byte for byte", func(t *testing.T) {
			paths := []string{"/health", blobPath, "/protocols", "/openapi.json", "/nowhere"}
			for _, id := range ids {
				paths = append(paths, "/runs/"+id+"/commands")
			}
			for _, path := range paths {
				resp, body := p.get(t, path, v)
				uresp, ubody := up.get(t, path, v)
				if resp.StatusCode != uresp.StatusCode || !bytes.Equal(body, ubody) {
					t.Errorf("%s: %d (%d bytes), want the upstream's %d (%d bytes)", path, resp.StatusCode, len(body), uresp.StatusCode, len(ubody))
				}
				if ct, uct := resp.Header.Get("Content-Type"), uresp.Header.Get("Content-Type"); ct != uct {
					t.Errorf("%s: Content-Type %q, want %q", path, ct, uct)
				}
			}
			resp, _ := p.get(t, "/health", v)
			uresp, _ := up.get(t, "/health", v)
			want := uresp.Header.Get("Opentrons-Version")
			if slices.Contains(newClients, v) {
				want = "5" // the proxy serves the newest version, above the upstream's 4
			}
			if got := resp.Header.Get("Opentrons-Version"); got != want {
				t.Errorf("/health Opentrons-Version %q, want %q", got, want)
			}
		})
	}
}

// TestBadRunPolicies checks what old clients get of a BadRun fetched by id
// under each policy; new clients always get the upstream's bytes.
func TestBadRunPolicies(t *testing.T) {
	t.Parallel()
	store := fixtures.Default()
	up := startUpstream(t, fixtures.NewServer(store), false)
	for _, policy := range []string{"hide", "error", "degrade"} {
		t.Run(policy, func(t *testing.T) {
			p := startProxy(t, up.flag, "--badrun-policy", policy)
			for _, id := range store.BadIDs() {
				_, ubody := up.get(t, "/runs/"+id, "3")
				data := members(t, ubody)[0].raw
				var dataError json.RawMessage
				var kept []member
				for _, m := range members(t, data) {
					switch m.key {
					case "dataError":
						dataError = m.raw
					case "ok":
					default:
						kept = append(kept, m)
					}
				}
				resp, body := p.get(t, "/runs/"+id, "3")
				switch policy {
				case "hide":
					if resp.StatusCode != http.StatusNotFound || string(body) != runNotFound(id) {
						t.Errorf("%s: %d %s, want 404 RunNotFound", id, resp.StatusCode, body)
					}
				case "error":
					// Error bodies are compact JSON, as robot-server's are.
					var compact bytes.Buffer
					if err := json.Compact(&compact, dataError); err != nil {
						t.Fatal(err)
					}
					want := `{"errors":[` + compact.String() + `]}`
					if resp.StatusCode != http.StatusInternalServerError || string(body) != want {
						t.Errorf("%s: %d %s, want 500 %s", id, resp.StatusCode, body, want)
					}
				case "degrade":
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("%s: %d %s, want 200", id, resp.StatusCode, body)
					}
					got := members(t, members(t, body)[0].raw)
					if fmt.Sprint(got) != fmt.Sprint(kept) {
						t.Errorf("%s: degraded run is not the upstream's without ok and dataError:\n%s", id, body)
					}
				}
				if policy != "degrade" {
					if ct, ov := resp.Header.Get("Content-Type"), resp.Header.Get("Opentrons-Version"); ct != "application/json" || ov != "4" {
						t.Errorf("%s: Content-Type %q Opentrons-Version %q, want application/json and 4 as robot-server's errors", id, ct, ov)
					}
				}
				for _, v := range newClients {
					resp, body := p.get(t, "/runs/"+id, v)
					if resp.StatusCode != http.StatusOK || !bytes.Equal(body, ubody) {
						t.Errorf("client %s, %s: %d, want the upstream's BadRun", v, id, resp.StatusCode)
					}
				}
			}
			resp, body := p.get(t, "/runs", "3")
			l := parseList(t, body)
			wantLen := store.Len() - len(store.BadIDs())
			if policy == "degrade" {
				wantLen = store.Len()
			}
			if resp.StatusCode != http.StatusOK || len(l.Data) != wantLen || l.Meta.TotalLength != wantLen {
				t.Errorf("list: %d with %d runs (totalLength %d), want %d", resp.StatusCode, len(l.Data), l.Meta.TotalLength, wantLen)
			}
			for _, raw := range l.Data {
				if r := parseRun(t, raw); r.bad() || r.OK != nil && policy == "degrade" && slices.Contains(store.BadIDs(), r.ID) {
					t.Errorf("list: run %s still shows ok/dataError", r.ID)
				}
			}
		})
	}
}

// recordings is the recording of a real robot-server the tests replay;
// OTCOMPAT_RECORDINGS names another one with the same layout (README there).
var recordings = cmp.Or(os.Getenv("OTCOMPAT_RECORDINGS"), "../testdata/recordings/robot-server-badruns")

// TestRecordedRobotServer replays a real robot-server with genuine BadRuns:
// through the binary, old clients get exactly what that server answered once
// its bad runs were deleted, new clients exactly what it answered with them.
func TestRecordedRobotServer(t *testing.T) {
	t.Parallel()
	sc, err := recorded.LoadScenario(recordings)
	if err != nil {
		t.Fatal(err)
	}
	upRecords, want := sc.Upstream, sc.ExpectedHide
	replay := recorded.AsVersions(upRecords, "3", append(slices.Clone(oldClients), newClients...)...)
	up := startUpstream(t, recorded.Handler(replay), false)
	p := startProxy(t, up.flag)

	for _, v := range oldClients {
		t.Run("old client "+v+" gets expected-hide bytes", func(t *testing.T) {
			n := 0
			for _, w := range want {
				if w.Version != "3" {
					continue
				}
				n++
				resp, body := p.get(t, w.Path, v)
				if resp.StatusCode != w.Status || !bytes.Equal(body, w.Body) {
					t.Errorf("%s: %d (%d bytes), want %d (%d bytes) as expected-hide/%s", w.Path, resp.StatusCode, len(body), w.Status, len(w.Body), w.File)
				}
				for _, h := range w.Headers {
					if got := resp.Header.Get(h[0]); h[0] != "server" && got != h[1] {
						t.Errorf("%s: header %s %q, want %q", w.Path, h[0], got, h[1])
					}
				}
			}
			if n == 0 {
				t.Errorf("%s/expected-hide has no exchange of version 3", recordings)
			}
		})
	}
	for _, v := range newClients {
		t.Run("new client "+v+" gets upstream bytes", func(t *testing.T) {
			for _, x := range upRecords {
				if x.Version != "3" {
					continue
				}
				resp, body := p.get(t, x.Path, v)
				if resp.StatusCode != x.Status || !bytes.Equal(body, x.Body) {
					t.Errorf("%s: %d (%d bytes), want the upstream's %d (%d bytes)", x.Path, resp.StatusCode, len(body), x.Status, len(x.Body))
				}
			}
		})
	}
}
