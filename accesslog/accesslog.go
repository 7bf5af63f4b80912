// Package accesslog writes the proxy's line per request. Through slog it
// cost about 8 µs of a 100 µs pass-through (record building, a stack walk
// for the source position, generic value formatting); Direct writes the same
// bytes as slog's default text and JSON handlers in about a tenth of that.
package accesslog

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is one request's line.
type Entry struct {
	Time                       time.Time
	ID, Method, Path           string
	Requested, Served, Applied string
	// Rule is the client rule that chose the served version ("none").
	Rule             string
	UnchangedBecause string
	Status           int
	Bytes            int64
	Duration         time.Duration
}

// strings are e's string attributes, keyed, in the line's order.
func (e *Entry) strings() [8][2]string {
	return [8][2]string{{"id", e.ID}, {"method", e.Method}, {"path", e.Path},
		{"requested", e.Requested}, {"served", e.Served}, {"rule", e.Rule}, {"applied", e.Applied},
		{"unchanged_because", e.UnchangedBecause}}
}

// record is e as a slog record, with no source position.
func (e *Entry) record() slog.Record {
	var attrs [11]slog.Attr
	for i, f := range e.strings() {
		attrs[i] = slog.String(f[0], f[1])
	}
	attrs[8], attrs[9], attrs[10] = slog.Int("status", e.Status), slog.Int64("bytes", e.Bytes), slog.Duration("duration", e.Duration)
	r := slog.NewRecord(e.Time, slog.LevelInfo, "request", 0)
	r.AddAttrs(attrs[:]...)
	return r
}

// Log writes entries at info level.
type Log struct {
	handler slog.Handler
	direct  *direct // nil: every entry goes through handler
}

// FromSlog logs entries through l's handler, whatever it is.
func FromSlog(l *slog.Logger) *Log {
	return &Log{handler: l.Handler()}
}

// Direct logs entries as h would, writing them to w itself. h must be a
// slog.NewTextHandler (or, with json, slog.NewJSONHandler) on w with no
// options but Level, perhaps wrapped, and w must take concurrent writes.
// Entries holding strings that need escaping, which well-formed requests do
// not, still go through h.
func Direct(h slog.Handler, w interface{ Write([]byte) (int, error) }, json bool) *Log {
	return &Log{handler: h, direct: &direct{w: w, json: json}}
}

// Enabled reports whether the handler takes info records: callers ask it
// before building an entry, which costs allocations nobody needs at warn.
func (l *Log) Enabled(ctx context.Context) bool { return l.handler.Enabled(ctx, slog.LevelInfo) }

// Write logs e if the handler takes info records.
func (l *Log) Write(ctx context.Context, e *Entry) {
	if !l.Enabled(ctx) {
		return
	}
	if l.direct != nil && l.direct.write(e) {
		return
	}
	_ = l.handler.Handle(ctx, e.record())
}

type direct struct {
	w    interface{ Write([]byte) (int, error) }
	json bool
	last atomic.Pointer[second] // the second of the latest line
}

// second is one second's date, time and zone, formatted: time.AppendFormat
// was most of a line's cost, and a second holds thousands of lines.
type second struct {
	unix       int64
	loc        *time.Location
	date, zone string // "2006-01-02T15:04:05" and "Z07:00"
}

// appendTime writes t as slog does: to the nanosecond, trailing zeros
// trimmed, in JSON (RFC 3339 Nano), to the millisecond, truncated, in text.
func (d *direct) appendTime(b []byte, t time.Time) []byte {
	s := d.last.Load()
	if s == nil || s.unix != t.Unix() || s.loc != t.Location() {
		s = &second{unix: t.Unix(), loc: t.Location(),
			date: t.Format("2006-01-02T15:04:05"), zone: t.Format("Z07:00")}
		d.last.Store(s)
	}
	b = append(b, s.date...)
	var frac [10]byte // '.' and nine digits
	ns := t.Nanosecond()
	frac[0] = '.'
	for i := 9; i > 0; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	switch {
	case !d.json:
		b = append(b, frac[:4]...)
	case t.Nanosecond() != 0:
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, s.zone...)
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write writes e's line unless one of its strings needs escaping.
func (d *direct) write(e *Entry) bool {
	fields := e.strings()
	for _, f := range fields {
		if !plain(f[1]) {
			return false
		}
	}
	bp := lineBuffers.Get().(*[]byte)
	b := d.appendLine((*bp)[:0], e, &fields)
	_, _ = d.w.Write(b)
	*bp = b
	lineBuffers.Put(bp)
	return true
}

// plain reports whether s is only printable ASCII other than space, quote
// and backslash: such a string needs no escaping in JSON, and in text only
// quotes when it is empty or holds '='.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (d *direct) appendLine(b []byte, e *Entry, fields *[8][2]string) []byte {
	if d.json {
		b = append(b, `{"time":"`...)
		b = d.appendTime(b, e.Time)
		b = append(b, `","level":"INFO","msg":"request"`...)
	} else {
		b = append(b, "time="...)
		b = d.appendTime(b, e.Time)
		b = append(b, " level=INFO msg=request"...)
	}
	for _, f := range fields {
		b = d.appendString(b, f[0], f[1])
	}
	b = strconv.AppendInt(d.appendKey(b, "status"), int64(e.Status), 10)
	b = strconv.AppendInt(d.appendKey(b, "bytes"), e.Bytes, 10)
	if d.json {
		// As slog (and encoding/json) do: nanoseconds.
		b = strconv.AppendInt(d.appendKey(b, "duration"), int64(e.Duration), 10)
		return append(b, "}\n"...)
	}
	b = append(d.appendKey(b, "duration"), e.Duration.String()...)
	return append(b, '\n')
}

func (d *direct) appendKey(b []byte, key string) []byte {
	if d.json {
		return append(append(append(b, `,"`...), key...), `":`...)
	}
	return append(append(append(b, ' '), key...), '=')
}

// appendString appends a plain string value.
func (d *direct) appendString(b []byte, key, s string) []byte {
	b = d.appendKey(b, key)
	if d.json || s == "" || strings.IndexByte(s, '=') >= 0 {
		return append(append(append(b, '"'), s...), '"')
	}
	return append(b, s...)
}
