package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"otcompat/robot"
)

func newRobotCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "robot",
		Short: "Install otcompat on an Opentrons robot over SSH, report on it, or remove it",
		Long: `robot puts otcompat on an OT-2 or a Flex over SSH so that it survives software
updates (everything under /data/otcompat, put in place at every boot by a boot
script), says how it is doing, and takes it off again. See deploy/README.md.

  otcompat robot install --host ADDR [--identity KEY] [--config FILE] [--dist DIR]
  otcompat robot status --host ADDR
  otcompat robot uninstall --host ADDR

The robot's host key must be in --known-hosts (default ~/.ssh/known_hosts);
on first contact, add it with ssh-keyscan once you trust it, or pass
--insecure-ignore-host-key.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newRobotInstallCmd(), newRobotStatusCmd(), newRobotUninstallCmd())
	return c
}

// robotFlags are the flags every robot command takes.
type robotFlags struct {
	o       robot.Options
	timeout time.Duration
}

func (f *robotFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.o.Host, "host", "", "the robot's address (required)")
	fs.IntVar(&f.o.Port, "port", 22, "the robot's SSH port")
	fs.StringVar(&f.o.User, "user", "root", "user to log in as")
	fs.StringVar(&f.o.Identity, "identity", "", "private key file (default: ssh-agent's keys and ~/.ssh/id_ed25519, id_ecdsa, id_rsa)")
	knownHosts := ""
	if home, err := os.UserHomeDir(); err == nil {
		knownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	fs.StringVar(&f.o.KnownHosts, "known-hosts", knownHosts, "known_hosts file that must hold the robot's host key")
	fs.BoolVar(&f.o.InsecureIgnoreHostKey, "insecure-ignore-host-key", false, "accept any host key (first contact; anyone in between could then log in in the robot's place)")
	fs.DurationVar(&f.timeout, "timeout", 15*time.Second, "give up connecting and logging in after this long")
	// For tests only: a robot root in a directory, and the robot-side
	// addresses of nginx and otcompat's admin listener.
	fs.StringVar(&f.o.Root, "robot-root", "", "prefix of every robot path (tests)")
	fs.StringVar(&f.o.API, "robot-api", robot.DefaultAPI, "the robot's nginx as the robot reaches it (tests)")
	fs.StringVar(&f.o.Admin, "robot-admin", robot.DefaultAdmin, "otcompat's admin listener as the robot reaches it (tests)")
	for _, n := range []string{"robot-root", "robot-api", "robot-admin"} {
		_ = fs.MarkHidden(n)
	}
}

// options checks the flags and returns the robot options, output to c.
func (f *robotFlags) options(c *cobra.Command) (robot.Options, error) {
	switch {
	case f.o.Host == "":
		return robot.Options{}, errors.New("--host is required: the robot's address, as in --host 192.168.1.50")
	case f.o.Port < 1 || f.o.Port > 65535:
		return robot.Options{}, fmt.Errorf("--port %d: not a TCP port", f.o.Port)
	case f.timeout <= 0:
		return robot.Options{}, fmt.Errorf("--timeout %v: must be positive", f.timeout)
	}
	o := f.o
	o.Timeout = f.timeout
	o.Out = c.OutOrStdout()
	return o, nil
}

// robotCmd makes a robot subcommand that runs do with the checked options;
// SIGINT and SIGTERM cancel it (install still rolls back).
func robotCmd(use, short string, extra func(*pflag.FlagSet), do func(context.Context, robot.Options) error) *cobra.Command {
	var f robotFlags
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o, err := f.options(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return failed(do(ctx, o))
		},
	}
	f.register(c.Flags())
	if extra != nil {
		extra(c.Flags())
	}
	withEnvHelp(c.Flags())
	return c
}

func newRobotInstallCmd() *cobra.Command {
	var dist, config string
	return robotCmd("install --host ADDR [--identity KEY] [--config FILE] [--dist DIR]",
		"Install otcompat on the robot (rolled back if any step fails)",
		func(fs *pflag.FlagSet) {
			fs.StringVar(&dist, "dist", "", "directory of scripts/dist's binaries, for a robot of another architecture than this otcompat")
			fs.StringVar(&config, "config", "", "otcompat configuration file to install with it")
		},
		func(ctx context.Context, o robot.Options) error {
			// A file serve would refuse is refused here, before the robot is touched.
			if config != "" {
				if _, err := loadConfigFile(config); err != nil {
					return runError{err: fmt.Errorf("--config: %v", err), code: 2}
				}
			}
			self, err := os.Executable()
			if err != nil {
				self = ""
			}
			return robot.Install(ctx, robot.InstallOptions{Options: o, Self: self, Dist: dist, Config: config})
		})
}

func newRobotStatusCmd() *cobra.Command {
	return robotCmd("status --host ADDR",
		"Report otcompat's version on the robot, whether nginx routes through it, and its /readyz",
		nil, robot.Status)
}

func newRobotUninstallCmd() *cobra.Command {
	return robotCmd("uninstall --host ADDR",
		"Remove otcompat from the robot: nginx and the robot's files back to their stock state",
		nil, robot.Uninstall)
}
