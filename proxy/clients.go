package proxy

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"otcompat/clients"
	"otcompat/negotiate"
	"otcompat/transforms"
)

// Settings are what a configuration reload changes: the version-change
// chain and the client rules. A request loads them once, when forward
// starts, and keeps them to its end, so a reload never mixes two
// configurations in one request.
type Settings struct {
	Chain   *transforms.Chain
	Clients *clients.Rules // nil or empty: the header alone decides
}

// Settings returns the settings new requests are served under.
func (p *Proxy) Settings() *Settings { return p.settings.Load() }

// SetSettings makes s the settings of every request that starts from now
// on; requests in flight keep theirs. The negotiator's newest version
// follows the new chain.
func (p *Proxy) SetSettings(s *Settings) {
	p.settings.Store(s)
	p.cfg.Negotiator.SetChainNewest(s.Chain.Newest())
}

func newReloadCounter(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otcompat_config_reloads_total",
		Help: "Configuration file reloads (SIGHUP), by result: ok, or error when the file was refused and the running configuration stayed.",
	}, []string{"result"})
	c.WithLabelValues("ok")
	c.WithLabelValues("error")
	reg.MustRegister(c)
	return c
}

// CountReload counts a configuration reload: err nil for one that took
// effect, else one that was refused.
func (p *Proxy) CountReload(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	p.reloads.WithLabelValues(result).Inc()
}

// ruleNone is the rule label of requests no rule matched.
const ruleNone = "none"

// negotiate decides the served version of r and the changes to undo, and
// records them in ex. Only a request with a valid Opentrons-Version meets
// the client rules: the others stay the upstream's to answer.
func (p *Proxy) negotiate(r *http.Request, ex *exchange, s *Settings) {
	values := r.Header.Values(negotiate.Header)
	if len(values) > 0 {
		ex.requested = values[0]
	}
	req := negotiate.Parse(values)
	chainNewest := s.Chain.Newest()
	served, client, ok := p.cfg.Negotiator.ServedWith(req, chainNewest)
	if !ok {
		return
	}
	// Without rules the header alone decides, at no extra cost.
	if !s.Clients.Empty() {
		if rule := s.Clients.Match(clientRequest(r)); rule != nil {
			ex.rule = rule.Name
			pinned := negotiate.Requested{Kind: negotiate.Newest}
			if !rule.Serve.Newest {
				pinned = negotiate.Requested{Kind: negotiate.Number, N: rule.Serve.Version}
			}
			served, client, _ = p.cfg.Negotiator.ServedWith(pinned, chainNewest)
		}
	}
	ex.served = served
	ex.plan = s.Chain.Plan(client, r.Method, r.URL.Path)
}

// clientRequest is what the client rules look at in r.
func clientRequest(r *http.Request) clients.Request {
	return clients.Request{
		UserAgent:     r.Header.Get("User-Agent"),
		Peer:          peerAddr(r),
		XForwardedFor: r.Header.Values("X-Forwarded-For"),
		Header:        r.Header,
	}
}

// peerAddr is the address of the connection r came on. The proxy listens on
// TCP, where that is ip:port, or on a Unix socket, where it is not an
// address at all.
func peerAddr(r *http.Request) clients.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return clients.Addr{IP: ap.Addr().Unmap()}
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la.Network() == "unix" {
		return clients.Addr{Unix: true}
	}
	if r.RemoteAddr == "" || r.RemoteAddr == "@" {
		return clients.Addr{Unix: true}
	}
	return clients.Addr{}
}

// ruleLabel is the rule of ex for metrics and logs.
func (ex *exchange) ruleLabel() string {
	if ex.rule == "" {
		return ruleNone
	}
	return ex.rule
}
