package transforms

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// read returns a change's body as the proxy sends it, through Reader, and
// checks that Bytes and Len agree with it.
func read(t testing.TB, b *Body) []byte {
	t.Helper()
	if b == nil {
		return nil
	}
	got, err := io.ReadAll(b.Reader())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) || len(got) != b.Len() {
		t.Fatalf("Reader gave %d bytes %q; Bytes gave %q; Len %d", len(got), got, b.Bytes(), b.Len())
	}
	pieces := b.Pieces(nil)
	if joined := bytes.Join(pieces, nil); !bytes.Equal(joined, got) || slices.ContainsFunc(pieces, func(p []byte) bool { return len(p) == 0 }) {
		t.Fatalf("Pieces %q; Reader gave %q", pieces, got)
	}
	return got
}

func TestBodyPieces(t *testing.T) {
	src := []byte(`{"data": [1, 2, 3], "meta": {"totalLength": 3}}`)
	tests := []struct {
		name  string
		edits func(e *editor)
		want  string
	}{
		{"no edits", func(*editor) {}, string(src)},
		{"edits out of order", func(e *editor) {
			total := bytes.Index(src, []byte("3}"))
			e.replace(span{total, total + 1}, []byte("10"))
			e.delete(span{11, 14})
			e.replace(span{0, 1}, []byte("{ "))
		}, `{ "data": [1, 3], "meta": {"totalLength": 10}}`},
		{"everything replaced", func(e *editor) { e.replace(span{0, len(src)}, []byte("{}")) }, `{}`},
		{"edit at the very end", func(e *editor) { e.replace(span{len(src) - 1, len(src)}, []byte("}\n")) }, string(src) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e editor
			tt.edits(&e)
			orig := bytes.Clone(src)
			b := e.body(src)
			if got := string(read(t, b)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !bytes.Equal(src, orig) {
				t.Fatal("the edits changed their source")
			}
			// WriteTo, and one byte at a time, must give the same bytes.
			var sb strings.Builder
			if n, err := b.Reader().(io.WriterTo).WriteTo(&sb); err != nil || sb.String() != tt.want || n != int64(len(tt.want)) {
				t.Fatalf("WriteTo: %d %q, %v", n, sb.String(), err)
			}
			one, err := io.ReadAll(iotest.OneByteReader(b.Reader()))
			if err != nil || string(one) != tt.want {
				t.Fatalf("one byte at a time: %q, %v", one, err)
			}
		})
	}
}
