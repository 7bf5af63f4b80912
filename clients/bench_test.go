package clients

import "testing"

// BenchmarkMatch: the cost the issue's two rules add to a request, for an
// App that matches the first rule and one that falls through both.
func BenchmarkMatch(b *testing.B) {
	rs := issueRules(b)
	for _, bc := range []struct {
		name string
		req  Request
	}{
		{"app-8.1.0", Request{UserAgent: app810, Peer: Addr{Unix: true}, XForwardedFor: []string{"192.168.1.20"}}},
		{"app-7.2.2", Request{UserAgent: app722, Peer: Addr{Unix: true}, XForwardedFor: []string{"192.168.1.20"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.req.UserAgent)))
			b.ReportAllocs()
			for b.Loop() {
				rs.Match(bc.req)
			}
		})
	}
}
