package transforms

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestValidJSON(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{` {"a": [1, -2.5e+3, true, false, null, "x\u00b5\n"]} `, true},
		{`{"a": NaN, "b": Infinity, "c": -Infinity}`, true}, // Python's json.dumps writes these
		{`[]`, true},
		{`"s"`, true},
		{`{"a": 1,}`, false},
		{`{"a" 1}`, false},
		{`{"a": 01}`, false},
		{`{"a": 1.}`, false},
		{`{"a": 1e}`, false},
		{`{"a": -}`, false},
		{`{"a": "\x"}`, false},
		{`{"a": "\u12"}`, false},
		{"{\"a\": \"tab\there\"}", false},
		{`{"a": tru}`, false},
		{`{"a": "unterminated}`, false},
		{`{"a": [1, 2}`, false},
		{`{} {}`, false},
		{``, false},
		{strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), false},
		{strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), true},
		// Separators in and out of sepFast's layouts.
		{`{"a":1,"b":[1,2],"c":{}}`, true},
		{"{\"a\" :\t1 ,\n\"b\":  [1 ,\r\n2,  3 ] , \"c\":\n{} }", true},
		{`{"a": 1 }`, true},
		{`[1, "x" ]`, true},
		{`{"a":1,}`, false},
		{`{"a": 1 , }`, false},
		{`[1, ]`, false},
		{`{"a":: 1}`, false},
		{`{"a": , "b": 1}`, false},
		{`{"a": 1 "b": 2}`, false},
		{`{"a": 1,`, false},
		{`{"a":`, false},
		{`[1,`, false},
		{"{\"a\":\x001}", false},
		{"[1,\x002]", false},
		// Strings around the word boundaries of str.
		{`["", "1234567", "12345678", "123456789", "123456789012345\"x", "\u00e9\\"]`, true},
		{`"1234567\`, false},
		{"\"1234567\x7f\xff\xc3\xa9\"", true},
		{"\"12345678\x1f\"", false},
	}
	for _, tt := range tests {
		if got := validJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("validJSON(%.60q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestPlainMask checks the SWAR test against a byte-wise one: the lowest
// flag must fall on the first quote, backslash or control character.
func TestPlainMask(t *testing.T) {
	first := func(w [8]byte) int {
		for k, c := range w {
			if c < 0x20 || c == '"' || c == '\\' {
				return k
			}
		}
		return 8
	}
	check := func(w [8]byte) {
		t.Helper()
		got := 8
		if m := plainMask(binary.LittleEndian.Uint64(w[:])); m != 0 {
			got = bits.TrailingZeros64(m) / 8
		}
		if want := first(w); got != want {
			t.Fatalf("plainMask(%q): first flag at %d, want %d", w, got, want)
		}
	}
	// Every byte value at every position, in plain text and after bytes
	// that borrow (0x00, 0x20, 0x21, 0x80, 0xff).
	for _, fill := range []byte{'a', 0x00, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x80, 0xa1, 0xff} {
		for k := range 8 {
			for c := range 256 {
				w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
				for j := k + 1; j < 8; j++ {
					w[j] = fill
				}
				w[k] = byte(c)
				check(w)
			}
		}
	}
	// Random words drawn from the bytes around the thresholds.
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xa1, 0xa2, 0xdc, 0xfe, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		var w [8]byte
		for j := range w {
			if rng.IntN(2) == 0 {
				w[j] = edges[rng.IntN(len(edges))]
			} else {
				w[j] = byte(rng.IntN(256))
			}
		}
		check(w)
	}
}

// FuzzValidJSON: the scanner accepts exactly what encoding/json accepts, plus
// Python's NaN and Infinity literals (and never panics).
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"data": [{"id": "a", "ok": false}], "meta": {"totalLength": 1}}`,
		`[1, 2.5e-3, "\u00b5"]`, `{"a": NaN}`, `"\ud800"`, `{"a":}`, "\"\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, std := validJSON(b), json.Valid(b)
		if got == std {
			return
		}
		python := strings.Contains(string(b), "NaN") || strings.Contains(string(b), "Infinity")
		deep := strings.Count(string(b), "[")+strings.Count(string(b), "{") > maxDepth
		if !(got && python) && !(std && deep) {
			t.Fatalf("validJSON = %v, encoding/json.Valid = %v for %q", got, std, b)
		}
	})
}

// BenchmarkValidJSON57KB times the scanner alone on the 57 KB run list.
func BenchmarkValidJSON57KB(b *testing.B) {
	body := benchBody("57KB").body
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !validJSON(body) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkGJSONFloor57KB is the least a gjson-based list reader would do on
// the 57 KB run list: validate it, then place each element of "data" (no run
// read, no edit). It is kept beside BenchmarkValidJSON57KB because the
// scanner stays only while this floor is below the BadRun change's bar (see
// BenchmarkBadRunList57KB).
func BenchmarkGJSONFloor57KB(b *testing.B) {
	body := benchBody("57KB").body
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !gjson.ValidBytes(body) {
			b.Fatal("invalid")
		}
		placed := 0
		gjson.Get(string(body), "data").ForEach(func(_, run gjson.Result) bool {
			if run.Index > 0 {
				placed++
			}
			return true
		})
		if placed != 20 {
			b.Fatalf("%d runs placed, want 20", placed)
		}
	}
}
