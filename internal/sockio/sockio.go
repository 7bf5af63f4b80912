// Package sockio reads and writes the proxy's sockets on its hot path: the
// client's request heads and responses, and the direct path's requests to
// the upstream and its answers. On Linux it does so with raw system calls
// (sockio_linux.go says why); elsewhere, and for anything but a TCP or Unix
// socket, with the net.Conn's own methods. Deadlines, closing and splicing
// stay with the net.Conn itself.
package sockio

import (
	"io"
	"net"
)

// Conn reads and writes one socket.
type Conn interface {
	io.Reader
	io.Writer
	// WriteVector writes every byte of the pieces, in one writev where the
	// socket takes them.
	WriteVector(pieces [][]byte) (int64, error)
}

// rawIOMax is the most one raw call (sockio_linux.go) reads or writes:
// about 25–50 µs of copying. Longer writes take the net.Conn's ordinary
// path, so that a multi-megabyte body never holds a P for long.
const rawIOMax = 256 << 10

// plainSock is a net.Conn's own reads and writes.
type plainSock struct {
	net.Conn
	bufs net.Buffers // writeVector's, kept here as a local one escapes
}

func (s *plainSock) WriteVector(pieces [][]byte) (int64, error) {
	s.bufs = pieces
	n, err := s.bufs.WriteTo(s.Conn)
	s.bufs = nil
	return n, err
}
