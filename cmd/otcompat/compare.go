package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"otcompat/compare"
	"otcompat/config"
	"otcompat/fixtures/cassette"
	"otcompat/negotiate"
	"otcompat/proxy"
)

type compareFlags struct {
	target, direct, cassette string
	paths, headers           []string
	versions, method         string
	format, output           string
	failOnDiff               string
	userAgent, clients       string
	timeout                  time.Duration
	proxy                    proxyOptions // the chain, for --cassette
}

func newCompareCmd() *cobra.Command {
	var f compareFlags
	c := &cobra.Command{
		Use:   "compare --target URL [--path PATH]... [--versions LIST]",
		Short: "Ask the same requests at several API versions and show the differences",
		Long: `compare sends each --path at each of --versions (as Opentrons-Version) to the
target (otcompat, or any robot-server) and reports, per path and version, the
status, served version, content type and size, the run ids of run lists and
runs (good or BAD, and which runs each version does not see), and the
differences between consecutive versions as RFC 6902 JSON patches and unified
diffs. With --direct it also asks the upstream itself, to show what the proxy
changed. --user-agent sets the User-Agent of those requests; --clients FILE
adds a column per client it lists ({name, userAgent, version}), asked with
that client's User-Agent and version, to show what a proxy's client rules
give each ("what does App 7.2.2 see, and App 8.1.0?"). With --cassette it
needs no network: an otcompat proxy runs in
process in front of a replay of the recording, which is also the upstream.

It only sends GET or HEAD: comparing never changes a robot's state.
Exit status: 0 done; 1 --fail-on-diff versions answered differently;
2 bad command line, or the target could not be reached.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return f.run(c.Context(), c.OutOrStdout()) },
	}
	fs := c.Flags()
	fs.StringVar(&f.target, "target", "", "otcompat or robot-server to ask: http://host:port, https://host:port or unix:/path (required unless --cassette)")
	fs.StringArrayVar(&f.paths, "path", compare.DefaultPaths, "path with query to ask, repeatable")
	fs.StringVar(&f.versions, "versions", strings.Join(compare.DefaultVersions, ","), "comma-separated Opentrons-Version values to ask at")
	fs.StringArrayVar(&f.headers, "header", nil, "extra request header 'Name: value', repeatable")
	fs.StringVar(&f.userAgent, "user-agent", "", "User-Agent of the --versions requests (default Go's), to see what a proxy's client rules make of it")
	fs.StringVar(&f.clients, "clients", "", "YAML file listing clients to ask as, each a column beside the versions: [{name, userAgent, version}, ...]")
	fs.StringVar(&f.direct, "direct", "", "the upstream itself, asked the same requests to show what the target changed")
	fs.StringVar(&f.cassette, "cassette", "", "read a recording (from otcompat record) instead of the network; replaces --target and --direct")
	fs.StringVar(&f.method, "method", http.MethodGet, "GET or HEAD (nothing that changes state)")
	fs.StringVar(&f.format, "format", "text", "report format: text, json or html")
	fs.StringVarP(&f.output, "output", "o", "", "file to write the report to (default stdout)")
	fs.StringVar(&f.failOnDiff, "fail-on-diff", "", "versions (or --clients names) A,B: exit 1 when they answer any path differently")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "longest wait for each answer")
	fs.StringVar(&f.proxy.badrunVersion, "badrun-version", "5", "with --cassette: the proxy's --badrun-version")
	fs.StringVar(&f.proxy.badrunPolicy, "badrun-policy", "hide", "with --cassette: the proxy's --badrun-policy")
	withEnvHelp(fs)
	return c
}

// options checks the flags; every error here is a usage error (exit 2).
func (f *compareFlags) options() (compare.Options, error) {
	o := compare.Options{Method: strings.ToUpper(f.method), Paths: f.paths, Header: http.Header{}}
	switch {
	case f.target == "" && f.cassette == "":
		return o, errors.New("--target is required (http://host:port, https://host:port or unix:/path), or --cassette DIR")
	case f.target != "" && f.cassette != "":
		return o, errors.New("--target and --cassette exclude each other: --cassette serves the recording in process")
	case f.direct != "" && f.cassette != "":
		return o, errors.New("--direct and --cassette exclude each other: with --cassette the recording is the upstream")
	}
	if err := compare.CheckMethod(o.Method); err != nil {
		return o, fmt.Errorf("--method: %v", err)
	}
	for _, p := range f.paths {
		if err := compare.CheckPath(p); err != nil {
			return o, fmt.Errorf("--path: %v", err)
		}
	}
	var err error
	if o.Versions, err = compare.ParseVersions(f.versions); err != nil {
		return o, fmt.Errorf("--versions: %v", err)
	}
	for _, h := range f.headers {
		name, value, err := compare.ParseHeader(h)
		if err != nil {
			return o, fmt.Errorf("--header: %v", err)
		}
		if name == "User-Agent" {
			return o, errors.New("--header: User-Agent: use --user-agent, or --clients")
		}
		o.Header.Add(name, value)
	}
	if strings.ContainsAny(f.userAgent, "\r\n\x00") {
		return o, errors.New("--user-agent: the value has a line break or NUL")
	}
	o.UserAgent = f.userAgent
	labels := slices.Clone(o.Versions)
	if f.clients != "" {
		cs, err := config.LoadQAClients(f.clients, func(c config.QAClient) error {
			if slices.Contains(o.Versions, c.Name) {
				return fmt.Errorf("client name %q is one of --versions", c.Name)
			}
			return compare.CheckClient(compare.Client{Name: c.Name, UserAgent: c.UserAgent, Version: c.Version})
		})
		if err != nil {
			return o, fmt.Errorf("--clients: %v", err)
		}
		for _, c := range cs {
			o.Clients = append(o.Clients, compare.Client{Name: c.Name, UserAgent: c.UserAgent, Version: c.Version})
			labels = append(labels, c.Name)
		}
	}
	if f.failOnDiff != "" {
		if o.FailOnDiff, err = compare.ParsePair(f.failOnDiff, labels); err != nil {
			return o, fmt.Errorf("--fail-on-diff: %v", err)
		}
	}
	if f.format != "text" && f.format != "json" && f.format != "html" {
		return o, fmt.Errorf("--format %q: allowed: text, json, html", f.format)
	}
	if f.timeout <= 0 {
		return o, fmt.Errorf("--timeout %v: must be positive", f.timeout)
	}
	if f.target != "" {
		if o.Target, err = f.source("--target", f.target); err != nil {
			return o, err
		}
	}
	if f.direct != "" {
		d, err := f.source("--direct", f.direct)
		if err != nil {
			return o, err
		}
		o.Direct = &d
	}
	return o, nil
}

func (f *compareFlags) source(flag, addr string) (compare.Source, error) {
	up, err := proxy.ParseUpstream(addr)
	if err != nil {
		return compare.Source{}, fmt.Errorf("%s: %v", flag, err)
	}
	return compare.Source{Name: addr, URL: up.URL.String(), Client: &http.Client{
		Transport: up.Transport(0),
		Timeout:   f.timeout,
		// A redirect is an answer to compare, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

func (f *compareFlags) run(ctx context.Context, stdout io.Writer) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	if f.cassette != "" {
		stop, err := f.cassetteSources(&o)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep, err := compare.Run(ctx, o)
	var ce *compare.ConnError
	if errors.As(err, &ce) {
		return runError{fmt.Errorf("compare: no answer from %v", err), 2}
	}
	if err != nil {
		return err
	}
	if err := f.write(stdout, rep); err != nil {
		return runError{fmt.Errorf("compare: writing the report: %v", err), 2}
	}
	if fd := rep.FailOnDiff; fd != nil && fd.Differ {
		return runError{fmt.Errorf("compare: versions %s and %s answer differently: %s", fd.A, fd.B, strings.Join(fd.Paths, " ")), 1}
	}
	return nil
}

func (f *compareFlags) write(stdout io.Writer, rep *compare.Report) error {
	if f.output == "" {
		return f.render(stdout, rep, isTerminal(stdout) && !noColor())
	}
	file, err := os.Create(f.output)
	if err != nil {
		return err
	}
	if err := f.render(file, rep, false); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func (f *compareFlags) render(w io.Writer, rep *compare.Report, color bool) error {
	switch f.format {
	case "json":
		return compare.WriteJSON(w, rep)
	case "html":
		return compare.WriteHTML(w, rep)
	}
	return compare.WriteText(w, rep, color)
}

// cassetteSources serves the recording and an otcompat proxy in front of it
// on private loopback ports: the proxy is the target, the recording the
// upstream. The returned func shuts both down.
func (f *compareFlags) cassetteSources(o *compare.Options) (func(), error) {
	chain, err := f.proxy.chain()
	if err != nil {
		return nil, err
	}
	// Unrecorded requests are worth a warning: the report would show 404s.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep, err := loadReplayer(f.cassette, cassette.MatchAll, log)
	if err != nil {
		return nil, err
	}
	var servers []*http.Server
	closeAll := func() {
		for _, s := range servers {
			s.Close()
		}
	}
	serve := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", runError{err, 2}
		}
		s := proxy.NewServer(h, log)
		servers = append(servers, s)
		go func() { _ = s.Serve(ln) }()
		return "http://" + ln.Addr().String(), nil
	}
	replayURL, err := serve(rep)
	if err != nil {
		return nil, err
	}
	up, err := proxy.ParseUpstream(replayURL)
	if err != nil {
		closeAll()
		return nil, err
	}
	p := proxy.New(proxy.Config{Upstream: up, Chain: chain, Logger: log,
		Negotiator: negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest())})
	proxyURL, err := serve(p.Handler())
	if err != nil {
		closeAll()
		p.Close()
		return nil, err
	}
	target, _ := f.source("--cassette", proxyURL)
	direct, _ := f.source("--cassette", replayURL)
	target.Name = "otcompat (in process) over cassette " + f.cassette
	direct.Name = "cassette " + f.cassette
	o.Target, o.Direct = target, &direct
	return func() { closeAll(); p.Close() }, nil
}

// isTerminal reports whether w is a terminal (not a pipe, file or /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// noColor honours https://no-color.org: NO_COLOR set, whatever its value.
func noColor() bool {
	_, set := os.LookupEnv("NO_COLOR")
	return set
}
