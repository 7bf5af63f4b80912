package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
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
func (o *logOptions) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[o.level]}
	if o.format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
