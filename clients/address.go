package clients

import (
	"net/netip"
	"strings"
)

// Addr is a client's address: an IP address, or the Unix socket (a local
// peer with no address of its own). The zero Addr is unknown: no remote
// condition matches it.
type Addr struct {
	IP   netip.Addr
	Unix bool
}

// Known reports whether a is an address at all.
func (a Addr) Known() bool { return a.Unix || a.IP.IsValid() }

func (a Addr) String() string {
	switch {
	case a.Unix:
		return "unix"
	case a.IP.IsValid():
		return a.IP.String()
	}
	return "unknown"
}

// Nets is a set of addresses: CIDR prefixes, and perhaps the Unix socket.
type Nets struct {
	Prefixes []netip.Prefix
	Unix     bool
}

// DefaultTrusted is trustedProxies when the file does not set it: the Unix
// socket and loopback, where nginx sits on a robot.
var DefaultTrusted = Nets{Unix: true, Prefixes: []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
}}

// Add reads one entry of trustedProxies or remote: a CIDR prefix
// ("10.0.0.0/8", "::1/128") or the word unix.
func (n *Nets) Add(entry string) error {
	if entry == "unix" {
		n.Unix = true
		return nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return err
	}
	n.Prefixes = append(n.Prefixes, p.Masked())
	return nil
}

// Contains reports whether a is in n. An IPv4 address written as IPv6
// (::ffff:10.0.0.1) is taken as the IPv4 one.
func (n Nets) Contains(a Addr) bool {
	if a.Unix {
		return n.Unix
	}
	if !a.IP.IsValid() {
		return false
	}
	ip := a.IP.Unmap()
	for _, p := range n.Prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ClientAddr is the address of the client behind peer. When peer is not a
// trusted proxy, it is peer. When it is, the X-Forwarded-For entries (the
// header lines in the order they came, each a comma-separated list) are read
// from the right: each proxy appends the address it took the request from,
// so the right-most entry that is not a trusted proxy is the first one that
// no trusted party vouches for, and is the client. Entries to its left may
// have been written by the client itself and are ignored. When every entry
// is trusted, the left-most (the first hop) is the client. A trusted peer
// that forwards no entry leaves the client unknown: a trusted proxy is
// never taken for the client itself, so a local process talking to the
// proxy directly does not pass for a client that nginx forwarded from
// loopback. An entry that is not an address also leaves the client unknown.
func ClientAddr(peer Addr, xff []string, trusted Nets) Addr {
	if !trusted.Contains(peer) {
		return peer
	}
	var client Addr
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				line, entry = line[:j], line[j+1:]
			} else {
				line, entry = "", line
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			ip, ok := parseForwarded(entry)
			if !ok {
				return Addr{}
			}
			client = Addr{IP: ip}
			if !trusted.Contains(client) {
				return client
			}
		}
	}
	return client
}

// parseForwarded reads an X-Forwarded-For entry: an address, perhaps with a
// port ("10.0.0.1:5123", "[::1]:5123"), as some proxies write them.
func parseForwarded(s string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
