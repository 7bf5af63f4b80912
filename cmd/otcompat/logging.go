package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"otcompat/accesslog"
)

type logOptions struct {
	format string
	level  string
}

func (o *logOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.level, "log-level", "info", "log level: debug, info, warn or error")
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

func (o *logOptions) validate() error {
	if o.format != "text" && o.format != "json" {
		return fmt.Errorf("--log-format %q: allowed: text, json", o.format)
	}
	if _, ok := logLevels[o.level]; !ok {
		return fmt.Errorf("--log-level %q: allowed: debug, info, warn, error", o.level)
	}
	return nil
}

// logger builds the logger the options name; validate must have passed.
// It writes to stderr through logOutput.
func (o *logOptions) logger() *slog.Logger {
	return o.loggerOn(logOutput)
}

func (o *logOptions) loggerOn(out *bufferedLog) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[o.level]}
	var h slog.Handler = slog.NewTextHandler(out, opts)
	if o.format == "json" {
		h = slog.NewJSONHandler(out, opts)
	}
	return slog.New(flushingHandler{h, out})
}

// accessLog writes the proxy's line per request as log, which o.logger
// built, would: the same bytes to the same output, at a fraction of slog's
// cost.
func (o *logOptions) accessLog(log *slog.Logger) *accesslog.Log {
	h := log.Handler().(flushingHandler)
	return accesslog.Direct(h, h.out, o.format == "json")
}

// logFlushInterval bounds how long an info or debug line waits in logOutput.
const logFlushInterval = 100 * time.Millisecond

// logOutput buffers stderr, as nginx's access_log buffer= does: at info the
// proxy logs a line per request, and a write system call per line (when
// stderr is a pipe, a wake-up of its reader too) was a measurable part of a
// request's CPU. Lines reach stderr within logFlushInterval, records at warn
// and above at once (flushingHandler), and all of them before run returns.
var logOutput = newBufferedLog(os.Stderr)

type bufferedLog struct {
	mu        sync.Mutex
	w         *bufio.Writer
	scheduled bool
}

func newBufferedLog(w io.Writer) *bufferedLog {
	return &bufferedLog{w: bufio.NewWriterSize(w, 32<<10)}
}

func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.scheduled {
		b.scheduled = true
		time.AfterFunc(logFlushInterval, func() { _ = b.Flush() })
	}
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *bufferedLog) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scheduled = false
	return b.w.Flush()
}

// flushingHandler flushes the buffer after each record at warn or above.
type flushingHandler struct {
	slog.Handler
	out *bufferedLog
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		_ = h.out.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.out}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.out}
}
