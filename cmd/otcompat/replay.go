package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"otcompat/fixtures/cassette"
	"otcompat/proxy"
)

func newReplayCmd() *cobra.Command {
	var dir, listen, match string
	var lo logOptions
	c := &cobra.Command{
		Use:   "replay --cassette DIR",
		Short: "Serve a recording as a fake robot-server (for CI without a robot)",
		Long: `replay answers each request with the recorded exchange of the same method, path
with query and Opentrons-Version: the recorded status, headers and body bytes.
A request recorded several times gets its answers in recorded order, then the
last one again. An unrecorded request gets 404 with a JSON body naming it and
the closest recorded requests. Point otcompat serve --upstream at it.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--cassette is required (a directory written by otcompat record, or a go-vcr cassette file; env OTCOMPAT_CASSETTE)")
			}
			m, err := cassette.ParseMatch(match)
			if err != nil {
				return fmt.Errorf("--match: %v", err)
			}
			if err := lo.validate(); err != nil {
				return err
			}
			log := lo.logger()
			rep, err := loadReplayer(dir, m, log)
			if err != nil {
				return err
			}
			ln, err := proxy.Listen(listen)
			if err != nil {
				return fmt.Errorf("--listen: %v", err)
			}
			log.Info("otcompat replay serving", "listen", ln.Addr().String(), "cassette", dir,
				"exchanges", rep.Len(), "match", m.String())
			return failed(serveUntilSignal(c.Context(), []server{proxy.NewServer(rep, log)}, []net.Listener{ln}, 0, log))
		},
	}
	c.Flags().StringVar(&dir, "cassette", "", "recording to serve: a directory of go-vcr cassettes (from otcompat record) or one cassette file (required)")
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:31950", "address to serve on: host:port or unix:/path")
	c.Flags().StringVar(&match, "match", cassette.MatchAll.String(), "what must equal the recorded request: any of method, path (with query), version (Opentrons-Version)")
	lo.register(c.Flags())
	withEnvHelp(c.Flags())
	return c
}

// loadReplayer reads a recording for replay; a bad recording is the
// user's to fix, so its error is a usage error.
func loadReplayer(dir string, m cassette.Match, log *slog.Logger) (*cassette.Replayer, error) {
	is, err := cassette.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("--cassette: %v", err)
	}
	rep, err := cassette.NewReplayer(is, m, log)
	if err != nil {
		return nil, fmt.Errorf("--cassette: %v", err)
	}
	return rep, nil
}
