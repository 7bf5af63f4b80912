package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"otcompat/transforms"
)

func newChangesCmd() *cobra.Command {
	var o proxyOptions
	var format string
	c := &cobra.Command{
		Use:   "changes [--config FILE] [--format markdown|json]",
		Short: "Print the changelog: each API version, newest first, with the changes it introduced",
		Long: `changes prints the chain serve would build from the same flags and file: the
built-in BadRun change and the file's changes, newest version first, each
with its description and routes. A client sending an older version gets
every change above its version undone. The admin listener serves the same
JSON at /changes.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if format != "markdown" && format != "json" {
				return fmt.Errorf("--format %q: want markdown or json", format)
			}
			if _, err := o.loadConfig(); err != nil {
				return err
			}
			chain, err := o.chain()
			if err != nil {
				return err
			}
			return failed(writeChangelog(c.OutOrStdout(), format, chain.Changelog()))
		},
	}
	o.registerChain(c.Flags())
	c.Flags().StringVar(&format, "format", "markdown", "markdown or json")
	withEnvHelp(c.Flags())
	return c
}

func writeChangelog(w io.Writer, format string, l transforms.Changelog) error {
	if format == "json" {
		return l.WriteJSON(w)
	}
	return l.WriteMarkdown(w)
}
