// Package proxy is otcompat's HTTP side: the server, the reverse proxy to
// robot-server, the choice between streaming and transforming a response,
// header fixes, admin endpoints and metrics. It applies version changes
// through transforms.Plan and knows nothing of what they do.
package proxy

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"otcompat/accesslog"
	"otcompat/clients"
	"otcompat/negotiate"
	"otcompat/transforms"
)

// DefaultMaxTransformBytes bounds the bodies the proxy buffers to transform;
// larger ones stream through unchanged (robot-server's run lists stay far below).
const DefaultMaxTransformBytes = 16 << 20

// Config wires a Proxy.
type Config struct {
	Upstream *Upstream
	// Chain and Clients are the first Settings; SetSettings replaces them.
	Chain      *transforms.Chain
	Clients    *clients.Rules
	Negotiator *negotiate.Negotiator
	Logger     *slog.Logger
	// AccessLog writes the line per request (nil: through Logger at info).
	AccessLog *accesslog.Log
	// MaxTransformBytes bounds buffered bodies (0: DefaultMaxTransformBytes).
	MaxTransformBytes int64
	// UpstreamTimeout bounds the wait for the upstream's response headers
	// (0: no limit, so hour-long polls pass).
	UpstreamTimeout time.Duration
}

// Proxy is the versioning reverse proxy.
type Proxy struct {
	cfg       Config
	log       *slog.Logger
	access    *accesslog.Log
	transport *http.Transport
	rp        *httputil.ReverseProxy
	metrics   *Metrics
	settings  atomic.Pointer[Settings]
	reloads   *prometheus.CounterVec
	echo      *echo.Echo
	// frontChain is echo's middleware around forward, wrapped once: the
	// front lane runs it without echo's router and per-request wrapping.
	frontChain echo.HandlerFunc
	direct     *directPool // nil: every request takes the reverse proxy
}

// New builds a Proxy from cfg.
func New(cfg Config) *Proxy {
	if cfg.MaxTransformBytes <= 0 {
		cfg.MaxTransformBytes = DefaultMaxTransformBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = accesslog.FromSlog(cfg.Logger)
	}
	p := &Proxy{
		cfg:       cfg,
		log:       cfg.Logger,
		access:    cfg.AccessLog,
		transport: cfg.Upstream.Transport(cfg.UpstreamTimeout),
		metrics:   newMetrics(),
		direct:    newDirectPool(cfg.Upstream),
	}
	p.settings.Store(&Settings{Chain: cfg.Chain, Clients: cfg.Clients})
	p.reloads = newReloadCounter(p.metrics.Registry)
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: p.transport,
		// Bytes are written on as they arrive and flushed within 5 ms:
		// flushing after every read cost a syscall per chunk. Bodies of
		// unknown length and event streams are still flushed at once.
		FlushInterval:  5 * time.Millisecond,
		BufferPool:     copyBuffers,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	p.echo = p.newEcho()
	return p
}

// Metrics returns the proxy's metrics.
func (p *Proxy) Metrics() *Metrics { return p.metrics }

// Handler is the client-facing HTTP handler.
func (p *Proxy) Handler() http.Handler { return p.echo }

// Close releases idle upstream connections.
func (p *Proxy) Close() {
	p.transport.CloseIdleConnections()
	if p.direct != nil {
		p.direct.closeIdle()
	}
}

// Limits on clients, for NewServer and the Front's own lane alike.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// NewServer returns an http.Server for h with the limits a proxy facing
// clients needs: slow or oversized headers are cut off and idle keep-alive
// connections reaped, but nothing limits a request or response body in time.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (p *Proxy) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = p.handleError
	mw := []echo.MiddlewareFunc{p.observe, middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			p.log.Error("panic serving request", "id", c.Response().Header().Get(echo.HeaderXRequestID),
				"method", c.Request().Method, "path", c.Request().URL.Path, "err", err, "stack", string(stack))
			return errPanic
		},
	})}
	e.Use(mw...)
	e.Any("/*", p.forward)
	p.frontChain = p.forward
	for i := len(mw) - 1; i >= 0; i-- {
		p.frontChain = mw[i](p.frontChain)
	}
	return e
}

// serveFront serves a request of the front lane: a GET or HEAD with an
// origin-form target, which echo's router would always send to forward.
// Echo's ServeHTTP would look the route up and wrap it in the middleware
// again (two closures a request).
func (p *Proxy) serveFront(w http.ResponseWriter, r *http.Request) {
	c := p.echo.AcquireContext()
	c.Reset(r, w)
	if err := p.frontChain(c); err != nil {
		p.echo.HTTPErrorHandler(err, c)
	}
	p.echo.ReleaseContext(c)
}

var errPanic = errors.New("internal error")

// handleError turns errors that reach echo (a recovered panic, a refused
// request) into robot-server's error envelope: clients never see Go internals.
func (p *Proxy) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		writeError(c.Response(), he.Code, "BadRequest", http.StatusText(he.Code), errorMessage(he))
	default:
		writeError(c.Response(), http.StatusInternalServerError, "UnexpectedError", "Unexpected Internal Error",
			"otcompat failed while handling this request; see its log.")
	}
}

func errorMessage(he *echo.HTTPError) string {
	if s, ok := he.Message.(string); ok {
		return s
	}
	return http.StatusText(he.Code)
}

// forward sends a request on to the upstream after refusing anything that
// would make the proxy an open proxy.
func (p *Proxy) forward(c echo.Context) error {
	r := c.Request()
	if r.Method == http.MethodConnect {
		return echo.NewHTTPError(http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	if r.URL.Host != "" || r.URL.Scheme != "" {
		// Absolute-form targets are for forward proxies; otcompat only ever
		// talks to its upstream, whatever the request names.
		return echo.NewHTTPError(http.StatusBadRequest, "Absolute-form request targets are not accepted: otcompat only proxies to its upstream.")
	}
	ex := exchangeFrom(r.Context())
	ex.req = r
	p.negotiate(r, ex, p.settings.Load())
	ex.explain = r.Header.Get("Otcompat-Explain") == "1"
	if p.directEligible(r) {
		p.serveDirect(c, r, ex)
		return nil
	}
	p.rp.ServeHTTP(interim{c.Response()}, r)
	return nil
}

// interim passes 1xx responses (103 Early Hints) straight to the
// connection: echo's Response would take the first status written for the
// final one and drop the upstream's real status. The upstream's 100
// Continue is not passed on: it lets the transport read the upload, and
// that read makes net/http send the client its own 100. Passing it on too
// sent the client a second 100 whenever the read came first.
type interim struct{ *echo.Response }

func (w interim) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if code != http.StatusContinue {
			w.Response.Writer.WriteHeader(code)
		}
		return
	}
	w.Response.WriteHeader(code)
}

// rewrite points the outbound request at the upstream. The Host header
// cannot change where a request goes: the URL is always the upstream's.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.cfg.Upstream.URL)
	prior := pr.In.Header["X-Forwarded-For"]
	pr.Out.Header["X-Forwarded-For"] = prior
	pr.SetXForwarded() // appends the client's address to prior
	if prior != nil && pr.Out.Header["X-Forwarded-For"] == nil {
		// A Unix-socket client (nginx on a robot) has no address, and
		// SetXForwarded then drops the chain: keep what nginx sent.
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	if ex := exchangeFrom(pr.In.Context()); ex != nil {
		pr.Out.Header.Set(echo.HeaderXRequestID, ex.id)
	}
	// Explain is between the client and the proxy.
	pr.Out.Header.Del("Otcompat-Explain")
}
