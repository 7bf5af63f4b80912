package proxy

import (
	"io"
	"net"
)

// sockIO is how the proxy's hot path reads and writes a socket: the client's
// request heads and responses, and the direct path's requests and answers.
// Deadlines, closing and splicing stay with the net.Conn itself.
type sockIO interface {
	io.Reader
	io.Writer
	// writeVector writes every byte of the pieces, in one writev where the
	// socket takes them.
	writeVector(pieces [][]byte) (int64, error)
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

func (s *plainSock) writeVector(pieces [][]byte) (int64, error) {
	s.bufs = pieces
	n, err := s.bufs.WriteTo(s.Conn)
	s.bufs = nil
	return n, err
}
