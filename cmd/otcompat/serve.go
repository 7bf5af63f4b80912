package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"otcompat/config"
	"otcompat/negotiate"
	"otcompat/proxy"
	"otcompat/transforms"
)

// proxyOptions are the flags of every command that runs the proxy.
type proxyOptions struct {
	upstream        string // serve's only
	configPath      string
	listen          string
	adminListen     string
	badrunVersion   string
	badrunPolicy    string
	maxTransform    int64
	upstreamTimeout time.Duration
	shutdownTimeout time.Duration
	pprof           bool
	memoryLimit     int64
	flags           *pflag.FlagSet
	// explicit holds the flags the command line and the environment set,
	// which beat the configuration file at start and on every reload.
	explicit map[string]string
	// declared are the configuration file's changes.
	declared []*transforms.Declared
	logOptions
}

func (o *proxyOptions) register(fs *pflag.FlagSet) {
	o.registerChain(fs)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:31960", "address to serve clients on: host:port or unix:/path")
	fs.StringVar(&o.adminListen, "admin-listen", "127.0.0.1:31961", `address of /healthz, /readyz and /metrics: host:port or unix:/path; "" disables it`)
	fs.Int64Var(&o.maxTransform, "max-transform-bytes", proxy.DefaultMaxTransformBytes, "largest body buffered to transform; larger ones stream through unchanged")
	fs.DurationVar(&o.upstreamTimeout, "upstream-timeout", 0, "longest wait for the upstream's response headers before a 504 (0: no limit, for long polls)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may take to finish")
	fs.BoolVar(&o.pprof, "pprof", false, "serve /debug/pprof/ on the admin listener")
	fs.Int64Var(&o.memoryLimit, "memory-limit", 48<<20, "soft limit of the Go heap in bytes, so memory stays small under bursts of large run lists (0: none; GOMEMLIMIT, when set, wins over the default)")
	o.logOptions.register(fs)
}

// registerChain registers the flags the chain is built from: the
// configuration file (its changes) and BadRun's.
func (o *proxyOptions) registerChain(fs *pflag.FlagSet) {
	o.flags = fs
	fs.StringVar(&o.configPath, "config", "", "configuration file (YAML): keys named as these flags, trustedProxies, clients and changes; flags and variables beat it; SIGHUP reloads it")
	fs.StringVar(&o.badrunVersion, "badrun-version", "5", "API version that introduced BadRuns: clients sending it or newer, or *, see them")
	fs.StringVar(&o.badrunPolicy, "badrun-policy", string(transforms.Hide), "what older clients see of BadRuns: hide, error or degrade")
}

// chain builds the version-change chain the options describe: BadRun and
// the configuration file's changes, ordered by version.
func (o *proxyOptions) chain() (*transforms.Chain, error) {
	v, err := version.NewVersion(o.badrunVersion)
	if err != nil {
		return nil, fmt.Errorf("--badrun-version %q: not a version number (example: 5)", o.badrunVersion)
	}
	policy, err := transforms.ParsePolicy(o.badrunPolicy)
	if err != nil {
		return nil, fmt.Errorf("--badrun-policy: %v", err)
	}
	changes := []transforms.Change{transforms.NewBadRun(v, policy)}
	for _, d := range o.declared {
		changes = append(changes, d)
	}
	return transforms.NewChain(changes...), nil
}

func (o *proxyOptions) validate() error {
	if _, err := o.chain(); err != nil {
		return err
	}
	if o.maxTransform <= 0 {
		return fmt.Errorf("--max-transform-bytes %d: must be positive", o.maxTransform)
	}
	if err := proxy.CheckAddr(o.listen); err != nil {
		return fmt.Errorf("--listen: %v", err)
	}
	if o.adminListen != "" {
		if err := proxy.CheckAddr(o.adminListen); err != nil {
			return fmt.Errorf("--admin-listen: %v", err)
		}
	}
	if o.memoryLimit < 0 {
		return fmt.Errorf("--memory-limit %d: must not be negative", o.memoryLimit)
	}
	if o.upstreamTimeout < 0 || o.shutdownTimeout < 0 {
		return errors.New("--upstream-timeout and --shutdown-timeout must not be negative")
	}
	return o.logOptions.validate()
}

// registerServe registers serve's flags: the proxy's and --upstream.
func (o *proxyOptions) registerServe(fs *pflag.FlagSet) {
	fs.StringVar(&o.upstream, "upstream", "", "robot-server to proxy: http://host:port, https://host:port or unix:/path (required)")
	o.register(fs)
}

func newServeCmd() *cobra.Command {
	var o proxyOptions
	c := &cobra.Command{
		Use:   "serve --upstream URL",
		Short: "Run the proxy in front of a robot-server (the production entry point)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			file, err := o.loadConfig()
			if err != nil {
				return err
			}
			if o.upstream == "" {
				return errors.New("--upstream is required (http://host:port, https://host:port or unix:/path; env OTCOMPAT_UPSTREAM; key upstream)")
			}
			up, err := proxy.ParseUpstream(o.upstream)
			if err != nil {
				return fmt.Errorf("--upstream: %v", err)
			}
			if err := o.validate(); err != nil {
				return err
			}
			return failed(o.serve(c.Context(), up, file, nil))
		},
	}
	o.registerServe(c.Flags())
	withEnvHelp(c.Flags())
	return c
}

// serve runs the proxy until SIGINT or SIGTERM, then lets in-flight requests
// finish for up to --shutdown-timeout; SIGHUP reloads the configuration
// file (nil: none). ready, if set, is called once the listeners are open.
func (o *proxyOptions) serve(ctx context.Context, up *proxy.Upstream, file *config.File, ready func(listen, admin net.Addr)) error {
	log := o.logger()
	o.applyMemoryLimit()
	chain, err := o.chain()
	if err != nil {
		return err
	}
	p := proxy.New(proxy.Config{
		Upstream:          up,
		Chain:             chain,
		Clients:           file.Rules(),
		Negotiator:        negotiate.NewNegotiator(negotiate.UpstreamNewest, chain.Newest()),
		Logger:            log,
		AccessLog:         o.accessLog(log),
		MaxTransformBytes: o.maxTransform,
		UpstreamTimeout:   o.upstreamTimeout,
	})
	defer p.Close()

	ln, err := proxy.Listen(o.listen)
	if err != nil {
		return fmt.Errorf("--listen: %v", err)
	}
	servers := []server{p.Server()}
	listeners := []net.Listener{ln}
	var adminAddr net.Addr
	if o.adminListen != "" {
		aln, err := proxy.Listen(o.adminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--admin-listen: %v", err)
		}
		servers = append(servers, proxy.NewServer(p.AdminHandler(o.pprof), log))
		listeners = append(listeners, aln)
		adminAddr = aln.Addr()
	}
	log.Info("otcompat serving", "listen", ln.Addr().String(), "admin", o.adminListen,
		"upstream", up.String(), "badrun_version", o.badrunVersion, "badrun_policy", o.badrunPolicy,
		"config", o.configPath, "client_rules", file.Rules().Len(), "changes", len(o.declared))
	stopReloads := o.reloadOnHangup(p, log)
	defer stopReloads()
	if ready != nil {
		ready(ln.Addr(), adminAddr)
	}
	return serveUntilSignal(ctx, servers, listeners, o.shutdownTimeout, log)
}

// server is an *http.Server or the proxy's *proxy.Server.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// serveUntilSignal serves each server on its listener until a signal (or
// ctx's end), then shuts them all down gracefully.
func serveUntilSignal(ctx context.Context, servers []server, listeners []net.Listener, grace time.Duration, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(listeners[i]) }()
	}
	var err error
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing in-flight requests", "grace", grace)
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, s := range servers {
		if e := s.Shutdown(sctx); e != nil {
			log.Warn("shutdown grace period over: closing remaining connections", "err", e)
			s.Close()
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// applyMemoryLimit sets the Go runtime's soft memory limit: the garbage
// collector then works harder as the heap nears it, instead of letting a burst
// of multi-megabyte run lists double the process's memory. GOMEMLIMIT in the
// environment keeps precedence over the default, not over the flag.
func (o *proxyOptions) applyMemoryLimit() {
	if _, env := os.LookupEnv("GOMEMLIMIT"); env && !o.flags.Changed("memory-limit") {
		return
	}
	if o.memoryLimit > 0 {
		debug.SetMemoryLimit(o.memoryLimit)
	}
}
