package proxy

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"otcompat/accesslog"
)

// observe starts each request's exchange (keeping the client's X-Request-Id
// or making one, which also goes upstream), and after the response writes
// the access log line and the request metrics.
func (p *Proxy) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ex := exchangeFrom(r.Context()) // the front lane's
		if ex == nil {
			ex = new(exchange)
			c.SetRequest(r.WithContext(withExchange(r.Context(), ex)))
		}
		ex.id, ex.start = r.Header.Get(echo.HeaderXRequestID), time.Now()
		if ex.id == "" {
			ex.id = newRequestID()
		}
		ex.idField[0] = ex.id // the exchange's array: no slice to allocate
		c.Response().Header()[echo.HeaderXRequestID] = ex.idField[:]
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		p.record(c, ex)
		return nil
	}
}

func (p *Proxy) record(c echo.Context, ex *exchange) {
	r, res := c.Request(), c.Response()
	elapsed := time.Since(ex.start)
	status := res.Status
	if !res.Committed {
		status = 499 // the client left before any answer
	}
	version := ex.served
	if version == "" {
		version = "none"
	}
	route := routeClass(r.URL.Path)
	p.metrics.requests.WithLabelValues(r.Method, route, version, statusLabel(status), ex.ruleLabel()).Inc()
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
