package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"otcompat/negotiate"
	"otcompat/transforms"
)

// modifyResponse decides, once the upstream's headers are in, whether the
// response streams through (the default) or is buffered and changed.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	ex := exchangeFrom(resp.Request.Context())
	if resp.StatusCode == http.StatusSwitchingProtocols {
		ex.upgraded = true // its body must stay ReverseProxy's to write to
	} else {
		resp.Body = &watchedBody{ReadCloser: resp.Body, ctx: resp.Request.Context(), ex: ex}
	}
	h := resp.Header
	// The client gets one X-Request-Id, the proxy's, even when the upstream
	// echoes it or a 1xx went first (ReverseProxy clears the header map it
	// sends a 1xx with, observe's id included).
	delete(h, echo.HeaderXRequestID)
	ex.header[echo.HeaderXRequestID] = ex.idField[:]
	if v := h.Get(negotiate.Header); v != "" {
		p.cfg.Negotiator.Observe(v)
	}
	success := resp.StatusCode/100 == 2
	errorBody := false
	if len(ex.plan) > 0 && success {
		var err error
		if errorBody, err = p.transform(resp, ex); err != nil {
			return err
		}
	}
	if errorBody {
		p.setErrorVersions(h)
	} else if success && ex.served != "" && h.Get(negotiate.Header) != "" {
		h.Set(negotiate.Header, ex.served)
	}
	if ex.explain {
		served := ex.served
		if served == "" {
			served = "none"
		}
		h.Set("Otcompat-Served-Version", served)
		h.Set("Otcompat-Applied", ex.appliedNames())
		h.Set("Otcompat-Client-Rule", ex.ruleLabel())
	}
	return nil
}

// errUpstreamBody marks an upstream that broke while sending a body the
// proxy was buffering: the client gets the 502 envelope.
var errUpstreamBody = errors.New("upstream broke off the response body")

// transform buffers a response a plan applies to and runs the plan over it.
// Whatever cannot be transformed goes out as the upstream sent it.
func (p *Proxy) transform(resp *http.Response, ex *exchange) (errorBody bool, err error) {
	limit := p.cfg.MaxTransformBytes
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		p.skip(ex, skipNotJSON)
		return false, nil
	}
	cod, ok := codecFor(resp.Header.Get("Content-Encoding"))
	if !ok {
		p.skip(ex, skipEncoding)
		return false, nil
	}
	if resp.ContentLength > limit {
		p.skip(ex, skipTooLarge)
		return false, nil
	}
	raw, complete, err := readLimited(resp.Body, limit, resp.ContentLength)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errUpstreamBody, err)
	}
	if !complete {
		resp.Body = streamRest(raw, resp.Body)
		p.skip(ex, skipTooLarge)
		return false, nil
	}
	resp.Body.Close()
	// Unless a change gives a new body, the upstream's goes out as read.
	resp.Body = &pooledBody{Reader: bytes.NewReader(raw), bufs: [2][]byte{raw}}
	body := raw
	if cod != nil {
		if body, err = cod.decodeBody(raw, limit); err != nil {
			p.skip(ex, skipEncoding)
			return false, nil
		}
	}

	in := transforms.Input{Method: resp.Request.Method, Path: resp.Request.URL.Path,
		Query: resp.Request.URL.RawQuery, Status: resp.StatusCode, Body: body}
	out, applied, err := ex.plan.Apply(in)
	if err == nil && out.Fetch != "" {
		in.Fetched = p.fetch(resp.Request.Context(), out.Fetch, resp.Request, ex)
		out, applied, err = ex.plan.Apply(in)
		if err == nil && out.Fetch != "" {
			err = fmt.Errorf("a change asked for a second fetch (%s)", out.Fetch)
		}
	}
	if err != nil {
		p.log.Warn("version change failed; response passed through unchanged",
			"id", ex.id, "path", in.Path, "err", err)
		p.skip(ex, skipChangeErr)
		return false, nil
	}
	for _, ch := range applied {
		p.metrics.changesApplied.WithLabelValues(ch.Name()).Inc()
	}
	for _, rec := range out.Records {
		if rec.Count > 0 {
			p.metrics.records.WithLabelValues(rec.Change, rec.Action).Add(float64(rec.Count))
		}
	}
	if in.Fetched != nil && in.Fetched.Body != nil {
		defer func() { resp.Body.(*pooledBody).bufs[1] = in.Fetched.Body }() // it may be the new body's source
	}
	if cod != nil {
		defer releaseBody(body) // the decoded body is encoded again below, or not needed
	}
	if !out.Changed() {
		return false, nil
	}
	ex.applied = applied
	newBody, size := io.Reader(bytes.NewReader(body)), int64(len(body))
	if out.Body != nil {
		// The change's body is mostly the upstream's bytes: stream it from
		// them rather than copy it (raw goes back to the pool after sending).
		newBody, size = out.Body.Reader(), int64(out.Body.Len())
	}
	if cod != nil {
		encoded, err := cod.encodeBody(newBody)
		if err != nil {
			p.log.Warn("re-encoding failed; response passed through unchanged", "id", ex.id, "err", err)
			p.skip(ex, skipEncoding)
			ex.applied = nil
			return false, nil
		}
		newBody, size = bytes.NewReader(encoded), int64(len(encoded))
	}
	resp.Body = &pooledBody{Reader: newBody, bufs: [2][]byte{raw}}
	resp.ContentLength = size
	resp.Header.Set("Content-Length", strconv.FormatInt(size, 10))
	resp.Header.Del("Etag")
	resp.Header.Del("Content-Md5")
	if out.Status != 0 {
		resp.StatusCode = out.Status
		resp.Status = ""
	}
	if out.ErrorBody {
		resp.Header.Set("Content-Type", "application/json")
	}
	return out.ErrorBody, nil
}

func (p *Proxy) skip(ex *exchange, reason string) {
	ex.skipped = reason
	p.metrics.skipped.WithLabelValues(reason).Inc()
	p.log.Warn("response passed through unchanged", "id", ex.id, "reason", reason)
}

// fetch GETs a path a change asked for, with the client's forwarded headers.
// A failure is handed to the change as a 502, so it decides with what it has.
func (p *Proxy) fetch(ctx context.Context, path string, out *http.Request, ex *exchange) *transforms.Fetched {
	fail := func(err error) *transforms.Fetched {
		level := slog.LevelWarn
		if ctx.Err() != nil {
			level = slog.LevelDebug // the client went away
		}
		p.log.Log(ctx, level, "fetch for a version change failed", "id", ex.id, "path", path, "err", err)
		p.metrics.upstreamFetches.WithLabelValues("failed").Inc()
		return &transforms.Fetched{Path: path, Status: http.StatusBadGateway}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.Upstream.URL.String()+path, nil)
	if err != nil {
		return fail(err)
	}
	// The headers the reverse proxy sent upstream for the client's request
	// (rewrite's forwarding fields and request id, no hop-by-hop fields).
	req.Header = out.Header.Clone()
	for _, k := range []string{"Content-Length", "Content-Type", "Content-Encoding", "Expect", "Transfer-Encoding"} {
		req.Header.Del(k)
	}
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	body, complete, err := readLimited(resp.Body, p.cfg.MaxTransformBytes, resp.ContentLength)
	if err == nil && !complete {
		err = errDecodedTooLarge
	}
	if err == nil {
		if cod, ok := codecFor(resp.Header.Get("Content-Encoding")); !ok {
			err = errors.New("unsupported content encoding")
		} else if cod != nil {
			body, err = cod.decodeBody(body, p.cfg.MaxTransformBytes)
		}
	}
	if err != nil {
		return fail(err)
	}
	p.metrics.upstreamFetches.WithLabelValues("ok").Inc()
	return &transforms.Fetched{Path: path, Status: resp.StatusCode, Body: body}
}

// upstreamError answers when the upstream gave no usable response: 502 (504
// after --upstream-timeout) with robot-server's error envelope.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeFrom(r.Context())
	if r.Context().Err() != nil {
		// The client went away (its upstream request is cancelled with
		// it): nobody to answer.
		p.log.Debug("client disconnected", "id", ex.id, "path", r.URL.Path)
		return
	}
	status, kind := http.StatusBadGateway, "unavailable"
	var ne net.Error
	switch {
	case errors.Is(err, errUpstreamBody):
		kind = "body"
	case errors.As(err, &ne) && ne.Timeout():
		status, kind = http.StatusGatewayTimeout, "timeout"
	}
	ex.upstreamErr = kind
	p.log.Warn("upstream failed", "id", ex.id, "method", r.Method, "path", r.URL.Path, "kind", kind, "err", err)
	p.setErrorVersions(w.Header())
	// A 1xx the upstream sent first cleared the header map, the id with it.
	w.Header()[echo.HeaderXRequestID] = ex.idField[:]
	writeUpstreamUnavailable(w, status, "otcompat could not get a response from robot-server at "+
		p.cfg.Upstream.String()+": "+err.Error())
}

// watchedBody notes in the exchange that the upstream broke while sending a
// body: a read error while the client is still there is the upstream's.
// record counts it whether the body was being buffered (502) or streamed
// (the response is cut off).
type watchedBody struct {
	io.ReadCloser
	ctx context.Context
	ex  *exchange
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() == nil {
		b.ex.upstreamErr = "body"
	}
	return n, err
}

// setErrorVersions gives an error response the version headers robot-server
// puts on its errors: its own newest version, never the served one.
func (p *Proxy) setErrorVersions(h http.Header) {
	h.Set(negotiate.Header, strconv.Itoa(p.cfg.Negotiator.UpstreamNewest()))
	h.Set("Opentrons-Min-Version", strconv.Itoa(negotiate.MinVersion))
}
