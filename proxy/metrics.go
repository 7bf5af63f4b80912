package proxy

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the proxy's Prometheus series. Each Proxy has its own registry,
// so tests and several proxies in one process do not collide.
type Metrics struct {
	Registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	changesApplied  *prometheus.CounterVec
	records         *prometheus.CounterVec
	skipped         *prometheus.CounterVec
	upstreamErrors  *prometheus.CounterVec
	upstreamFetches *prometheus.CounterVec
}

// Reasons a planned transform was not made (the response went out unchanged).
const (
	skipNotJSON   = "not_json"
	skipTooLarge  = "too_large"
	skipEncoding  = "unsupported_encoding"
	skipChangeErr = "change_error"
)

func newMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otcompat_requests_total",
			Help: "Requests served, by method, route class, served API version (none: header missing or invalid), status and the client rule that chose the version (none: no rule matched).",
		}, []string{"method", "route", "version", "status", "rule"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "otcompat_request_duration_seconds",
			Help:    "Time from request to the end of the response, by route class and whether the body was transformed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60, 600, 3600},
		}, []string{"route", "transformed"}),
		changesApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otcompat_changes_applied_total",
			Help: "Responses a version change altered, by change.",
		}, []string{"change"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otcompat_change_records_total",
			Help: "Records a version change acted on, by change and action (for change=badrun: hidden, errored, degraded BadRuns).",
		}, []string{"change", "action"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otcompat_transform_failures_total",
			Help: "Responses a change was planned for but that went out unchanged, by reason.",
		}, []string{"reason"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otcompat_upstream_errors_total",
			Help: "Upstream failures, by kind (unavailable: no response; timeout: --upstream-timeout passed; body: broke while sending a body).",
		}, []string{"kind"}),
		upstreamFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otcompat_upstream_fetches_total",
			Help: "Extra upstream requests a change asked for (e.g. the full run list to fill a pageLength window), by outcome.",
		}, []string{"outcome"}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.changesApplied, m.records, m.skipped,
		m.upstreamErrors, m.upstreamFetches,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// knownRoots are robot-server's top-level routes. Other first segments are
// reported as "other" so a client cannot grow the label space at will.
var knownRoots = func() map[string][2]string {
	m := map[string][2]string{}
	for _, r := range []string{"health", "runs", "protocols", "maintenance_runs", "modules",
		"instruments", "robot", "settings", "calibration", "labware", "pipettes", "motors", "camera",
		"logs", "networking", "deck_configuration", "errorRecovery", "clientData", "dataFiles",
		"subsystems", "commands", "sessions", "openapi.json", "docs", "redoc", "system", "server",
		"identify", "wifi"} {
		m[r] = [2]string{"/" + r, "/" + r + "/{id}"} // made once: routeClass runs per request
	}
	return m
}()

// routeClass names a path by shape: /runs, /runs/{id}, /runs/{id}/commands, …
func routeClass(path string) string {
	rest := strings.TrimPrefix(path, "/")
	root, rest, more := strings.Cut(rest, "/")
	classes, ok := knownRoots[root]
	if !ok {
		return "other"
	}
	id, rest, deeper := strings.Cut(rest, "/")
	switch {
	case !more || id == "":
		return classes[0]
	case !deeper || rest == "":
		return classes[1]
	}
	sub, _, deeper := strings.Cut(rest, "/")
	if sub == "" {
		return classes[1]
	}
	if deeper {
		return classes[1] + "/" + sub + "/…"
	}
	return classes[1] + "/" + sub
}

// statusLabel is code as a label, without an allocation for the usual ones.
func statusLabel(code int) string {
	if code >= 100 && code < 600 {
		return statusLabels[code-100]
	}
	return strconv.Itoa(code)
}

var statusLabels = func() (l [500]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()
