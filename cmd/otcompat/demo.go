package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"otcompat/config"
	"otcompat/fixtures"
	"otcompat/fixtures/cassette"
	"otcompat/proxy"
)

func newDemoCmd() *cobra.Command {
	var o proxyOptions
	var cassetteDir string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the proxy in front of the built-in fake robot-server, to try it with curl",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			file, err := o.loadConfig() // its upstream key, if any, is not used
			if err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			upstream, what := fixtures.NewServer(fixtures.Default()), "a fake robot-server with BadRuns"
			if cassetteDir != "" {
				rep, err := loadReplayer(cassetteDir, cassette.MatchAll, o.logger())
				if err != nil {
					return err
				}
				upstream, what = rep, "a replay of the recording "+cassetteDir
			}
			return failed(runDemo(c.Context(), &o, file, upstream, what))
		},
	}
	o.register(c.Flags())
	c.Flags().StringVar(&cassetteDir, "cassette", "", "serve a recording (from otcompat record) as the upstream instead of the built-in run store")
	withEnvHelp(c.Flags())
	return c
}

// runDemo starts the upstream (the fixture run store, or a replay) on a
// private loopback port, the proxy in front of it, and tells the user how to
// try both kinds of client.
func runDemo(ctx context.Context, o *proxyOptions, file *config.File, upstream http.Handler, what string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	store := proxy.NewServer(upstream, o.logger())
	go func() { _ = store.Serve(ln) }()
	defer store.Close()

	up, err := proxy.ParseUpstream("http://" + ln.Addr().String())
	if err != nil {
		return err
	}
	return o.serve(ctx, up, file, func(listen, admin net.Addr) {
		base := urlFor(listen)
		fmt.Fprintf(os.Stdout, "otcompat demo: %s is at http://%s; the proxy is at %s\n", what, ln.Addr(), base)
		fmt.Fprintf(os.Stdout, "\nAn old client (the Opentrons App sends version 3) gets no BadRuns:\n  %s\n", curlLine(listen, "3"))
		fmt.Fprintf(os.Stdout, "\nA new client (* is the newest version) gets every run, BadRuns included:\n  %s\n", curlLine(listen, "*"))
		if admin != nil {
			fmt.Fprintf(os.Stdout, "\nMetrics: curl -s %s/metrics | grep ^otcompat_\n", urlFor(admin))
		}
		fmt.Fprintln(os.Stdout, "\nStop with Ctrl-C.")
	})
}

func urlFor(a net.Addr) string {
	if a.Network() == "unix" {
		return "http://localhost"
	}
	return "http://" + a.String()
}

func curlLine(a net.Addr, version string) string {
	sock := ""
	if a.Network() == "unix" {
		sock = "--unix-socket " + a.String() + " "
	}
	return fmt.Sprintf("curl -s %s-H 'Opentrons-Version: %s' %s/runs", sock, version, urlFor(a))
}

// fixtureScenarios are the run stores `otcompat fixtures serve` can serve.
var fixtureScenarios = map[string]func() *fixtures.Store{
	"default": fixtures.Default,
	// The benchmark bodies: a 20-run list (~57 KB, 3 bad, current bad) and
	// a 200-run list (~3.5 MB, 20 bad).
	"list57k": func() *fixtures.Store { return fixtures.Generate(20, 3, true) },
	"list3m":  func() *fixtures.Store { return fixtures.Generate(200, 20, false) },
}

func newFixturesCmd() *cobra.Command {
	c := &cobra.Command{Use: "fixtures", Short: "The built-in fake robot-server, for demos and tests"}
	var listen, scenario string
	var lo logOptions
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the fake robot-server run store alone",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			newStore, ok := fixtureScenarios[scenario]
			if !ok {
				return fmt.Errorf("--scenario %q: allowed: default, list57k, list3m", scenario)
			}
			if err := lo.validate(); err != nil {
				return err
			}
			ln, err := proxy.Listen(listen)
			if err != nil {
				return fmt.Errorf("--listen: %v", err)
			}
			log := lo.logger()
			log.Info("fake robot-server serving", "listen", ln.Addr().String(), "scenario", scenario)
			s := proxy.NewServer(fixtures.NewServer(newStore()), log)
			return failed(serveUntilSignal(c.Context(), []server{s}, []net.Listener{ln}, 0, log))
		},
	}
	serve.Flags().StringVar(&listen, "listen", "127.0.0.1:31950", "address to serve on: host:port or unix:/path")
	serve.Flags().StringVar(&scenario, "scenario", "default", "run store: default (hand-made runs and BadRuns of every kind), list57k or list3m (benchmark lists)")
	lo.register(serve.Flags())
	withEnvHelp(serve.Flags())
	c.AddCommand(serve)
	return c
}
