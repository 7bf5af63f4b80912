package main

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"otcompat/fixtures/cassette"
	"otcompat/proxy"
)

func newRecordCmd() *cobra.Command {
	var upstream, listen, dir string
	var grace time.Duration
	var lo logOptions
	c := &cobra.Command{
		Use:   "record --upstream URL --listen ADDR --cassette DIR",
		Short: "Pass requests through to a robot-server and record every exchange",
		Long: `record is a pass-through proxy: clients (the App, otcompat serve, otcompat
compare) talk to it as to the robot-server, and every exchange, as the
robot-server answered it, is written to DIR as one go-vcr cassette file as soon
as it completes. Authorization, Proxy-Authorization, Cookie and Set-Cookie
values are redacted. On SIGINT/SIGTERM, requests in flight finish and are
recorded (for up to --shutdown-timeout); recording again into DIR appends.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if upstream == "" || dir == "" {
				return errors.New("--upstream and --cassette are required (env OTCOMPAT_UPSTREAM, OTCOMPAT_CASSETTE)")
			}
			up, err := proxy.ParseUpstream(upstream)
			if err != nil {
				return fmt.Errorf("--upstream: %v", err)
			}
			if grace < 0 {
				return errors.New("--shutdown-timeout must not be negative")
			}
			if err := lo.validate(); err != nil {
				return err
			}
			d, err := cassette.OpenDir(dir)
			if err != nil {
				return fmt.Errorf("--cassette: %v", err)
			}
			ln, err := proxy.Listen(listen)
			if err != nil {
				return fmt.Errorf("--listen: %v", err)
			}
			log := lo.logger()
			rec := cassette.NewRecorder(up, d, log)
			defer rec.Close()
			log.Info("otcompat record serving", "listen", ln.Addr().String(), "upstream", up.String(), "cassette", dir)
			return failed(serveUntilSignal(c.Context(), []server{proxy.NewServer(rec, log)}, []net.Listener{ln}, grace, log))
		},
	}
	c.Flags().StringVar(&upstream, "upstream", "", "robot-server to record: http://host:port, https://host:port or unix:/path (required)")
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:31970", "address clients connect to: host:port or unix:/path")
	c.Flags().StringVar(&dir, "cassette", "", "directory to write the recording to, one go-vcr cassette per exchange (required)")
	c.Flags().DurationVar(&grace, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long in-flight exchanges may take to finish and be recorded")
	lo.register(c.Flags())
	withEnvHelp(c.Flags())
	return c
}
