package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"otcompat/negotiate"
)

// AdminHandler serves /healthz (the proxy is up), /readyz (the upstream
// answers its /health), /metrics (Prometheus), /changes (the changelog, as
// "otcompat changes --format json" prints it) and, only when withPprof is
// set, /debug/pprof/.
func (p *Proxy) AdminHandler(withPprof bool) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", func(c echo.Context) error {
		if err := p.upstreamReady(c.Request().Context()); err != nil {
			return c.String(http.StatusServiceUnavailable, "upstream not ready: "+err.Error()+"\n")
		}
		return c.String(http.StatusOK, "ok\n")
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(p.metrics.Registry, promhttp.HandlerOpts{})))
	e.GET("/changes", func(c echo.Context) error {
		// The chain new requests are served under: it follows reloads.
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		c.Response().WriteHeader(http.StatusOK)
		return p.Settings().Chain.Changelog().WriteJSON(c.Response())
	})
	if withPprof {
		e.GET("/debug/pprof/*", echo.WrapHandler(http.HandlerFunc(pprof.Index)))
		e.GET("/debug/pprof/cmdline", echo.WrapHandler(http.HandlerFunc(pprof.Cmdline)))
		e.GET("/debug/pprof/profile", echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
		e.GET("/debug/pprof/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
		e.GET("/debug/pprof/trace", echo.WrapHandler(http.HandlerFunc(pprof.Trace)))
	}
	return e
}

// upstreamReady asks the upstream's /health, as robot-server's own clients do.
func (p *Proxy) upstreamReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.Upstream.URL.String()+"/health", nil)
	if err != nil {
		return err
	}
	req.Header.Set(negotiate.Header, "*")
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return &statusError{resp.StatusCode}
	}
	return nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "/health answered " + http.StatusText(e.code) }
