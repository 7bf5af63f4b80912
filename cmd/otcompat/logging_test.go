package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"otcompat/accesslog"
)

// lockedBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBufferedLog: info lines wait for the flush timer, a warning goes out
// at once with what came before it, and Flush empties the buffer.
func TestBufferedLog(t *testing.T) {
	var sink lockedBuffer
	out := newBufferedLog(&sink)
	log := slog.New(flushingHandler{slog.NewTextHandler(out, nil), out})

	log.Info("request", "n", 1)
	if got := sink.String(); got != "" {
		t.Fatalf("an info line was written at once: %q", got)
	}
	log.Warn("upstream failed")
	if got := sink.String(); !strings.Contains(got, "n=1") || !strings.Contains(got, "upstream failed") {
		t.Fatalf("after a warning, stderr has %q; want both lines", got)
	}
	log.Info("request", "n", 2)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sink.String(), "n=2") {
		if time.Now().After(deadline) {
			t.Fatalf("an info line was not flushed by the timer: %q", sink.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	log.Info("request", "n", 3)
	if err := out.Flush(); err != nil || !strings.Contains(sink.String(), "n=3") {
		t.Fatalf("Flush: %v; stderr %q", err, sink.String())
	}
}

// TestAccessLogMatchesLogger: the proxy's fast access line is the line the
// configured slog handler writes, in both formats.
func TestAccessLogMatchesLogger(t *testing.T) {
	e := accesslog.Entry{
		Time: time.Date(2026, 11, 27, 4, 4, 29, 123_456_789, time.UTC), ID: "id1", Method: "GET",
		Path: "/runs?pageLength=5", Requested: "3", Served: "3", Applied: "badrun@4",
		Status: 200, Bytes: 1234, Duration: 3 * time.Millisecond,
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var sink lockedBuffer
			out := newBufferedLog(&sink)
			o := logOptions{format: format, level: "info"}
			log := o.loggerOn(out)
			o.accessLog(log).Write(context.Background(), &e)
			accesslog.FromSlog(log).Write(context.Background(), &e)
			if err := out.Flush(); err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(sink.String(), "\n")
			if len(lines) != 3 || lines[0] != lines[1] || !strings.Contains(lines[0], "badrun@4") {
				t.Fatalf("want two equal lines, got %q", lines)
			}
		})
	}
}
