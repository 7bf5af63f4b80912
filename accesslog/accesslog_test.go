package accesslog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

var sample = Entry{
	Time:   time.Date(2026, 11, 27, 4, 4, 29, 123_987_000, time.UTC),
	ID:     "9f86d081884c7d659a2feaa0c55ad015",
	Method: "GET", Path: "/runs?pageLength=20",
	Requested: "3", Served: "3", Applied: "badrun@4", UnchangedBecause: "",
	Status: 200, Bytes: 48213, Duration: 1234567 * time.Nanosecond, Outcome: "ok",
}

// lines renders e through slog's own handler and through Direct, each on a
// fresh buffer, for text and JSON.
func lines(t testing.TB, e Entry) (viaSlog, viaDirect [2]string) {
	for i, json := range []bool{false, true} {
		var a, b bytes.Buffer
		FromSlog(slog.New(newHandler(&a, json))).Write(context.Background(), &e)
		Direct(newHandler(&b, json), &b, json).Write(context.Background(), &e)
		viaSlog[i], viaDirect[i] = a.String(), b.String()
	}
	return
}

func newHandler(w io.Writer, json bool) slog.Handler {
	if json {
		return slog.NewJSONHandler(w, nil)
	}
	return slog.NewTextHandler(w, nil)
}

func TestDirectMatchesSlog(t *testing.T) {
	local := time.FixedZone("lab", -5*3600)
	tests := []struct {
		name string
		edit func(e *Entry)
	}{
		{"typical", func(*Entry) {}},
		{"empty strings quote in text", func(e *Entry) { e.Requested, e.Served, e.Applied = "", "", "" }},
		{"equals sign quotes in text", func(e *Entry) { e.Path = "/runs?a=b&c=d" }},
		{"space goes through slog", func(e *Entry) { e.UnchangedBecause = "body over limit" }},
		{"quote and backslash go through slog", func(e *Entry) { e.Path = `/runs/"a\b"` }},
		{"control byte goes through slog", func(e *Entry) { e.Requested = "3\n" }},
		{"non-ASCII goes through slog", func(e *Entry) { e.Path = "/runs/é\u2028\xff" }},
		{"whole milliseconds", func(e *Entry) { e.Time = e.Time.Truncate(time.Second) }},
		{"zone offset", func(e *Entry) { e.Time = e.Time.In(local) }},
		{"microsecond duration", func(e *Entry) { e.Duration = 850 * time.Microsecond }},
		{"client left", func(e *Entry) { e.Status, e.Bytes, e.Duration = 499, 0, 0 }},
		{"cut off mid-body", func(e *Entry) { e.Outcome = "aborted" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sample
			tt.edit(&e)
			want, got := lines(t, e)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("format %d:\n got %q\nwant %q", i, got[i], want[i])
				}
			}
		})
	}
}

func TestWriteRespectsLevel(t *testing.T) {
	var b bytes.Buffer
	h := slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelWarn})
	for _, l := range []*Log{Direct(h, &b, false), FromSlog(slog.New(h))} {
		if l.Enabled(context.Background()) {
			t.Error("Enabled at warn level")
		}
		l.Write(context.Background(), &sample)
	}
	if b.Len() != 0 {
		t.Fatalf("info line written at warn level: %q", b.String())
	}
	info := slog.NewTextHandler(&b, nil)
	if !Direct(info, &b, false).Enabled(context.Background()) || !FromSlog(slog.New(info)).Enabled(context.Background()) {
		t.Error("not Enabled at info level")
	}
}

func FuzzDirect(f *testing.F) {
	f.Add("abc", "GET", "/runs?x=1", "3", "none", int64(1_700_000_000_123_456_789), int64(42), int64(1500))
	f.Add("", "HEAD", "/a b", "*", "badrun@4", int64(0), int64(-1), int64(-7))
	f.Fuzz(func(t *testing.T, id, method, path, requested, applied string, unixNano, size, dur int64) {
		// Years 1970 to 2116 (slog writes others differently), in UTC or
		// at an offset of whole minutes.
		at := time.Unix(0, unixNano&(1<<62-1)).UTC()
		if offset := int(dur % (14 * 60)); offset != 0 {
			at = at.In(time.FixedZone("", offset*60))
		}
		e := Entry{
			Time: at, ID: id, Method: method, Path: path,
			Requested: requested, Served: requested, Applied: applied, UnchangedBecause: path,
			Status: int(size % 600), Bytes: size, Duration: time.Duration(dur),
		}
		want, got := lines(t, e)
		if got != want {
			t.Fatalf("\n got %q\nwant %q", got, want)
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		log  *Log
	}{
		{"slog", FromSlog(slog.New(slog.NewTextHandler(io.Discard, nil)))},
		{"direct", Direct(slog.NewTextHandler(io.Discard, nil), io.Discard, false)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				bc.log.Write(ctx, &sample)
			}
		})
	}
}
