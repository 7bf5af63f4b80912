package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

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
	newHandler := func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, opts) }
	if o.format == "json" {
		newHandler = func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, opts) }
	}
	out.setFormat(newHandler)
	return slog.New(flushingHandler{newHandler(out), out})
}

// accessLog writes the proxy's line per request as log, which o.logger
// built, would: the same bytes to the same output, at a fraction of slog's
// cost.
func (o *logOptions) accessLog(log *slog.Logger) *accesslog.Log {
	h := log.Handler().(flushingHandler)
	return accesslog.Direct(h, h.out, o.format == "json")
}

// flushingHandler sends the buffer on after each record at warn or above.
type flushingHandler struct {
	slog.Handler
	out *bufferedLog
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.out.kick()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.out}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.out}
}
