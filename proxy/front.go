package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Front serves the proxy's clients. Requests the direct path takes (body-less
// GET and HEAD: nearly all of an API client's traffic) are read and answered
// by its own small HTTP/1.1 loop; the first request on a connection that is
// anything else hands the whole connection, bytes already read included, to
// a net/http server for the rest of its life.
//
// Why: for a 57 KB run list net/http spent more CPU than nginx does for the
// whole exchange. Per request it starts a background read to notice a
// client leaving (a read, a wake-up write, a goroutine switch), and its 4 KiB
// output buffer splits a response into several writes. The front lane writes
// a response in one go and watches for a client leaving only once a request
// has taken longer than frontWatchDelay.
type Front struct {
	p       *Proxy
	log     *slog.Logger
	srv     *http.Server // the connections handed off
	handoff *handoffListener
	closing atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[*frontConn]struct{}
	wg    sync.WaitGroup
}

// NewFront returns the client-facing server for p, with NewServer's limits.
func NewFront(p *Proxy, log *slog.Logger) *Front {
	return &Front{p: p, log: log, srv: NewServer(p.Handler(), log), conns: map[*frontConn]struct{}{}}
}

// Serve accepts connections on l until Shutdown or Close, and returns
// http.ErrServerClosed after them, like http.Server.
func (f *Front) Serve(l net.Listener) error {
	f.mu.Lock()
	if f.ln != nil {
		f.mu.Unlock()
		return errors.New("proxy: Front.Serve called twice")
	}
	f.ln = l
	f.handoff = newHandoffListener(l.Addr())
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.srv.Serve(f.handoff)
	}()
	defer func() { <-done }()
	defer f.handoff.Close()
	stopSweep := make(chan struct{})
	defer close(stopSweep)
	go f.sweep(stopSweep)
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if f.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				f.log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if f.p.direct == nil {
			f.handOff(c, nil) // an https upstream: the direct path is off
			continue
		}
		fc := newFrontConn(f, c)
		if !f.track(fc) {
			c.Close()
			continue
		}
		go fc.serve()
	}
}

// sweep starts the client-leaving watch of requests running longer than
// frontWatchDelay.
func (f *Front) sweep(stop <-chan struct{}) {
	t := time.NewTicker(frontWatchDelay)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			f.mu.Lock()
			for fc := range f.conns {
				if since := fc.busySince.Load(); since != 0 && now.UnixNano()-since >= int64(frontWatchDelay) {
					fc.startWatch()
				}
			}
			f.mu.Unlock()
		}
	}
}

func (f *Front) track(fc *frontConn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing.Load() {
		return false
	}
	f.conns[fc] = struct{}{}
	f.wg.Add(1)
	return true
}

func (f *Front) untrack(fc *frontConn) {
	f.mu.Lock()
	delete(f.conns, fc)
	f.mu.Unlock()
	f.wg.Done()
}

// handOff gives c to net/http, which first reads the bytes already read from
// it. The framing guard (framing.go) follows the connection from here on:
// only handed-off requests can have bodies.
func (f *Front) handOff(c net.Conn, read []byte) {
	_ = c.SetDeadline(time.Time{})
	f.handoff.give(&framingConn{Conn: &replayConn{Conn: c, pending: read}})
}

// Shutdown stops accepting, closes idle connections, lets requests in flight
// finish, and returns when all connections are closed or ctx ends.
func (f *Front) Shutdown(ctx context.Context) error {
	f.beginClose()
	f.mu.Lock()
	for fc := range f.conns {
		fc.wakeIfIdle()
	}
	f.mu.Unlock()
	err := f.srv.Shutdown(ctx)
	idle := make(chan struct{})
	go func() { f.wg.Wait(); close(idle) }()
	select {
	case <-idle:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the listener and every connection at once.
func (f *Front) Close() error {
	f.beginClose()
	f.mu.Lock()
	for fc := range f.conns {
		fc.raw.Close()
	}
	f.mu.Unlock()
	return f.srv.Close()
}

func (f *Front) beginClose() {
	f.mu.Lock()
	f.closing.Store(true)
	ln := f.ln
	f.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// handoffListener feeds handed-off connections to net/http's Serve.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// replayConn reads pending bytes (read from the socket earlier), then the
// socket (through src if set).
type replayConn struct {
	net.Conn
	pending []byte
	src     io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.src != nil {
		return c.src.Read(p)
	}
	return c.Conn.Read(p)
}

// ReadFrom keeps splicing into the socket possible.
func (c *replayConn) ReadFrom(r io.Reader) (int64, error) { return readFromVia(c.Conn, r) }
