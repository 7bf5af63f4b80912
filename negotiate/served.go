package negotiate

import (
	"strconv"
	"sync"
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
	chainNewest    *version.Version // written under mu
	upstreamNewest atomic.Int64
	mu             sync.Mutex // serialises changes of upstreamNewest, chainNewest and newest
	newest         atomic.Pointer[newestVersion]
}

// newestVersion is Newest, worked out when it changes: go-version's
// comparisons format both versions as strings, four allocations a request.
type newestVersion struct {
	v     *version.Version
	chain *version.Version // the chain newest v was worked out with
	// atLeast is the smallest integer version not below v: clients that
	// ask for it or more get v.
	atLeast int
}

// NewNegotiator returns a Negotiator whose newest version is the higher of
// upstreamNewest and chainNewest (the newest change the proxy can undo; nil
// when there is none).
func NewNegotiator(upstreamNewest int, chainNewest *version.Version) *Negotiator {
	n := &Negotiator{chainNewest: chainNewest}
	n.setUpstreamNewest(int64(upstreamNewest))
	return n
}

func (n *Negotiator) setUpstreamNewest(v int64) {
	n.upstreamNewest.Store(v)
	n.newest.Store(newestOf(v, n.chainNewest))
}

func newestOf(upstream int64, chain *version.Version) *newestVersion {
	nv := &newestVersion{v: cachedVersion(int(upstream)), chain: chain}
	if chain != nil && chain.GreaterThan(nv.v) {
		nv.v = chain
	}
	// From just below the major number: at most a step or two, however
	// large a version the upstream shows.
	nv.atLeast = max(0, int(nv.v.Segments64()[0])-1)
	for cachedVersion(nv.atLeast).LessThan(nv.v) {
		nv.atLeast++
	}
	return nv
}

// SetChainNewest changes the newest change the proxy can undo (nil: none),
// when the chain is replaced by a configuration reload.
func (n *Negotiator) SetChainNewest(v *version.Version) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chainNewest = v
	n.setUpstreamNewest(n.upstreamNewest.Load())
}

// Newest is the version served to "*" and to clients above it.
func (n *Negotiator) Newest() *version.Version { return n.newest.Load().v }

// Served is the version the proxy serves to r, and the client's version for
// choosing which changes to undo (nil: undo none). ok is false when the
// header is missing or invalid: such requests are the upstream's to answer.
func (n *Negotiator) Served(r Requested) (served string, client *version.Version, ok bool) {
	return servedBy(r, n.newest.Load())
}

// ServedWith is Served for a request whose version-change chain has
// chainNewest as its newest change: while a reload replaces the chain, a
// request keeps to the newest version of the chain it took, never the other's.
func (n *Negotiator) ServedWith(r Requested, chainNewest *version.Version) (string, *version.Version, bool) {
	nv := n.newest.Load()
	if nv.chain != chainNewest {
		nv = newestOf(n.upstreamNewest.Load(), chainNewest) // only during a reload
	}
	return servedBy(r, nv)
}

func servedBy(r Requested, newest *newestVersion) (string, *version.Version, bool) {
	switch r.Kind {
	case Newest:
		return newest.v.Original(), nil, true
	case Number:
		if r.N >= newest.atLeast {
			return newest.v.Original(), nil, true
		}
		return strconv.Itoa(r.N), cachedVersion(r.N), true
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
	if int64(v) <= n.upstreamNewest.Load() {
		return // nearly always: no lock
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if int64(v) > n.upstreamNewest.Load() {
		n.setUpstreamNewest(int64(v))
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
