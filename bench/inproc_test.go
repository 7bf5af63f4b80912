package bench

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
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
// (MB/s, allocations per list), and the whole proxy path (net/http, echo,
// negotiation, the reverse proxy, transform, logging, metrics) between an
// upstream and a client in the same process over loopback. Run them with
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

// rawUpstream answers every request on its connections with pre-rendered
// bytes (the list, or the big body for BigPath), allocating nothing per
// request, so the benchmark's allocations are the proxy's.
func rawUpstream(b *testing.B, list, big []byte) string {
	render := func(body []byte) []byte {
		return append([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
			strconv.Itoa(len(body))+"\r\n\r\n"), body...)
	}
	listResp, bigResp := render(list), render(big)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					resp := listResp
					if bytes.Contains(line, []byte(BigPath)) {
						resp = bigResp
					}
					for len(line) > 2 { // the rest of the head
						if line, err = br.ReadSlice('\n'); err != nil {
							return
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// rawClient sends one request on a keep-alive connection and reads the
// response, allocating nothing.
type rawClient struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

// get returns the response's status code and body length.
func (rc *rawClient) get(b *testing.B) (status, n int) {
	if _, err := rc.c.Write(rc.req); err != nil {
		b.Fatal(err)
	}
	length := -1
	for first := true; ; first = false {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case first && len(line) > 12:
			status = atoi(line[9:12])
		case bytes.HasPrefix(line, []byte("Content-Length: ")):
			length = atoi(bytes.TrimSpace(line[16:]))
		case len(line) <= 2:
			if length < 0 {
				b.Fatalf("response %d without Content-Length", status)
			}
			m, err := rc.br.Discard(length)
			if err != nil {
				b.Fatal(err)
			}
			return status, m
		}
	}
}

func atoi(d []byte) int {
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n
}

// benchmarkProxy measures the whole proxy as clients meet it: net/http's
// server, echo, negotiation, the reverse proxy, the transform, logging and metrics,
// over loopback between an in-process upstream and client that allocate
// nothing themselves. cpu-ns/op is the process's, upstream and client
// included.
func benchmarkProxy(b *testing.B, s Scenario, path, client string, level slog.Level, wantLen int) {
	up, err := proxy.ParseUpstream(rawUpstream(b, s.ListBody(), BigBody(BigBytes)))
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
	front := p.Server()
	go func() { _ = front.Serve(ln) }()
	defer front.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rc := &rawClient{c: c, br: bufio.NewReaderSize(c, 64<<10),
		req: []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\nOpentrons-Version: " + client + "\r\n\r\n")}
	if status, n := rc.get(b); status != http.StatusOK || n != wantLen {
		b.Fatalf("proxy answered %d with %d bytes, want 200 with %d", status, n, wantLen)
	}
	b.SetBytes(int64(wantLen))
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		rc.get(b)
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
