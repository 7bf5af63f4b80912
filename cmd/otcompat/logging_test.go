package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"otcompat/accesslog"
	"otcompat/internal/wait"
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
	wait.For(t, "a warning and the line before it", func() bool {
		got := sink.String()
		return strings.Contains(got, "n=1") && strings.Contains(got, "upstream failed")
	})
	log.Info("request", "n", 2)
	wait.For(t, "the timer to write an info line", func() bool { return strings.Contains(sink.String(), "n=2") })
	log.Info("request", "n", 3)
	if err := out.Flush(); err != nil || !strings.Contains(sink.String(), "n=3") {
		t.Fatalf("Flush: %v; stderr %q", err, sink.String())
	}
}

// stuckWriter takes nothing until released, like a pipe nobody reads.
type stuckWriter struct {
	release chan struct{}
	sink    lockedBuffer
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.sink.Write(p)
}

// TestBufferedLogNeverBlocks: while stderr takes nothing, logging returns at
// once; lines beyond the backlog are dropped, and once stderr moves the
// kept lines arrive with a warning that counts the dropped ones.
func TestBufferedLogNeverBlocks(t *testing.T) {
	w := &stuckWriter{release: make(chan struct{})}
	out := newBufferedLog(w)
	log := slog.New(flushingHandler{slog.NewJSONHandler(out, nil), out})
	out.setFormat(func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) })
	line := strings.Repeat("x", 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3000 { // 3 MB of lines, three times the backlog
			log.Info(line, "n", i)
		}
		log.Warn("last")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked on a stuck stderr")
	}
	if err := out.Flush(); err != errLogStuck {
		t.Fatalf("Flush on a stuck stderr: %v, want errLogStuck", err)
	}
	close(w.release)
	wait.For(t, "the drop warning", func() bool { return strings.Contains(w.sink.String(), `"msg":"log lines dropped`) })
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	got := w.sink.String()
	kept := strings.Count(got, line)
	var dropped int
	for l := range strings.Lines(got) {
		if strings.Contains(l, "log lines dropped") {
			var rec struct{ Count int }
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("drop warning %q: %v", l, err)
			}
			dropped += rec.Count
		}
	}
	if strings.Contains(got, `"msg":"last"`) {
		kept++
	}
	if kept+dropped != 3001 || kept == 0 || dropped == 0 {
		t.Fatalf("kept %d and dropped %d of 3001 lines", kept, dropped)
	}
}

// TestAccessLogMatchesLogger: the proxy's fast access line is the line the
// configured slog handler writes, in both formats.
func TestAccessLogMatchesLogger(t *testing.T) {
	e := accesslog.Entry{
		Time: time.Date(2026, 11, 27, 4, 4, 29, 123_456_789, time.UTC), ID: "id1", Method: "GET",
		Path: "/runs?pageLength=5", Requested: "3", Served: "3", Applied: "badrun@4",
		Status: 200, Bytes: 1234, Duration: 3 * time.Millisecond, Outcome: "ok",
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
