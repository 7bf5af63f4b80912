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
			Help: "Requests served, by method, route class, served API version (none: header missing or invalid) and status.",
		}, []string{"method", "route", "version", "status"}),
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
var knownRoots = map[string]bool{
	"health": true, "runs": true, "protocols": true, "maintenance_runs": true, "modules": true,
	"instruments": true, "robot": true, "settings": true, "calibration": true, "labware": true,
	"pipettes": true, "motors": true, "camera": true, "logs": true, "networking": true,
	"deck_configuration": true, "errorRecovery": true, "clientData": true, "dataFiles": true,
	"subsystems": true, "commands": true, "sessions": true, "openapi.json": true, "docs": true,
	"redoc": true, "system": true, "server": true, "identify": true, "wifi": true,
}

// routeClass names a path by shape: /runs, /runs/{id}, /runs/{id}/commands, …
func routeClass(path string) string {
	segs := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 4)
	if len(segs) == 0 || !knownRoots[segs[0]] {
		return "other"
	}
	class := "/" + segs[0]
	if len(segs) > 1 && segs[1] != "" {
		class += "/{id}"
	}
	if len(segs) > 2 && segs[2] != "" {
		class += "/" + segs[2]
		if len(segs) > 3 {
			class += "/…"
		}
	}
	return class
}

func statusLabel(code int) string { return strconv.Itoa(code) }
