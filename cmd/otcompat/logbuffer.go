package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

const (
	// logFlushInterval bounds how long an info or debug line waits.
	logFlushInterval = 100 * time.Millisecond
	// logBatch starts a write before the interval is up.
	logBatch = 32 << 10
	// maxLogBacklog bounds the lines kept while stderr takes none.
	maxLogBacklog = 1 << 20
	// logExitWait bounds how long the last lines may take at exit.
	logExitWait = 2 * time.Second
)

// logOutput buffers stderr, as nginx's access_log buffer= does: at info the
// proxy logs a line per request, and a write system call per line (when
// stderr is a pipe, a wake-up of its reader too) was a measurable part of a
// request's CPU. Lines reach stderr within logFlushInterval, records at warn
// and above at once (flushingHandler), and all of them before run returns.
//
// Requests never wait for stderr: a goroutine writes, and when stderr takes
// nothing (a pipe nobody reads) lines wait in memory up to maxLogBacklog;
// beyond it they are dropped and counted, and a warning gives the count once
// stderr moves again.
var logOutput = newBufferedLog(os.Stderr)

type bufferedLog struct {
	w          io.Writer
	newHandler func(io.Writer) slog.Handler // the log's format, for the drop warning

	mu        sync.Mutex
	pending   []byte // lines not yet handed to the writer
	spare     []byte
	writing   bool // a goroutine is writing a batch
	scheduled bool // a timer will start a write
	dropped   int  // lines dropped since the last warning about it
}

func newBufferedLog(w io.Writer) *bufferedLog {
	return &bufferedLog{w: w, newHandler: func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }}
}

// setFormat names the handler lines are written with.
func (b *bufferedLog) setFormat(newHandler func(io.Writer) slog.Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.newHandler = newHandler
}

func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending)+len(p) > maxLogBacklog {
		b.dropped++
		return len(p), nil
	}
	b.pending = append(b.pending, p...)
	switch {
	case len(b.pending) >= logBatch:
		b.startWrite()
	case !b.scheduled:
		b.scheduled = true
		time.AfterFunc(logFlushInterval, b.kick)
	}
	return len(p), nil
}

// kick starts writing what waits.
func (b *bufferedLog) kick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scheduled = false
	b.startWrite()
}

// startWrite hands what waits to a writing goroutine, unless one is busy:
// it takes the rest when it is done. b.mu is held.
func (b *bufferedLog) startWrite() {
	if b.writing || len(b.pending) == 0 && b.dropped == 0 {
		return
	}
	if b.dropped > 0 {
		var notice bytes.Buffer
		r := slog.NewRecord(time.Now(), slog.LevelWarn, "log lines dropped: stderr did not take them in time", 0)
		r.AddAttrs(slog.Int("count", b.dropped))
		_ = b.newHandler(&notice).Handle(context.Background(), r)
		b.pending = append(b.pending, notice.Bytes()...)
		b.dropped = 0
	}
	batch := b.pending
	b.pending, b.spare = b.spare[:0], nil
	b.writing = true
	go b.write(batch)
}

func (b *bufferedLog) write(batch []byte) {
	_, _ = b.w.Write(batch)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spare, b.writing = batch[:0], false
	b.startWrite() // what came meanwhile
}

var errLogStuck = errors.New("stderr took no log lines for " + logExitWait.String())

// Flush writes out what waits, giving up after logExitWait if stderr takes
// nothing.
func (b *bufferedLog) Flush() error {
	deadline := time.Now().Add(logExitWait)
	for {
		b.mu.Lock()
		b.startWrite()
		done := !b.writing
		b.mu.Unlock()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return errLogStuck
		}
		time.Sleep(time.Millisecond)
	}
}
