package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	firstChunk = 64 << 10
	bigBody    = 10 << 20
	bigUpload  = 5 << 20
	// streamWait is how long a test upstream waits for proof that its first
	// chunk went through before it gives up and sends the rest anyway.
	streamWait = 5 * time.Second
)

// pattern is a deterministic body of n bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	var x uint32 = 2463534242
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestLargeResponseStreamsThroughWithoutBuffering sends 10 MB through the
// proxy: the upstream sends a first chunk and waits until the client has it
// before sending the rest, which only works if the proxy does not buffer.
func TestLargeResponseStreamsThroughWithoutBuffering(t *testing.T) {
	t.Parallel()
	body := pattern(bigBody)
	for _, tc := range []struct {
		name, path, version string
		chunked             bool
	}{
		{"analysis with Content-Length", "/protocols/p/analyses/a", "3", false},
		{"analysis chunked", "/protocols/p/analyses/a", "3", true},
		{"run list for a new client", "/runs", "*", false},
		{"command list for an old client", "/runs/r/commands", "3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gotFirst := make(chan struct{})
			var waitedOut atomic.Bool
			up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				_, _ = w.Write(body[:firstChunk])
				w.(http.Flusher).Flush()
				select {
				case <-gotFirst:
				case <-time.After(streamWait):
					waitedOut.Store(true)
				case <-r.Context().Done():
					return
				}
				for off := firstChunk; off < len(body); off += 1 << 20 {
					_, _ = w.Write(body[off:min(off+1<<20, len(body))])
				}
			}), false)
			p := startProxy(t, up.flag)

			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+tc.path, nil)
			req.Header.Set("Opentrons-Version", tc.version)
			resp, err := p.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			h := sha256.New()
			if _, err := io.CopyN(h, resp.Body, firstChunk); err != nil {
				t.Fatalf("reading the first chunk: %v", err)
			}
			close(gotFirst)
			n, err := io.Copy(h, resp.Body)
			if err != nil {
				t.Fatalf("reading the rest: %v", err)
			}
			if waitedOut.Load() {
				t.Errorf("the first %d bytes reached the client only after the upstream sent more: the proxy buffers", firstChunk)
			}
			if got := hex.EncodeToString(h.Sum(nil)); firstChunk+n != int64(len(body)) || got != sum(body) {
				t.Errorf("got %d bytes sha256 %s, want %d bytes %s", firstChunk+n, got, len(body), sum(body))
			}
			if !tc.chunked && resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(body))
			}
		})
	}
}

// TestLargeUploadStreamsToUpstream sends 5 MB up through the proxy: the
// client sends a first part and waits until the upstream has it before
// sending the rest, which only works if the proxy does not buffer uploads.
func TestLargeUploadStreamsToUpstream(t *testing.T) {
	t.Parallel()
	payload := pattern(bigUpload)
	for _, tc := range []struct {
		name      string
		multipart bool
	}{
		{"multipart protocol upload, chunked", true},
		{"plain body with Content-Length", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			upGotFirst := make(chan struct{})
			type received struct {
				n           int64
				sum, ct, cl string
			}
			got := make(chan received, 1)
			up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := sha256.New()
				n, err := io.CopyN(h, r.Body, firstChunk)
				if err == nil {
					close(upGotFirst)
					var m int64
					m, err = io.Copy(h, r.Body)
					n += m
				}
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				got <- received{n, hex.EncodeToString(h.Sum(nil)), r.Header.Get("Content-Type"), r.Header.Get("Content-Length")}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, `{"data": {"id": "p"}}`)
			}), false)
			p := startProxy(t, up.flag)

			pr, pw := io.Pipe()
			sent := sha256.New()
			w := io.MultiWriter(pw, sent)
			ct := "application/octet-stream"
			var mw *multipart.Writer
			if tc.multipart {
				mw = multipart.NewWriter(w)
				ct = mw.FormDataContentType()
			}
			var waitedOut atomic.Bool
			writeErr := make(chan error, 1)
			go func() {
				err := writeUpload(w, mw, payload, upGotFirst, &waitedOut)
				pw.CloseWithError(err)
				writeErr <- err
			}()
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/protocols", pr)
			req.Header.Set("Opentrons-Version", "3")
			req.Header.Set("Content-Type", ct)
			if !tc.multipart {
				req.ContentLength = int64(len(payload))
			}
			resp, err := p.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err := <-writeErr; err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d %s", resp.StatusCode, body)
			}
			if waitedOut.Load() {
				t.Errorf("the upstream got the first %d bytes only after the client sent more: the proxy buffers uploads", firstChunk)
			}
			r := <-got
			if want := hex.EncodeToString(sent.Sum(nil)); r.sum != want {
				t.Errorf("upstream received %d bytes sha256 %s, client sent sha256 %s", r.n, r.sum, want)
			}
			if r.ct != ct {
				t.Errorf("upstream Content-Type %q, want %q", r.ct, ct)
			}
			if !tc.multipart && r.cl != strconv.Itoa(len(payload)) {
				t.Errorf("upstream Content-Length %q, want %d", r.cl, len(payload))
			}
		})
	}
}

// writeUpload writes payload (as a multipart file when mw is set), pausing
// after the first chunk until the upstream has it.
func writeUpload(w io.Writer, mw *multipart.Writer, payload []byte, upGotFirst <-chan struct{}, waitedOut *atomic.Bool) error {
	if mw != nil {
		part, err := mw.CreateFormFile("files", "protocol.py")
		if err != nil {
			return err
		}
		w = part
	}
	if _, err := w.Write(payload[:firstChunk+1]); err != nil {
		return err
	}
	select {
	case <-upGotFirst:
	case <-time.After(streamWait):
		waitedOut.Store(true)
	}
	if _, err := w.Write(payload[firstChunk+1:]); err != nil {
		return err
	}
	if mw != nil {
		return mw.Close()
	}
	return nil
}

// TestLongPollIsNotCut waits 3 s for a waitUntilComplete command, as robot
// clients do (for up to an hour): the proxy adds no timeout of its own.
func TestLongPollIsNotCut(t *testing.T) {
	t.Parallel()
	const wait = 3 * time.Second
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"data": {"id": "c", "status": "succeeded", "path": %q}}`, r.URL.RequestURI())
	}), false)
	p := startProxy(t, up.flag)
	start := time.Now()
	resp, body := p.do(t, http.MethodPost, "/runs/x/commands?waitUntilComplete=true&timeout=3600000", "3",
		strings.NewReader(`{"data": {"commandType": "home", "params": {}}}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated ||
		string(body) != `{"data": {"id": "c", "status": "succeeded", "path": "/runs/x/commands?waitUntilComplete=true&timeout=3600000"}}` {
		t.Fatalf("after %v: %d %s", time.Since(start), resp.StatusCode, body)
	}
	if el := time.Since(start); el < wait {
		t.Errorf("answered after %v, before the upstream's %v", el, wait)
	}
}
