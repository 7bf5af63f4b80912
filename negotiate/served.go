package negotiate

import (
	"strconv"
	"sync/atomic"

	"github.com/hashicorp/go-version"
)

// UpstreamNewest is robot-server's newest API version (API_VERSION, unchanged
// since 2022); the proxy raises it when the upstream shows a newer one.
const UpstreamNewest = 4

// Negotiator decides the served version. Its upstream newest is learned from
// the Opentrons-Version headers robot-server sends (error responses always
// carry its newest), so it needs no configuration when robot-server moves on.
type Negotiator struct {
	chainNewest    *version.Version
	upstreamNewest atomic.Int64
}

// NewNegotiator returns a Negotiator whose newest version is the higher of
// upstreamNewest and chainNewest (the newest change the proxy can undo; nil
// when there is none).
func NewNegotiator(upstreamNewest int, chainNewest *version.Version) *Negotiator {
	n := &Negotiator{chainNewest: chainNewest}
	n.upstreamNewest.Store(int64(upstreamNewest))
	return n
}

// Newest is the version served to "*" and to clients above it.
func (n *Negotiator) Newest() *version.Version {
	up := cachedVersion(int(n.upstreamNewest.Load()))
	if n.chainNewest != nil && n.chainNewest.GreaterThan(up) {
		return n.chainNewest
	}
	return up
}

// Served is the version the proxy serves to r, and the client's version for
// choosing which changes to undo (nil: undo none). ok is false when the
// header is missing or invalid: such requests are the upstream's to answer.
func (n *Negotiator) Served(r Requested) (served string, client *version.Version, ok bool) {
	switch r.Kind {
	case Newest:
		return n.Newest().Original(), nil, true
	case Number:
		newest := n.Newest()
		c := cachedVersion(r.N)
		if !c.LessThan(newest) {
			return newest.Original(), nil, true
		}
		return strconv.Itoa(r.N), c, true
	}
	return "", nil, false
}

// Observe learns from an Opentrons-Version response header value: the
// upstream never answers with a version above its newest.
func (n *Negotiator) Observe(headerValue string) {
	v, err := strconv.Atoi(headerValue)
	if err != nil {
		return
	}
	for {
		cur := n.upstreamNewest.Load()
		if int64(v) <= cur || n.upstreamNewest.CompareAndSwap(cur, int64(v)) {
			return
		}
	}
}

// UpstreamNewest is the newest version the upstream is known to speak.
func (n *Negotiator) UpstreamNewest() int { return int(n.upstreamNewest.Load()) }

// smallVersions avoids parsing a version per request for the values clients send.
var smallVersions = func() []*version.Version {
	vs := make([]*version.Version, 64)
	for i := range vs {
		vs[i] = intVersion(i)
	}
	return vs
}()

func cachedVersion(n int) *version.Version {
	if n >= 0 && n < len(smallVersions) {
		return smallVersions[n]
	}
	return intVersion(n)
}
