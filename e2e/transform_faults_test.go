package e2e

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"otcompat/fixtures"
)

// TestRunListThatCannotBeTransformedPassesThroughUnchanged: bodies that are
// not a JSON run list go to an old client exactly as the upstream sent them.
func TestRunListThatCannotBeTransformedPassesThroughUnchanged(t *testing.T) {
	t.Parallel()
	list := fixtures.Default().ListBody(-1)
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        []byte
		reason      string // the transform_failures reason counted, "" for none
	}{
		{"truncated JSON", 200, "application/json", list[:len(list)/2], ""},
		{"invalid JSON", 200, "application/json", []byte(`{"data": [{"id": "a", "ok": false,,]}`), ""},
		{"empty body", 200, "application/json", []byte{}, ""},
		{"text/plain content type", 200, "text/plain", list, "not_json"},
		{"html content type", 200, "text/html; charset=utf-8", list, "not_json"},
		{"data is a string", 200, "application/json", []byte(`{"data": "runs"}`), ""},
		{"top level array", 200, "application/json", []byte(`[{"id": "a", "ok": false}]`), ""},
		{"data holds non-objects", 200, "application/json", []byte(`{"data": [1, "two", null], "links": {}, "meta": {"cursor": 0, "totalLength": 3}}`), ""},
		{"upstream error page", 500, "text/html", []byte("<html>Internal Server Error</html>"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := startUpstream(t, staticHandler(tc.status, tc.body, "Content-Type", tc.contentType), false)
			p := startProxy(t, up.flag)
			resp, body := p.get(t, "/runs", "3")
			if resp.StatusCode != tc.status || !bytes.Equal(body, tc.body) || resp.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("got %d %q (%d bytes), want the upstream's %d %q (%d bytes)",
					resp.StatusCode, resp.Header.Get("Content-Type"), len(body), tc.status, tc.contentType, len(tc.body))
			}
			if applied := p.metric(t, "otcompat_changes_applied_total"); applied != 0 {
				t.Errorf("otcompat_changes_applied_total = %v, want 0", applied)
			}
			if tc.reason != "" {
				if got := p.metric(t, "otcompat_transform_failures_total", `reason="`+tc.reason+`"`); got != 1 {
					t.Errorf("otcompat_transform_failures_total{reason=%q} = %v, want 1", tc.reason, got)
				}
			}
			if status, _ := p.adminGet(t, "/healthz"); status != http.StatusOK {
				t.Errorf("/healthz %d after the request", status)
			}
		})
	}
}

// compress encodes b as HTTP's gzip or deflate (zlib).
func compress(t *testing.T, enc string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	default:
		t.Fatalf("no encoder for %s", enc)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decompress undoes compress.
func decompress(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var r io.ReadCloser
	var err error
	switch enc {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(b))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatalf("%s body does not decode: %v", enc, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body does not decode: %v", enc, err)
	}
	return out
}

// encodingUpstream answers GET /runs with the fixture list in the encoding
// the client accepts: gzip, deflate, or br (opaque bytes nobody decodes
// here), and broken-gzip (a gzip header on bytes that are not gzip).
func encodingUpstream(t *testing.T, list []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc := r.Header.Get("Accept-Encoding")
		body := list
		switch enc {
		case "gzip", "deflate":
			body = compress(t, enc, list)
		case "br":
			body = append([]byte{0x1b, 0xff, 0x00}, list...)
		case "broken-gzip":
			enc, body = "gzip", append([]byte{0x1f, 0x8b}, list...)
		}
		w.Header().Set("Content-Type", "application/json")
		if enc != "" {
			w.Header().Set("Content-Encoding", enc)
		}
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

// TestCompressedRunListIsFilteredAndReencoded: gzip and deflate lists are
// decoded, filtered for an old client and sent in the same encoding with the
// right length; encodings the proxy cannot undo pass through unchanged.
func TestCompressedRunListIsFilteredAndReencoded(t *testing.T) {
	t.Parallel()
	list := fixtures.Default().ListBody(-1)
	up := startUpstream(t, encodingUpstream(t, list), false)
	p := startProxy(t, up.flag)
	_, plain := p.get(t, "/runs", "3")
	if bytes.Equal(plain, list) {
		t.Fatal("the identity list was not filtered: nothing to compare with")
	}
	for _, enc := range []string{"gzip", "deflate"} {
		t.Run(enc+" is filtered and re-encoded", func(t *testing.T) {
			resp, body := p.get(t, "/runs", "3", "Accept-Encoding", enc)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != enc {
				t.Fatalf("%d Content-Encoding %q, want 200 %s", resp.StatusCode, resp.Header.Get("Content-Encoding"), enc)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d for a %d-byte body", resp.ContentLength, len(body))
			}
			if got := decompress(t, enc, body); !bytes.Equal(got, plain) {
				t.Errorf("decoded body (%d bytes) differs from the identity answer (%d bytes)", len(got), len(plain))
			}
			for _, v := range newClients {
				_, ubody := up.get(t, "/runs", v)
				resp, body := p.get(t, "/runs", v, "Accept-Encoding", enc)
				uresp, uenc := doRequest(t, up.client, http.MethodGet, up.base+"/runs", v, nil, "Accept-Encoding", enc)
				if resp.Header.Get("Content-Encoding") != enc || !bytes.Equal(body, uenc) || uresp.StatusCode != resp.StatusCode {
					t.Errorf("client %s: not the upstream's %s bytes", v, enc)
				}
				if !bytes.Equal(decompress(t, enc, body), ubody) {
					t.Errorf("client %s: decoded body is not the upstream's list", v)
				}
			}
		})
	}
	for _, tc := range []struct{ name, accept, enc string }{
		{"br passes through unchanged", "br", "br"},
		{"broken gzip passes through unchanged", "broken-gzip", "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.metric(t, "otcompat_transform_failures_total", `reason="unsupported_encoding"`)
			resp, body := p.get(t, "/runs", "3", "Accept-Encoding", tc.accept)
			_, ubody := doRequest(t, up.client, http.MethodGet, up.base+"/runs", "3", nil, "Accept-Encoding", tc.accept)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != tc.enc || !bytes.Equal(body, ubody) {
				t.Errorf("%d %q (%d bytes), want the upstream's %d bytes unchanged", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(body), len(ubody))
			}
			if after := p.metric(t, "otcompat_transform_failures_total", `reason="unsupported_encoding"`); after != before+1 {
				t.Errorf("otcompat_transform_failures_total{reason=unsupported_encoding} went %v -> %v, want +1", before, after)
			}
		})
	}
}

// TestHeadNoContentAndNotModifiedPassThrough: bodiless answers go through as
// through a plain proxy, headers included, on run routes and others.
func TestHeadNoContentAndNotModifiedPassThrough(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Etag", `"v1"`)
		switch {
		case r.Method == http.MethodHead:
			w.Header().Set("Content-Length", "4242")
			w.WriteHeader(http.StatusOK)
		case r.Header.Get("If-None-Match") == `"v1"`:
			w.WriteHeader(http.StatusNotModified)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}), false)
	p := startProxy(t, up.flag)
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		status             int
	}{
		{"HEAD run list keeps Content-Length without a body", http.MethodHead, "/runs", nil, 200},
		{"HEAD analysis keeps Content-Length without a body", http.MethodHead, "/protocols/p/analyses/a", nil, 200},
		{"204 on a run list", http.MethodGet, "/runs", nil, 204},
		{"204 on a run", http.MethodPatch, "/runs/r", nil, 204},
		{"204 on delete", http.MethodDelete, "/runs/r", nil, 204},
		{"304 on a run list", http.MethodGet, "/runs", []string{"If-None-Match", `"v1"`}, 304},
		{"304 on a run", http.MethodGet, "/runs/r", []string{"If-None-Match", `"v1"`}, 304},
		{"304 on a protocol", http.MethodGet, "/protocols/p", []string{"If-None-Match", `"v1"`}, 304},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"3", "*"} {
				resp, body := p.do(t, tc.method, tc.path, v, nil, tc.hdr...)
				if resp.StatusCode != tc.status || len(body) != 0 {
					t.Errorf("client %s: %d with %d body bytes, want %d and none", v, resp.StatusCode, len(body), tc.status)
				}
				if et := resp.Header.Get("Etag"); et != `"v1"` {
					t.Errorf("client %s: ETag %q, want the upstream's", v, et)
				}
				if tc.method == http.MethodHead && resp.ContentLength != 4242 {
					t.Errorf("client %s: HEAD Content-Length %d, want the upstream's 4242", v, resp.ContentLength)
				}
			}
		})
	}
}

// TestBodyAboveMaxTransformBytesStreamsUnchanged: a run list larger than
// --max-transform-bytes reaches an old client unchanged, BadRuns included.
func TestBodyAboveMaxTransformBytesStreamsUnchanged(t *testing.T) {
	t.Parallel()
	list := fixtures.Generate(20, 3, true).ListBody(-1)
	if len(list) < 50<<10 {
		t.Fatalf("generated list is only %d bytes", len(list))
	}
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			t.Parallel()
			up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if !chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(list)))
				}
				for off := 0; off < len(list); off += 4096 {
					_, _ = w.Write(list[off:min(off+4096, len(list))])
					w.(http.Flusher).Flush()
				}
			}), false)
			p := startProxy(t, up.flag, "--max-transform-bytes", "1024")
			resp, body := p.get(t, "/runs", "3")
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, list) {
				t.Errorf("got %d (%d bytes), want the upstream's %d bytes unchanged", resp.StatusCode, len(body), len(list))
			}
			if got := p.metric(t, "otcompat_transform_failures_total", `reason="too_large"`); got != 1 {
				t.Errorf("otcompat_transform_failures_total{reason=too_large} = %v, want 1", got)
			}
		})
	}
}
