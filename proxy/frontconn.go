package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"otcompat/internal/sockio"
)

// frontWatchDelay: a request still running after about this long gets a
// read that notices the client leaving (which cancels the upstream request).
// Quick requests, nearly all, never pay for it, nor for a timer: one sweep
// per Front looks every frontWatchDelay.
const frontWatchDelay = 20 * time.Millisecond

// frontConn is one client connection served by the front lane.
type frontConn struct {
	front  *Front
	raw    net.Conn
	sock   sockio.Conn // raw's reads (through cr) and writes
	cr     replayConn  // the socket, after a byte the watch may have read
	br     *bufio.Reader
	remote string
	idle   atomic.Bool
	w      frontWriter
	keys   []string    // frontWriter's scratch
	header http.Header // frontWriter's, cleared for each request
	// frontWriter's writev vector: kept here, a local one escapes to the
	// heap twice a response.
	vec [][]byte

	// The client-leaving watch of the request in flight (startWatch).
	busySince atomic.Int64 // UnixNano when the request started; 0 between requests
	mu        sync.Mutex
	armed     bool
	watching  chan struct{} // closed when the watch's read returns
	ctx       *requestCtx
	gone      bool
}

func newFrontConn(f *Front, c net.Conn) *frontConn {
	fc := &frontConn{front: f, raw: c}
	if ra := c.RemoteAddr(); ra != nil {
		fc.remote = ra.String()
	}
	fc.sock = sockio.New(c)
	fc.cr.Conn, fc.cr.src = c, fc.sock
	fc.br = bufio.NewReaderSize(&fc.cr, 4<<10)
	return fc
}

func (c *frontConn) serve() {
	handedOff := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			// echo recovers handler panics; this is the front lane's own.
			c.front.log.Error("panic serving a connection", "remote", c.remote, "panic", v)
		}
		c.busySince.Store(0)
		if !handedOff {
			c.raw.Close()
		}
		c.front.untrack(c)
	}()
	for {
		head, verdict, err := c.readHead()
		if err != nil {
			return // the client left, went quiet, or the server is closing
		}
		if verdict == headHandOff {
			buffered, _ := c.br.Peek(c.br.Buffered())
			c.front.handOff(c.raw, append(append([]byte(nil), buffered...), c.cr.pending...))
			handedOff = true
			return
		}
		_, _ = c.br.Discard(head.size)
		if !c.serveRequest(&head) || c.front.closing.Load() {
			return
		}
	}
}

// readHead waits for the next request and reads its head.
func (c *frontConn) readHead() (requestHead, headVerdict, error) {
	c.idle.Store(true)
	_ = c.raw.SetReadDeadline(time.Now().Add(idleTimeout))
	if c.front.closing.Load() { // after the deadline: see wakeIfIdle
		return requestHead{}, 0, net.ErrClosed
	}
	if _, err := c.br.Peek(1); err != nil {
		return requestHead{}, 0, err
	}
	c.idle.Store(false)
	for waited := false; ; waited = true {
		b, _ := c.br.Peek(c.br.Buffered())
		head, verdict := parseHead(b)
		if verdict != headIncomplete {
			// The read deadline stays: nothing reads the connection during
			// the request but a watch, which clears it (startWatch), and a
			// connection handed off gets none (handOff).
			return head, verdict, nil
		}
		if c.br.Buffered() == c.br.Size() {
			// A head over 4 KiB: net/http applies its header limit.
			return head, headHandOff, nil
		}
		if !waited {
			// Only a head that did not come whole needs the header deadline
			// (nearly all come in one read).
			_ = c.raw.SetReadDeadline(time.Now().Add(readHeaderTimeout))
		}
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			return requestHead{}, 0, err
		}
	}
}

// wakeIfIdle ends a connection waiting for its next request (shutdown).
func (c *frontConn) wakeIfIdle() {
	if c.idle.Load() {
		_ = c.raw.SetReadDeadline(time.Now())
	}
}

// serveRequest runs the handler for one request and completes its response;
// it reports whether the connection can carry another.
func (c *frontConn) serveRequest(head *requestHead) bool {
	// The exchange comes with the context here, which spares observe a copy
	// of the request to put it there.
	ctx := newRequestCtx(context.Background())
	defer ctx.cancel()
	r := head.request(ctx, c.remote)
	c.w.reset(c, r)
	c.arm(ctx)
	c.front.p.serveFront(&c.w, r)
	gone := c.disarm()
	return c.w.finish() && !gone
}

// arm makes the request in flight one Front.sweep may start a watch for.
func (c *frontConn) arm(ctx *requestCtx) {
	c.mu.Lock()
	c.armed, c.ctx, c.gone = true, ctx, false
	c.mu.Unlock()
	c.busySince.Store(time.Now().UnixNano())
}

// startWatch starts the read that notices the client leaving, unless one
// runs or the request is over. A read that ends with an error (not our
// deadline) means the client left, and the request is cancelled. A byte read
// is the next pipelined request's and is kept for it.
func (c *frontConn) startWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed || c.watching != nil || len(c.cr.pending) > 0 || c.br.Buffered() > 0 {
		return
	}
	done := make(chan struct{})
	c.watching = done
	// Before the read starts: disarm's deadline, set after it takes c.mu,
	// must not be cleared.
	_ = c.raw.SetReadDeadline(time.Time{})
	go func() {
		defer close(done)
		var b [1]byte
		n, err := c.raw.Read(b[:])
		if n == 1 {
			c.cr.pending = append(c.cr.pending, b[0])
			return
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			c.cancelRequest()
			c.mu.Lock()
			c.gone = true
			c.mu.Unlock()
		}
	}()
}

// disarm stops the watch once the handler is done; it reports whether the
// client left meanwhile.
func (c *frontConn) disarm() (gone bool) {
	c.busySince.Store(0)
	c.mu.Lock()
	c.armed = false
	done := c.watching
	c.mu.Unlock()
	if done != nil {
		_ = c.raw.SetReadDeadline(time.Unix(1, 0)) // ends the watch's read
		<-done
		_ = c.raw.SetReadDeadline(time.Time{})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching, c.ctx = nil, nil
	return c.gone
}

// cancelRequest ends the context of the request in flight.
func (c *frontConn) cancelRequest() {
	c.mu.Lock()
	ctx := c.ctx
	c.mu.Unlock()
	if ctx != nil {
		ctx.cancel()
	}
}
