//go:build !linux

package proxy

import "net"

func newSockIO(c net.Conn) sockIO { return &plainSock{Conn: c} }
