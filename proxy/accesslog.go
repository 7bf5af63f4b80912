package proxy

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"otcompat/accesslog"
)

// observe starts each request's exchange (keeping the client's X-Request-Id
// or making one, which also goes upstream), and once the response is over
// writes the access log line and the request metrics. It records from a
// defer: a response cut mid-body ends in panic(http.ErrAbortHandler), which
// echo's recover passes on, and it must be counted too. The panic goes on
// after recording, so net/http still cuts the connection.
func (p *Proxy) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ex := &exchange{id: r.Header.Get(echo.HeaderXRequestID), start: time.Now()}
		c.SetRequest(r.WithContext(withExchange(r.Context(), ex)))
		if ex.id == "" {
			ex.id = newRequestID()
		}
		ex.idField[0] = ex.id // the exchange's array: no slice to allocate
		ex.header = c.Response().Header()
		ex.header[echo.HeaderXRequestID] = ex.idField[:]
		defer func() {
			v := recover()
			p.record(c, ex, v != nil)
			if v != nil {
				panic(v)
			}
		}()
		if err := next(c); err != nil {
			c.Error(err)
		}
		return nil
	}
}

// Outcomes of a request, for the metric label and the access log.
const (
	outcomeOK      = "ok"
	outcomeAborted = "aborted" // the response was cut off: the upstream broke mid-body, or the client left
)

func (p *Proxy) record(c echo.Context, ex *exchange, aborted bool) {
	r, res := c.Request(), c.Response()
	elapsed := time.Since(ex.start)
	status := res.Status
	switch {
	case res.Committed:
	case ex.upgraded:
		status = http.StatusSwitchingProtocols
	default:
		status = 499 // the client left before any answer
	}
	version := ex.served
	if version == "" {
		version = "none"
	}
	outcome := outcomeOK
	if aborted {
		outcome = outcomeAborted
	}
	if ex.upstreamErr != "" {
		p.metrics.upstreamErrors.WithLabelValues(ex.upstreamErr).Inc()
	}
	route := routeClass(r.URL.Path)
	p.metrics.requests.WithLabelValues(r.Method, route, version, statusLabel(status), outcome, ex.ruleLabel()).Inc()
	p.metrics.duration.WithLabelValues(route, strconv.FormatBool(len(ex.applied) > 0)).Observe(elapsed.Seconds())
	if !p.access.Enabled(r.Context()) {
		return
	}
	p.access.Write(r.Context(), &accesslog.Entry{
		Time:             ex.start.Add(elapsed),
		ID:               ex.id,
		Method:           r.Method,
		Path:             r.URL.RequestURI(),
		Requested:        ex.requested,
		Served:           ex.served,
		Rule:             ex.ruleLabel(),
		Applied:          ex.appliedNames(),
		UnchangedBecause: ex.skipped,
		Status:           status,
		Bytes:            res.Size,
		Duration:         elapsed,
		Outcome:          outcome,
	})
}

// newRequestID makes a 128-bit random id. It names a request in logs and
// need not be secret: math/rand/v2's per-thread ChaCha8 is enough, at a
// fraction of crypto/rand's system-call-backed cost.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}
