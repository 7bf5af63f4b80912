package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// socketPair returns the two ends of a connected TCP or Unix socket.
func socketPair(t *testing.T, network string) (a, b net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// Conns are the implementations every case runs against: what
// New gives (raw calls on Linux) and the net.Conn's own.
var Conns = []struct {
	name string
	wrap func(net.Conn) Conn
}{
	{"New", New},
	{"plain", func(c net.Conn) Conn { return &plainSock{Conn: c} }},
}

// pieces splits n patterned bytes into pieces of the given size, with an
// empty piece between each.
func pieces(n, size int) (all []byte, vec [][]byte) {
	all = make([]byte, n)
	for i := range all {
		all[i] = byte(i*7 + i>>8)
	}
	for p := all; len(p) > 0; {
		k := min(size, len(p))
		vec = append(vec, p[:k], nil)
		p = p[k:]
	}
	return all, vec
}

// TestSockIOCarriesBytes writes vectors through small socket buffers, so
// writes stop part-way and wait for room, and reads them back in pieces.
func TestSockIOCarriesBytes(t *testing.T) {
	for _, impl := range Conns {
		for _, tt := range []struct {
			name         string
			network      string
			n, pieceSize int
		}{
			{"one small piece", "tcp", 200, 200},
			{"57 KB in 3 pieces", "tcp", 56519, 20000},
			{"more pieces than IOV_MAX", "tcp", 150_000, 100},
			{"beyond rawIOMax", "tcp", rawIOMax*3 + 5, 4096},
			{"unix socket", "unix", 100_000, 3000},
		} {
			t.Run(impl.name+"/"+tt.name, func(t *testing.T) {
				a, b := socketPair(t, tt.network)
				if tc, ok := a.(*net.TCPConn); ok {
					_ = tc.SetWriteBuffer(16 << 10)
					_ = b.(*net.TCPConn).SetReadBuffer(16 << 10)
				}
				w, r := impl.wrap(a), impl.wrap(b)
				all, vec := pieces(tt.n, tt.pieceSize)
				done := make(chan error, 1)
				go func() {
					n, err := w.WriteVector(vec)
					if err == nil && n != int64(len(all)) {
						err = io.ErrShortWrite
					}
					if err != nil {
						a.Close() // the reader stops at once
					}
					done <- err
				}()
				got := make([]byte, 0, len(all))
				buf := make([]byte, 1000)
				_ = b.SetReadDeadline(time.Now().Add(time.Minute))
				for len(got) < len(all) {
					n, err := r.Read(buf)
					if err != nil {
						select {
						case werr := <-done:
							t.Fatalf("read after %d bytes: %v (writeVector: %v)", len(got), err, werr)
						default:
							t.Fatalf("read after %d bytes: %v", len(got), err)
						}
					}
					got = append(got, buf[:n]...)
				}
				if err := <-done; err != nil {
					t.Fatalf("writeVector: %v", err)
				}
				if !bytes.Equal(got, all) {
					t.Fatalf("%d bytes arrived different from the %d sent", len(got), len(all))
				}
			})
		}
	}
}

// TestSockIOErrors checks that failures read as the net.Conn's own do: the
// proxy tells a client gone, a timeout and a stale connection apart by them.
func TestSockIOErrors(t *testing.T) {
	for _, impl := range Conns {
		t.Run(impl.name, func(t *testing.T) {
			t.Run("peer closed: EOF", func(t *testing.T) {
				a, b := socketPair(t, "tcp")
				_, _ = impl.wrap(a).Write([]byte("last"))
				a.Close()
				got, err := io.ReadAll(impl.wrap(b))
				if err != nil || string(got) != "last" {
					t.Fatalf("ReadAll = %q, %v; want the last bytes, then EOF", got, err)
				}
				if n, err := impl.wrap(b).Read(make([]byte, 8)); n != 0 || err != io.EOF {
					t.Fatalf("Read after EOF = %d, %v", n, err)
				}
			})
			t.Run("deadline", func(t *testing.T) {
				_, b := socketPair(t, "tcp")
				_ = b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
				_, err := impl.wrap(b).Read(make([]byte, 8))
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Read past the deadline: %v; want a timeout", err)
				}
				if oe := (*net.OpError)(nil); !errors.As(err, &oe) || oe.Op != "read" {
					t.Fatalf("Read past the deadline: %#v; want a read OpError", err)
				}
			})
			t.Run("closed locally", func(t *testing.T) {
				a, _ := socketPair(t, "tcp")
				s := impl.wrap(a)
				a.Close()
				if _, err := s.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Read on a closed socket: %v; want net.ErrClosed", err)
				}
				if _, err := s.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Write on a closed socket: %v; want net.ErrClosed", err)
				}
			})
			t.Run("peer reset", func(t *testing.T) {
				a, b := socketPair(t, "tcp")
				_ = b.(*net.TCPConn).SetLinger(0)
				b.Close() // sends RST
				s := impl.wrap(a)
				var err error
				for i := 0; i < 100 && err == nil; i++ { // the RST may take a moment
					_, err = s.Write(make([]byte, 1000))
					time.Sleep(time.Millisecond)
				}
				if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
					t.Fatalf("Write to a reset peer: %v; want ECONNRESET or EPIPE", err)
				}
				if oe := (*net.OpError)(nil); !errors.As(err, &oe) || oe.Op != "write" {
					t.Fatalf("Write to a reset peer: %#v; want a write OpError", err)
				}
			})
		})
	}
}

// TestSockIOAllocatesNothing: the raw calls reuse their state.
func TestSockIOAllocatesNothing(t *testing.T) {
	a, b := socketPair(t, "tcp")
	w, r := New(a), New(b)
	if _, plain := w.(*plainSock); plain {
		t.Skip("no raw socket I/O on this system")
	}
	msg, buf := [][]byte{[]byte("head "), []byte("body")}, make([]byte, 64)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := w.WriteVector(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf[:9]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations a write and read; want 0", allocs)
	}
}

// TestSockIOOnOtherConns: a net.Conn that is no socket keeps its own I/O.
func TestSockIOOnOtherConns(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := New(a).(*plainSock); !ok {
		t.Fatalf("New(net.Pipe) = %T; want *plainSock", New(a))
	}
}
