// Command otcompat is a versioned API compatibility proxy for Opentrons
// robot-server: every client gets the response shapes of the API version it
// asks for in its Opentrons-Version header.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the exit status: 0 on success,
// 2 for a bad command line or configuration, 1 when the work itself failed.
func run(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	_ = logOutput.Flush()
	if err != nil {
		fmt.Fprintln(os.Stderr, "otcompat: "+err.Error())
	}
	return exitStatus(err)
}

// exitStatus maps a command's error to its exit status.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var re runError
	if errors.As(err, &re) {
		return re.status()
	}
	return 2
}

// runError is a failure of the work itself (not of the command line).
type runError struct {
	err  error
	code int
}

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }
func (e runError) status() int {
	if e.code == 0 {
		return 1
	}
	return e.code
}

// failed marks err as a failure of the work, exit status 1, unless it
// already carries its status.
func failed(err error) error {
	var re runError
	if err == nil || errors.As(err, &re) {
		return err
	}
	return runError{err: err}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "otcompat",
		Short: "Versioned API compatibility proxy for Opentrons robot-server",
		Long: `otcompat sits in front of an Opentrons robot-server and gives every client the
response shapes of the HTTP API version it names in its Opentrons-Version header.
Old clients get run lists without BadRuns; new clients (and "*") get everything.

Every flag can also be set with OTCOMPAT_<FLAG> (upper case, dashes as
underscores); a flag on the command line beats its variable.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%s: %v (see '%s --help')", c.CommandPath(), err, c.CommandPath())
	})
	root.AddCommand(newServeCmd(), newDemoCmd(), newFixturesCmd())
	root.AddCommand(newCompareCmd(), newRecordCmd(), newReplayCmd())
	root.AddCommand(newVersionCmd(), newHealthcheckCmd(), newConfigCmd(), newChangesCmd())
	root.AddCommand(newRobotCmd())
	// Environment variables fill every flag the command line left unset.
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return applyEnv(c) }
	return root
}
