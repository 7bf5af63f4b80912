package proxy

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCodecFor(t *testing.T) {
	tests := []struct {
		header     string
		wantCodec  bool
		wantUsable bool
	}{
		{"", false, true},
		{"identity", false, true},
		{"gzip", true, true},
		{" GZIP ", true, true},
		{"deflate", true, true},
		{"br", false, false},
		{"gzip, br", false, false},
	}
	for _, tt := range tests {
		c, ok := codecFor(tt.header)
		if (c != nil) != tt.wantCodec || ok != tt.wantUsable {
			t.Errorf("codecFor(%q) = %v, %v; want codec %v, usable %v", tt.header, c != nil, ok, tt.wantCodec, tt.wantUsable)
		}
	}
}

func TestDecodeRefusesBombs(t *testing.T) {
	c, _ := codecFor("gzip")
	bomb, err := c.encodeBody(bytes.NewReader(bytes.Repeat([]byte("0"), 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.decodeBody(bomb, 64<<10); !errors.Is(err, errDecodedTooLarge) {
		t.Fatalf("1 MiB inflated under a 64 KiB limit: err = %v, want errDecodedTooLarge", err)
	}
}

// FuzzEncodedBodies: decoding arbitrary bytes never panics nor passes the
// limit, and whatever the proxy encodes decodes back to the same bytes.
func FuzzEncodedBodies(f *testing.F) {
	gz, _ := codecFor("gzip")
	seed, _ := gz.encodeBody(strings.NewReader(listWithBadRun))
	f.Add("gzip", seed, []byte(listWithBadRun))
	f.Add("deflate", []byte{0x78, 0x9c, 0x03, 0x00}, []byte(`{}`))
	f.Add("gzip", []byte{0x1f, 0x8b, 0x08}, []byte{})
	f.Fuzz(func(t *testing.T, enc string, encoded, plain []byte) {
		c, ok := codecFor(enc)
		if !ok || c == nil {
			return
		}
		const limit = 1 << 16
		if out, err := c.decodeBody(encoded, limit); err == nil && len(out) > limit {
			t.Fatalf("decoded %d bytes past the %d limit", len(out), limit)
		}
		round, err := c.encodeBody(bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.decodeBody(round, int64(len(plain))+1)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("round trip through %s: %v, %d bytes back of %d", enc, err, len(back), len(plain))
		}
	})
}
