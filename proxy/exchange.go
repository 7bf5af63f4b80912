package proxy

import (
	"context"
	"net/http"
	"strings"
	"time"

	"otcompat/transforms"
)

// exchange is what the proxy learns about one request on its way through,
// for the response path, the access log, metrics and explain headers.
type exchange struct {
	id        string
	idField   [1]string   // id, as the response's X-Request-Id values
	header    http.Header // the client's response header
	start     time.Time
	requested string // the client's Opentrons-Version, as sent
	served    string // the version served; "" when the header is the upstream's to reject
	rule      string // the client rule that chose served; "" when none did
	plan      transforms.Plan
	applied   []transforms.Change
	skipped   string // why a planned change was not made
	explain   bool
	// upstreamErr is the kind of upstream failure this request met ("":
	// none); record counts it, once a request.
	upstreamErr string
	// upgraded: the upstream switched protocols. ReverseProxy writes that
	// 101 on the hijacked connection, past the response writer record reads.
	upgraded bool
}

type exchangeKey struct{}

func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// appliedNames lists the applied changes as name@version, or "none".
func (ex *exchange) appliedNames() string {
	if len(ex.applied) == 0 {
		return "none"
	}
	names := make([]string, len(ex.applied))
	for i, c := range ex.applied {
		names[i] = c.Name() + "@" + c.Version().Original()
	}
	return strings.Join(names, ",")
}
