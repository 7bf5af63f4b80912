package bench

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"otcompat/negotiate"
	"otcompat/proxy"
	"otcompat/transforms"
)

// The in-process benchmarks: the BadRun change alone on the benchmark lists
// (MB/s, allocations per list; bench/run reports BenchmarkBadRunList57k as
// a target), and the whole proxy path between an upstream and a client in
// the same process over loopback. Run them with
//
//	go test ./bench -run '^$' -bench . -benchmem

func badRunPlan(b *testing.B) transforms.Plan {
	chain := transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion("5")), transforms.Hide))
	plan := chain.Plan(version.Must(version.NewVersion("3")), http.MethodGet, "/runs")
	if len(plan) != 1 {
		b.Fatalf("plan for an old client's GET /runs: %v", plan)
	}
	return plan
}

func benchmarkBadRunList(b *testing.B, s Scenario) {
	plan := badRunPlan(b)
	body, want := s.ListBody(), s.FilteredBody()
	in := transforms.Input{Method: http.MethodGet, Path: "/runs", Status: http.StatusOK, Body: body}
	out, _, err := plan.Apply(in)
	if err != nil || out.Body == nil || !bytes.Equal(out.Body.Bytes(), want) {
		b.Fatalf("BadRun on the %s list: err %v, body is not the list without its bad runs", s.Name, err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, _, err := plan.Apply(in); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b, len(body))
}

// cpuClock reports the process's CPU time per op (user+system, GC included)
// next to the wall-clock ns/op: on a machine others are loading, wall time
// swings with their load, CPU time much less.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{processCPU()} }

func (c cpuClock) report(b *testing.B, bytesPerOp int) {
	per := float64(processCPU()-c.start) / float64(b.N)
	b.ReportMetric(per, "cpu-ns/op")
	if bytesPerOp > 0 {
		b.ReportMetric(float64(bytesPerOp)*1e3/per, "cpu-MB/s")
	}
}

func BenchmarkBadRunList57k(b *testing.B)  { benchmarkBadRunList(b, List57k) }
func BenchmarkBadRunList3_5M(b *testing.B) { benchmarkBadRunList(b, List3_5M) }

// upstream serves the list, or the big body at BigPath, from bytes and
// header values made once, so that it allocates little of its own per
// request.
func upstream(b *testing.B, list, big []byte) string {
	type body struct {
		b      []byte
		length []string
	}
	listBody := body{list, []string{strconv.Itoa(len(list))}}
	bigBody := body{big, []string{strconv.Itoa(len(big))}}
	jsonType := []string{"application/json"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bd := listBody
		if r.URL.Path == BigPath {
			bd = bigBody
		}
		w.Header()["Content-Type"] = jsonType
		w.Header()["Content-Length"] = bd.length
		_, _ = w.Write(bd.b)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// get sends one request and reads the whole response, returning its status
// code and body length.
func get(b *testing.B, c *http.Client, req *http.Request) (status int, n int64) {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode, n
}

// benchmarkProxy measures the whole proxy as clients meet it: net/http's
// server, echo, negotiation, the reverse proxy, the transform, logging and
// metrics, over loopback between an upstream and a client (both net/http)
// in the same process, on one keep-alive connection. Allocations and
// cpu-ns/op are the process's, upstream and client included.
func benchmarkProxy(b *testing.B, s Scenario, path, client string, level slog.Level, wantLen int) {
	up, err := proxy.ParseUpstream(upstream(b, s.ListBody(), BigBody(BigBytes)))
	if err != nil {
		b.Fatal(err)
	}
	chain := transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion("5")), transforms.Hide))
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	p := proxy.New(proxy.Config{
		Upstream:   up,
		Chain:      chain,
		Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest()),
		Logger:     log,
	})
	defer p.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := p.Server() // the production server, with the framing guard
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Opentrons-Version", client)
	if status, n := get(b, c, req); status != http.StatusOK || n != int64(wantLen) {
		b.Fatalf("proxy answered %d with %d bytes, want 200 with %d", status, n, wantLen)
	}
	b.SetBytes(int64(wantLen))
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		get(b, c, req)
	}
	cpu.report(b, 0)
}
func BenchmarkProxy57kOld(b *testing.B) {
	benchmarkProxy(b, List57k, "/runs", "3", slog.LevelInfo, len(List57k.FilteredBody()))
}

func BenchmarkProxy57kOldLogWarn(b *testing.B) {
	benchmarkProxy(b, List57k, "/runs", "3", slog.LevelWarn, len(List57k.FilteredBody()))
}

func BenchmarkProxy57kNew(b *testing.B) {
	benchmarkProxy(b, List57k, "/runs", "*", slog.LevelInfo, len(List57k.ListBody()))
}

func BenchmarkProxy3_5MOld(b *testing.B) {
	benchmarkProxy(b, List3_5M, "/runs", "3", slog.LevelInfo, len(List3_5M.FilteredBody()))
}

func BenchmarkProxy5MPass(b *testing.B) {
	benchmarkProxy(b, List57k, BigPath, "3", slog.LevelInfo, len(BigBody(BigBytes)))
}
