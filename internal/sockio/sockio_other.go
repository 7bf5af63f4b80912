//go:build !linux

package sockio

import "net"

// New returns c's own reads and writes: raw socket I/O is for Linux.
func New(c net.Conn) Conn { return &plainSock{Conn: c} }
