package proxy

import (
	"iter"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/http/httpguts"
)

// hopHeaders are the hop-by-hop headers (RFC 9110, 7.6.1) a proxy must not forward.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// removeHopHeaders deletes the hop-by-hop headers and those Connection names.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name) // the names are canonical: Del would canonicalise again
	}
}

// notForwarded are the client's fields the upstream does not get as sent:
// hop-by-hop ones, the explain switch (between client and proxy), and those
// outboundFields sets itself.
var notForwarded = func() map[string]bool {
	m := map[string]bool{"Otcompat-Explain": true, "Forwarded": true, "X-Forwarded-For": true,
		"X-Forwarded-Host": true, "X-Forwarded-Proto": true, echo.HeaderXRequestID: true}
	for _, h := range hopHeaders {
		m[h] = true
	}
	return m
}()

// outboundFields yields the header fields the upstream gets for r: the
// client's end-to-end fields, X-Forwarded-* appended, the request id. The
// direct path writes them straight to the connection; building an
// http.Header for each request cost a dozen allocations.
func (p *Proxy) outboundFields(r *http.Request, ex *exchange) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		named := r.Header["Connection"]
		for k, vs := range r.Header {
			if notForwarded[k] || httpguts.HeaderValuesContainsToken(named, k) {
				continue
			}
			for _, v := range vs {
				if !yield(k, v) {
					return
				}
			}
		}
		prior := r.Header["X-Forwarded-For"]
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			if len(prior) > 0 {
				ip = strings.Join(prior, ", ") + ", " + ip
			}
			if !yield("X-Forwarded-For", ip) {
				return
			}
		} else {
			// A Unix-socket client (nginx on a robot) has no address: keep
			// what it sent.
			for _, v := range prior {
				if !yield("X-Forwarded-For", v) {
					return
				}
			}
		}
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		_ = yield("X-Forwarded-Host", r.Host) && yield("X-Forwarded-Proto", proto) &&
			yield(echo.HeaderXRequestID, ex.id)
	}
}

// outboundHeader is outboundFields as an http.Header, for the requests a
// version change makes on its own (respond.go's fetch).
func (p *Proxy) outboundHeader(r *http.Request, ex *exchange) http.Header {
	h := http.Header{}
	for k, v := range p.outboundFields(r, ex) {
		h[k] = append(h[k], v)
	}
	return h
}
