package transforms

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/hashicorp/go-version"

	"otcompat/fixtures/recorded"
)

const recordings = "../testdata/recordings/robot-server-badruns"

// downgradeLikeProxy runs a plan over a recorded upstream answer, serving
// any fetch the change asks for from the same recording, as the proxy would.
func downgradeLikeProxy(t *testing.T, p Plan, up []recorded.Exchange, x *recorded.Exchange) (status int, body []byte) {
	t.Helper()
	u, err := url.Parse(x.Path)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Method: x.Method, Path: u.Path, Query: u.RawQuery, Status: x.Status, Body: x.Body}
	out, _ := applyLikeProxy(t, p, in, func(path string) (int, []byte, bool) {
		if f := recorded.Find(up, "GET", path, x.Version); f != nil {
			return f.Status, f.Body, true
		}
		return 0, nil, false
	})
	status, body = x.Status, x.Body
	if out.Status != 0 {
		status = out.Status
	}
	if out.Body != nil {
		body = read(t, out.Body)
	}
	return status, body
}

// TestRecordedRobotServerHide checks, on bytes recorded from a real
// robot-server, that an old client gets exactly what the server answered
// once the bad runs were really deleted, and a new client the upstream bytes.
func TestRecordedRobotServerHide(t *testing.T) {
	sc, err := recorded.LoadScenario(recordings)
	if err != nil {
		t.Fatal(err)
	}
	up, want := sc.Upstream, sc.ExpectedHide
	chain := NewChain(NewBadRun(version.Must(version.NewVersion("5")), Hide))
	compared := 0
	for _, w := range want {
		for _, client := range []string{"2", "3", "4"} {
			x := recorded.Find(up, w.Method, w.Path, w.Version)
			if x == nil {
				t.Fatalf("no upstream exchange for %s %s", w.Version, w.Path)
			}
			u, _ := url.Parse(x.Path)
			plan := chain.Plan(version.Must(version.NewVersion(client)), x.Method, u.Path)
			status, body := downgradeLikeProxy(t, plan, up, x)
			if status != w.Status || !bytes.Equal(body, w.Body) {
				t.Errorf("client %s, %s (recorded as %s): got %d %d bytes, want %d %d bytes (%s)",
					client, w.Path, w.Version, status, len(body), w.Status, len(w.Body), w.File)
			}
			compared++
		}
	}
	// New clients: nothing applies, the upstream bytes stand.
	for _, x := range up {
		u, _ := url.Parse(x.Path)
		if p := chain.Plan(nil, x.Method, u.Path); p != nil {
			t.Errorf("newest client got a plan for %s", x.Path)
		}
		if p := chain.Plan(version.Must(version.NewVersion("5")), x.Method, u.Path); p != nil {
			t.Errorf("client 5 got a plan for %s", x.Path)
		}
	}
	if compared != 3*63 {
		t.Fatalf("compared %d exchanges, want %d", compared, 3*63)
	}
}
