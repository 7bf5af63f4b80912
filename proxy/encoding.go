package proxy

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"
)

// codec decodes and re-encodes one Content-Encoding, so a compressed run
// list can be changed and sent on in the encoding the upstream chose.
type codec struct {
	decode func(io.Reader) (io.ReadCloser, error)
	encode func(io.Writer) io.WriteCloser
}

var codecs = map[string]codec{
	"gzip": {
		decode: func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) },
		encode: func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
	},
	// HTTP's "deflate" is the zlib format (RFC 9110, 8.4.1.2).
	"deflate": {
		decode: func(r io.Reader) (io.ReadCloser, error) { return zlib.NewReader(r) },
		encode: func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) },
	},
}

// codecFor returns the codec of a Content-Encoding header; identity is nil
// with ok true, and an encoding the proxy cannot undo is ok false.
func codecFor(contentEncoding string) (c *codec, ok bool) {
	enc := strings.ToLower(strings.TrimSpace(contentEncoding))
	if enc == "" || enc == "identity" {
		return nil, true
	}
	if c, ok := codecs[enc]; ok {
		return &c, true
	}
	return nil, false
}

var errDecodedTooLarge = errors.New("decoded body over the transform limit")

// decodeBody inflates body, refusing to grow past limit (a small compressed
// body can expand enormously).
func (c *codec) decodeBody(body []byte, limit int64) ([]byte, error) {
	zr, err := c.decode(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, complete, err := readLimited(zr, limit, 0)
	if err != nil {
		return nil, err
	}
	if !complete {
		return nil, errDecodedTooLarge
	}
	return out, nil
}

func (c *codec) encodeBody(body io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	zw := c.encode(&buf)
	if _, err := io.Copy(zw, body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
