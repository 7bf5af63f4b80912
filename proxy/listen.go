package proxy

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
)

// CheckAddr reports whether addr is host:port or unix:/absolute/path.
func CheckAddr(addr string) error {
	_, err := splitAddr(addr)
	return err
}

// splitAddr returns the Unix socket path of addr, or "" for host:port.
func splitAddr(addr string) (socket string, err error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", fmt.Errorf("address %q: want host:port or unix:/path", addr)
		}
		return "", nil
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("address %q: a Unix socket needs an absolute path", addr)
	}
	return path, nil
}

// Listen opens host:port, or unix:/path for a Unix socket. A stale socket
// file left by a previous run is removed; any other file there is an error.
func Listen(addr string) (net.Listener, error) {
	path, err := splitAddr(addr)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listen address %q: %s exists and is not a socket", addr, path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen address %q: another process is serving on it", addr)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	// nginx (or another local client) connects as a different user.
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
