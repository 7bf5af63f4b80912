package bench

import (
	"bytes"
	"io"
	"log/slog"
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
// (MB/s, allocations per list), and the whole proxy path (echo, negotiation,
// reverse proxy, transform, logging, metrics) against an upstream in the same
// process over loopback. Run them with
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

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the proxy, not a recorder.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(status int)      { d.status = status }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discard) Flush()                      {}

func upstreamHandler(list, big []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := list
		if r.URL.Path == BigPath {
			body = big
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

func benchmarkProxy(b *testing.B, s Scenario, path, client string, level slog.Level, wantLen int) {
	list := s.ListBody()
	big := BigBody(BigBytes)
	up := httptest.NewServer(upstreamHandler(list, big))
	defer up.Close()
	u, err := proxy.ParseUpstream(up.URL)
	if err != nil {
		b.Fatal(err)
	}
	chain := transforms.NewChain(transforms.NewBadRun(version.Must(version.NewVersion("5")), transforms.Hide))
	p := proxy.New(proxy.Config{
		Upstream:   u,
		Chain:      chain,
		Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest()),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level})),
	})
	defer p.Close()
	h := p.Handler()
	serve := func() *discard {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Opentrons-Version", client)
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req)
		return w
	}
	if w := serve(); w.status != http.StatusOK || w.n != wantLen {
		b.Fatalf("proxy answered %d with %d bytes, want 200 with %d", w.status, w.n, wantLen)
	}
	b.SetBytes(int64(wantLen))
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		serve()
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
